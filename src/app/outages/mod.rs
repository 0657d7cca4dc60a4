//! Outages and credits received from the platform provider: recorded by
//! managers and admins, read by staff, and by customers for their own
//! organisation. Availability and the monthly reports are computed from
//! them; every change writes an audit row. Upstream credits are in
//! `credits`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::reports::versions::mark_revised;
use super::services::{service_ids, subscribers};
use super::{App, AppError, Principal, Role, audit, invalid, naive, utc};
use crate::domain::availability::{Month, Outage, OutageKind};
use crate::domain::credits::split_evenly;
use crate::domain::service::Impact;
use crate::store::DbConnection;
use crate::store::schema::{
    organisation_services, organisations, outage_organisations, outage_services, outage_updates, outages, outbox,
    services, upstream_credit_shares, upstream_credits,
};

mod credits;
mod history;
mod linked;
mod maintenance;
mod notices;
mod read;
mod status;
mod updates;
pub use credits::*;
pub use history::*;
pub use linked::*;
pub use maintenance::*;
pub use notices::*;
pub use status::*;
pub use updates::*;

/// Which organisations something concerns: `"all"` or a list of slugs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Affected {
    /// `"all"`: every organisation (the platform itself).
    All(String),
    Some(Vec<String>),
}

/// What staff give to record an outage.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOutageRequest {
    /// planned_maintenance, emergency_maintenance or platform_issue.
    pub kind: String,
    pub start: DateTime<Utc>,
    /// Absent while the outage is still going on.
    pub end: Option<DateTime<Utc>>,
    /// When customers were told of it.
    pub notified_at: Option<DateTime<Utc>>,
    /// `"all"`, or the slugs of the organisations affected. Without it,
    /// the organisations subscribed to the services named.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub organisations: Option<Affected>,
    /// The services affected, each with its impact.
    #[serde(default)]
    pub services: Vec<ServiceImpact>,
    /// The staff's own account: never shown to customers.
    pub description: String,
    /// What customers are told; without it they see the kind alone.
    #[serde(default)]
    pub public_description: Option<String>,
}

/// A service an outage affects, and how hard.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceImpact {
    /// The service's slug.
    pub service: String,
    /// degraded, partial_outage or major_outage (the default).
    #[serde(default)]
    pub impact: Option<String>,
}

/// A service an outage affects, as shown.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct AffectedService {
    pub slug: String,
    pub name: String,
    /// degraded, partial_outage or major_outage.
    pub impact: String,
}

/// A change to an outage; absent fields stay as they are. `end` ends an
/// ongoing outage (or corrects its end).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutagePatch {
    pub kind: Option<String>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub notified_at: Option<DateTime<Utc>>,
    pub description: Option<String>,
    pub public_description: Option<String>,
}

/// An outage as the API and the status page show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OutageView {
    pub id: i64,
    pub kind: String,
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
    pub ongoing: bool,
    pub notified_at: Option<DateTime<Utc>>,
    /// `"all"`, or the slugs of the organisations affected. A customer is
    /// shown their own organisation only.
    #[schema(value_type = Object)]
    pub organisations: Affected,
    /// The services affected, with the impact on each. A customer is shown
    /// their own organisation's services only.
    pub services: Vec<AffectedService>,
    /// Where it stands, as its status page says: investigating,
    /// identified, monitoring, resolved; or scheduled, in_progress,
    /// completed.
    pub status: String,
    /// What customers were told, oldest first.
    pub updates: Vec<PublicUpdate>,
    /// Staff: their own account. A customer: what they are told.
    pub description: String,
    /// Staff only: what customers are told.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_description: Option<String>,
    /// What the person recording it should know, for example that planned
    /// maintenance announced with less notice than an organisation's
    /// policy asks counts against that organisation's availability.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Opened from a monitoring alert and not yet confirmed by staff: no
    /// customer sees it, availability does not count it, nobody is mailed.
    pub draft: bool,
    /// The end a resolved alert proposes, for staff to confirm.
    pub proposed_end: Option<DateTime<Utc>>,
}

