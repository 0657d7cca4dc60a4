//! Services (components) the desk runs, grouped as the status page shows
//! them, and which organisations each is for: an organisation is
//! subscribed to the services its contract covers. Admins define services
//! and subscriptions; staff see every service; a customer sees only their
//! own organisation's. An outage naming services affects their subscribers
//! (`outages`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::admin::{valid_slug, valid_text};
use super::{App, AppError, Principal, Role, audit, invalid, naive};
use crate::store::DbConnection;
use crate::store::models::ServiceRow;
use crate::store::schema::{organisation_services, organisations, services};

/// A service as the API shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ServiceView {
    /// Its slug, as URLs, rules and the CLI name it.
    pub slug: String,
    /// Its name, as people read it ("Object storage – LON2").
    pub name: String,
    /// The group the status page shows it under ("Storage").
    pub group: String,
    /// What it is, for the status page.
    pub description: String,
}

/// What an admin gives to define a service.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewServiceRequest {
    /// 1–64 lower-case letters, digits or '-'.
    pub slug: String,
    pub name: String,
    /// The group it is shown under; "Services" unless given.
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// An organisation's subscriptions, replaced whole.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionsRequest {
    /// The slugs of every service its contract covers.
    pub services: Vec<String>,
}

fn view(r: ServiceRow) -> ServiceView {
    ServiceView {
        slug: r.slug,
        name: r.name,
        group: r.group_name,
        description: r.description,
    }
}

/// The ids of services by slug, in the order given; an unknown slug is a
/// refused `field`.
pub(super) fn service_ids(c: &mut DbConnection, field: &str, slugs: &[String]) -> Result<Vec<i64>, AppError> {
    let found: Vec<(String, i64)> = services::table
        .filter(services::slug.eq_any(slugs))
        .select((services::slug, services::id))
        .load(c)?;
    slugs
        .iter()
        .map(|s| {
            found
                .iter()
                .find(|(slug, _)| slug == s)
                .map(|(_, id)| *id)
                .ok_or_else(|| invalid(field, format!("unknown service '{s}'")))
        })
        .collect()
}

/// The organisations subscribed to any of `service_ids`, by id.
pub(super) fn subscribers(c: &mut DbConnection, service_ids: &[i64]) -> Result<Vec<i64>, AppError> {
    Ok(organisation_services::table
        .filter(organisation_services::service_id.eq_any(service_ids))
        .select(organisation_services::organisation_id)
        .distinct()
        .order(organisation_services::organisation_id)
        .load(c)?)
}

impl App {
    /// Defines a service (admins), audited. It is listed after the ones
    /// defined before it.
    pub fn create_service(
        &self,
        who: &Principal,
        req: NewServiceRequest,
        now: DateTime<Utc>,
    ) -> Result<ServiceView, AppError> {
        who.require_admin()?;
        valid_slug("slug", &req.slug)?;
        valid_text("name", &req.name, 200)?;
        let group = req.group.as_deref().unwrap_or("Services");
        valid_text("group", group, 200)?;
        let description = req.description.as_deref().unwrap_or("").trim();
        if description.chars().count() > 2000 {
            return Err(invalid("description", "is longer than 2,000 characters"));
        }
        let mut conn = self.conn()?;
        conn.write(|c| {
            let taken: i64 = services::table
                .filter(services::slug.eq(&req.slug))
                .count()
                .get_result(c)?;
            if taken > 0 {
                return Err(AppError::Conflict(format!("a service with slug '{}' exists", req.slug)));
            }
            let position: Option<i32> = services::table.select(diesel::dsl::max(services::position)).first(c)?;
            diesel::insert_into(services::table)
                .values((
                    services::slug.eq(&req.slug),
                    services::name.eq(req.name.trim()),
                    services::group_name.eq(group.trim()),
                    services::description.eq(description),
                    services::position.eq(position.unwrap_or(0) + 1),
                    services::created_at.eq(naive(now)),
                ))
                .execute(c)?;
            audit(c, who, "service.create", &format!("service:{}", req.slug), None, now)?;
            let row: ServiceRow = services::table
                .filter(services::slug.eq(&req.slug))
                .select(ServiceRow::as_select())
                .first(c)?;
            Ok(view(row))
        })
    }