impl OutageView {
    /// The outage as a customer of `own` sees it: no other organisation
    /// named, only the services `own` is subscribed to (`own_services`),
    /// and the customer-facing text in place of the staff's.
    pub fn for_customer(mut self, own: &str, own_services: &[String]) -> OutageView {
        self.organisations = Affected::Some(vec![own.to_string()]);
        self.services.retain(|s| own_services.contains(&s.slug));
        self.description = self.public_description.take().unwrap_or_else(|| {
            match self.kind.as_str() {
                "planned_maintenance" => "Planned maintenance",
                "emergency_maintenance" => "Emergency maintenance",
                _ => "Platform issue",
            }
            .to_string()
        });
        self
    }
}

/// Trimmed, not empty, at most `max` characters, no NUL.
fn text(field: &str, s: &str, max: usize) -> Result<String, AppError> {
    super::admin::valid_text(field, s, max)?;
    super::tickets::no_nul(field, s)?;
    Ok(s.trim().to_string())
}

/// The slugs of the services a customer's organisation is subscribed to.
fn own_service_slugs(c: &mut DbConnection, who: &Principal) -> Result<Vec<String>, AppError> {
    Ok(services::table
        .inner_join(organisation_services::table)
        .filter(
            organisation_services::organisation_id
                .nullable()
                .eq(who.organisation_id),
        )
        .select(services::slug)
        .load(c)?)
}

/// An outage's row; not found as a clear error.
fn outage_row(c: &mut DbConnection, id: i64) -> Result<OutageRow, AppError> {
    outages::table
        .find(id)
        .select(OutageRow::as_select())
        .first(c)
        .optional()?
        .ok_or_else(|| AppError::NotFound(format!("outage {id}")))
}

/// A customer-facing text, if given and not blank.
fn optional_text(field: &str, s: Option<&str>) -> Result<Option<String>, AppError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        Some(t) => text(field, t, 2000).map(Some),
        None => Ok(None),
    }
}

/// A customer's organisation's slug.
fn own_slug(c: &mut DbConnection, who: &Principal) -> Result<String, AppError> {
    let o = who
        .organisation_id
        .ok_or_else(|| AppError::Forbidden("a customer without an organisation".into()))?;
    Ok(organisations::table.find(o).select(organisations::slug).first(c)?)
}

/// The organisation ids named, or None for all.
fn resolve_affected(c: &mut DbConnection, field: &str, a: &Affected) -> Result<Option<Vec<i64>>, AppError> {
    match a {
        Affected::All(s) if s == "all" => Ok(None),
        Affected::All(s) => Err(invalid(
            field,
            format!("'{s}': expected \"all\" or a list of organisation slugs"),
        )),
        Affected::Some(slugs) => {
            if slugs.is_empty() {
                return Err(invalid(field, "names no organisation: give slugs, or \"all\""));
            }
            let mut ids = Vec::new();
            for s in slugs {
                let id: Option<i64> = organisations::table
                    .filter(organisations::slug.eq(s))
                    .select(organisations::id)
                    .first(c)
                    .optional()?;
                ids.push(id.ok_or_else(|| invalid(field, format!("unknown organisation '{s}'")))?);
            }
            ids.sort_unstable();
            ids.dedup();
            Ok(Some(ids))
        }
    }
}

/// An outage as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = outages)]
struct OutageRow {
    id: i64,
    kind: String,
    starts_at: chrono::NaiveDateTime,
    ends_at: Option<chrono::NaiveDateTime>,
    notified_at: Option<chrono::NaiveDateTime>,
    all_organisations: bool,
    description: String,
    public_description: Option<String>,
    draft: bool,
    proposed_end_at: Option<chrono::NaiveDateTime>,
}

fn check_period(start: DateTime<Utc>, end: Option<DateTime<Utc>>) -> Result<(), AppError> {
    if let Some(e) = end
        && e <= start
    {
        return Err(invalid("end", "must be after start"));
    }
    let earliest: DateTime<Utc> = "1990-01-01T00:00:00Z".parse().expect("valid");
    if start < earliest {
        return Err(invalid("start", "is before 1990"));
    }
    Ok(())
}

/// The organisations an outage names; `None`: every organisation.
fn outage_organisation_ids(c: &mut DbConnection, id: i64, all: bool) -> Result<Option<Vec<i64>>, AppError> {
    if all {
        return Ok(None);
    }
    Ok(Some(
        outage_organisations::table
            .filter(outage_organisations::outage_id.eq(id))
            .select(outage_organisations::organisation_id)
            .load(c)?,
    ))
}

impl App {
    /// Records an outage (managers and admins), audited; a kept report of a month
    /// it falls in is marked revised.
    pub fn create_outage(
        &self,
        who: &Principal,
        req: NewOutageRequest,
        now: DateTime<Utc>,
    ) -> Result<OutageView, AppError> {
        who.require_manager()?;
        let mut conn = self.conn()?;
        conn.write(|c| self.create_outage_in(c, who, &req, false, now))
    }

    /// Records an outage in the caller's transaction (staff's request, or a
    /// monitoring alert's, as a `draft` for staff to confirm).
    pub(crate) fn create_outage_in(
        &self,
        c: &mut DbConnection,
        who: &Principal,
        req: &NewOutageRequest,
        draft: bool,
        now: DateTime<Utc>,
    ) -> Result<OutageView, AppError> {
        let kind: OutageKind = req.kind.parse().map_err(|e: String| invalid("kind", e))?;
        check_period(req.start, req.end)?;
        let description = text("description", &req.description, 2000)?;
        let public_description = optional_text("public_description", req.public_description.as_deref())?;
        let impacts = req
            .services
            .iter()
            .map(|s| match s.impact.as_deref() {
                None => Ok(Impact::MajorOutage),
                Some(i) => i.parse::<Impact>().map_err(|e| invalid("services", e.to_string())),
            })
            .collect::<Result<Vec<_>, _>>()?;
        {
            let slugs: Vec<String> = req.services.iter().map(|s| s.service.clone()).collect();
            let service_ids = service_ids(c, "services", &slugs)?;
            let affected = match &req.organisations {
                Some(named) => resolve_affected(c, "organisations", named)?,
                None if service_ids.is_empty() => {
                    return Err(invalid(
                        "organisations",
                        "name the services affected, or the organisations (\"all\" or their slugs)",
                    ));
                }
                // The organisations whose contracts cover the services, as
                // they are now: later changes to subscriptions leave the
                // outage's organisations (and so availability) as recorded.
                None => Some(subscribers(c, &service_ids)?),
            };
            let id: i64 = diesel::insert_into(outages::table)
                .values((
                    outages::kind.eq(kind.name()),
                    outages::starts_at.eq(naive(req.start)),
                    outages::ends_at.eq(req.end.map(naive)),
                    outages::notified_at.eq(req.notified_at.map(naive)),
                    outages::all_organisations.eq(affected.is_none()),
                    outages::description.eq(&description),
                    outages::public_description.eq(&public_description),
                    outages::created_by.eq((who.user_id > 0).then_some(who.user_id)),
                    outages::created_at.eq(naive(now)),
                    outages::updated_at.eq(naive(now)),
                    outages::draft.eq(draft),
                ))
                .returning(outages::id)
                .get_result(c)?;
            for org in affected.iter().flatten() {
                diesel::insert_into(outage_organisations::table)
                    .values((
                        outage_organisations::outage_id.eq(id),
                        outage_organisations::organisation_id.eq(org),
                    ))
                    .execute(c)?;
            }
            let mut seen = Vec::new();
            for (service, impact) in service_ids.iter().zip(&impacts) {
                if seen.contains(service) {
                    return Err(invalid("services", "names a service twice"));
                }
                seen.push(*service);
                diesel::insert_into(outage_services::table)
                    .values((
                        outage_services::outage_id.eq(id),
                        outage_services::service_id.eq(service),
                        outage_services::impact.eq(impact.as_str()),
                    ))
                    .execute(c)?;
            }
            audit(c, who, "outage.create", &format!("outage:{id}"), Some(kind.name()), now)?;
            let what = format!("outage {id} recorded ({})", kind.name().replace('_', " "));
            mark_revised(c, affected.as_deref(), req.start, req.end.unwrap_or(now), &what, now)?;
            let mut view = self.outage_view(c, id, now)?;
            // Subscribers hear of it unless it is already over (a record
            // of the past): maintenance as scheduled, an incident as its
            // track begins.
            if req.end.is_none_or(|e| e > now) {
                let status: crate::domain::outage_status::OutageStatus =
                    view.status.parse().map_err(AppError::internal)?;
                let body = public_description
                    .clone()
                    .unwrap_or_else(|| status::kind_title(kind.name()).to_string());
                let notice = Notice {
                    outage: &view,
                    headline: status.title(),
                    body: &body,
                };
                self.queue_status_notice(c, &notice, now)?;
            }
            if kind == OutageKind::PlannedMaintenance {
                view.warnings = self.short_notice(c, affected.as_deref(), req.start, req.notified_at.unwrap_or(now))?;
            }
            let event = serde_json::to_value(&view).map_err(AppError::internal)?;
            crate::app::webhooks::enqueue_outage(c, &event, affected.as_deref(), now)?;
            Ok(view)
        }
    }