    /// The services the caller may see, in the order they were defined:
    /// every one for staff; a customer's own organisation's only.
    pub fn list_services(&self, who: &Principal) -> Result<Vec<ServiceView>, AppError> {
        let mut conn = self.conn()?;
        let rows: Vec<ServiceRow> = if who.role == Role::Customer {
            let Some(org) = who.organisation_id else {
                return Ok(Vec::new());
            };
            services::table
                .inner_join(organisation_services::table)
                .filter(organisation_services::organisation_id.eq(org))
                .order((services::position, services::id))
                .select(ServiceRow::as_select())
                .load(&mut conn)?
        } else {
            services::table
                .order((services::position, services::id))
                .select(ServiceRow::as_select())
                .load(&mut conn)?
        };
        Ok(rows.into_iter().map(view).collect())
    }

    /// The services an organisation is subscribed to: staff for any, a
    /// customer for their own (another organisation does not exist to them).
    pub fn organisation_services(&self, who: &Principal, org: &str) -> Result<Vec<ServiceView>, AppError> {
        let mut conn = self.conn()?;
        let organisation = crate::store::find::organisation_by_slug(&mut conn, org)?
            .filter(|o| who.role != Role::Customer || who.organisation_id == Some(o.id))
            .ok_or_else(|| AppError::NotFound(format!("organisation {org}")))?;
        let rows: Vec<ServiceRow> = services::table
            .inner_join(organisation_services::table)
            .filter(organisation_services::organisation_id.eq(organisation.id))
            .order((services::position, services::id))
            .select(ServiceRow::as_select())
            .load(&mut conn)?;
        Ok(rows.into_iter().map(view).collect())
    }

    /// Replaces an organisation's subscriptions (admins), audited with what
    /// they were. Outages already recorded keep the organisations they named.
    pub fn set_organisation_services(
        &self,
        who: &Principal,
        org: &str,
        req: SubscriptionsRequest,
        now: DateTime<Utc>,
    ) -> Result<Vec<ServiceView>, AppError> {
        who.require_admin()?;
        let mut wanted = req.services.clone();
        wanted.sort();
        wanted.dedup();
        let mut conn = self.conn()?;
        conn.write(|c| {
            let organisation = crate::store::find::organisation_by_slug(c, org)?
                .ok_or_else(|| AppError::NotFound(format!("organisation {org}")))?;
            let ids = service_ids(c, "services", &wanted)?;
            let before: Vec<String> = services::table
                .inner_join(organisation_services::table)
                .filter(organisation_services::organisation_id.eq(organisation.id))
                .order(services::slug)
                .select(services::slug)
                .load(c)?;
            diesel::delete(
                organisation_services::table.filter(organisation_services::organisation_id.eq(organisation.id)),
            )
            .execute(c)?;
            for id in &ids {
                diesel::insert_into(organisation_services::table)
                    .values((
                        organisation_services::organisation_id.eq(organisation.id),
                        organisation_services::service_id.eq(id),
                    ))
                    .execute(c)?;
            }
            let detail = serde_json::json!({"before": before, "after": wanted}).to_string();
            audit(
                c,
                who,
                "organisation.services",
                &format!("organisation:{}", organisation.slug),
                Some(&detail),
                now,
            )?;
            Ok::<(), AppError>(())
        })?;
        self.organisation_services(who, org)
    }

    /// The slugs of the organisations subscribed to a service (staff).
    pub fn service_subscribers(&self, who: &Principal, service: &str) -> Result<Vec<String>, AppError> {
        who.staff_only()?;
        let mut conn = self.conn()?;
        let ids = service_ids(&mut conn, "service", &[service.to_string()])
            .map_err(|_| AppError::NotFound(format!("service {service}")))?;
        let orgs = subscribers(&mut conn, &ids)?;
        Ok(organisations::table
            .filter(organisations::id.eq_any(orgs))
            .order(organisations::slug)
            .select(organisations::slug)
            .load(&mut conn)?)
    }
}