    /// Changes an outage (managers and admins): its end, kind or text; audited.
    pub fn patch_outage(
        &self,
        who: &Principal,
        id: i64,
        patch: OutagePatch,
        now: DateTime<Utc>,
    ) -> Result<OutageView, AppError> {
        who.require_manager()?;
        let kind = match &patch.kind {
            Some(k) => Some(k.parse::<OutageKind>().map_err(|e: String| invalid("kind", e))?),
            None => None,
        };
        let description = match &patch.description {
            Some(d) => Some(text("description", d, 2000)?),
            None => None,
        };
        let public_description = optional_text("public_description", patch.public_description.as_deref())?;
        let mut conn = self.conn()?;
        conn.write(|c| {
            let row = outage_row(c, id)?;
            let start = patch.start.unwrap_or(utc(row.starts_at));
            let end = patch.end.or(row.ends_at.map(utc));
            check_period(start, end)?;
            diesel::update(outages::table.find(id))
                .set((
                    outages::kind.eq(kind.map_or(row.kind.clone(), |k| k.name().to_string())),
                    outages::starts_at.eq(naive(start)),
                    outages::ends_at.eq(end.map(naive)),
                    outages::notified_at.eq(patch.notified_at.map(naive).or(row.notified_at)),
                    outages::description.eq(description.unwrap_or(row.description.clone())),
                    outages::public_description.eq(public_description.or(row.public_description.clone())),
                    outages::updated_at.eq(naive(now)),
                ))
                .execute(c)?;
            let detail = serde_json::json!({
                "before": {"kind": row.kind, "start": utc(row.starts_at), "end": row.ends_at.map(utc), "notified_at": row.notified_at.map(utc)},
            })
            .to_string();
            audit(c, who, "outage.update", &format!("outage:{id}"), Some(&detail), now)?;
            // The months it covered and the months it covers now.
            let orgs = outage_organisation_ids(c, id, row.all_organisations)?;
            let what = format!("outage {id} changed");
            mark_revised(c, orgs.as_deref(), utc(row.starts_at), row.ends_at.map_or(now, utc), &what, now)?;
            mark_revised(c, orgs.as_deref(), start, end.unwrap_or(now), &what, now)?;
            let view = self.outage_view(c, id, now)?;
            let event = serde_json::to_value(&view).map_err(AppError::internal)?;
            crate::app::webhooks::enqueue_outage(c, &event, orgs.as_deref(), now)?;
            Ok(view)
        })
    }

    /// Deletes an outage recorded in error (audited with what it was); the
    /// months it covered are marked for revision where kept.
    pub fn delete_outage(&self, who: &Principal, id: i64, now: DateTime<Utc>) -> Result<(), AppError> {
        who.require_manager()?;
        let mut conn = self.conn()?;
        conn.write(|c| self.delete_outage_in(c, who, id, now))
    }

    /// `delete_outage` in the caller's transaction (a change rescheduled or
    /// cancelled takes its maintenance with it).
    pub(crate) fn delete_outage_in(
        &self,
        c: &mut DbConnection,
        who: &Principal,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        {
            let row = outage_row(c, id)?;
            let orgs = outage_organisation_ids(c, id, row.all_organisations)?;
            diesel::delete(outage_organisations::table.filter(outage_organisations::outage_id.eq(id))).execute(c)?;
            diesel::delete(outage_services::table.filter(outage_services::outage_id.eq(id))).execute(c)?;
            diesel::delete(outage_updates::table.filter(outage_updates::outage_id.eq(id))).execute(c)?;
            diesel::delete(outages::table.find(id)).execute(c)?;
            let detail = serde_json::json!({
                "kind": row.kind, "start": utc(row.starts_at), "end": row.ends_at.map(utc),
                "notified_at": row.notified_at.map(utc), "organisations": orgs, "description": row.description,
            })
            .to_string();
            audit(c, who, "outage.delete", &format!("outage:{id}"), Some(&detail), now)?;
            let what = format!("outage {id} deleted");
            mark_revised(
                c,
                orgs.as_deref(),
                utc(row.starts_at),
                row.ends_at.map_or(now, utc),
                &what,
                now,
            )?;
            Ok(())
        }
    }

    pub(super) fn outage_view(
        &self,
        c: &mut DbConnection,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<OutageView, AppError> {
        let row = outage_row(c, id)?;
        let organisations = if row.all_organisations {
            Affected::All("all".into())
        } else {
            Affected::Some(
                outage_organisations::table
                    .inner_join(organisations::table)
                    .filter(outage_organisations::outage_id.eq(id))
                    .order(organisations::slug)
                    .select(organisations::slug)
                    .load(c)?,
            )
        };
        let services = outage_services::table
            .inner_join(services::table)
            .filter(outage_services::outage_id.eq(id))
            .order((services::position, services::id))
            .select((services::slug, services::name, outage_services::impact))
            .load::<(String, String, String)>(c)?
            .into_iter()
            .map(|(slug, name, impact)| AffectedService { slug, name, impact })
            .collect();
        let updates = public_updates(c, id)?;
        let kind: OutageKind = row.kind.parse().map_err(AppError::internal)?;
        let ongoing = row.ends_at.is_none_or(|e| utc(e) > now);
        let status = current_status(kind, &updates, ongoing);
        Ok(OutageView {
            id: row.id,
            kind: row.kind,
            services,
            status: status.as_str().to_string(),
            updates: updates.into_iter().map(PublicUpdate::from).collect(),
            start: utc(row.starts_at),
            end: row.ends_at.map(utc),
            ongoing,
            notified_at: row.notified_at.map(utc),
            organisations,
            description: row.description,
            public_description: row.public_description,
            warnings: Vec::new(),
            draft: row.draft,
            proposed_end: row.proposed_end_at.map(utc),
        })
    }

    /// The outages that bear on one organisation in `month`, for the core.
    pub(crate) fn outages_for(
        &self,
        c: &mut DbConnection,
        organisation_id: i64,
        month: Month,
    ) -> Result<Vec<Outage>, AppError> {
        let named = outage_organisations::table
            .filter(outage_organisations::organisation_id.eq(organisation_id))
            .select(outage_organisations::outage_id);
        let rows: Vec<OutageRow> = outages::table
            .filter(outages::starts_at.lt(naive(month.end())))
            .filter(outages::ends_at.is_null().or(outages::ends_at.gt(naive(month.start()))))
            .filter(outages::all_organisations.eq(true).or(outages::id.eq_any(named)))
            .filter(outages::draft.eq(false))
            .order(outages::id)
            .select(OutageRow::as_select())
            .load(c)?;
        rows.into_iter().map(core_outage).collect()
    }
}

/// An outage row as the core counts it.
fn core_outage(r: OutageRow) -> Result<Outage, AppError> {
    Ok(Outage {
        id: r.id,
        kind: r
            .kind
            .parse()
            .map_err(|e: String| AppError::internal(format!("outage {}: {e}", r.id)))?,
        start: utc(r.starts_at),
        end: r.ends_at.map(utc),
        notified_at: r.notified_at.map(utc),
    })
}
