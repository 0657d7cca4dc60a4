//! The status page's "now": every service's state, the incidents under way
//! and the maintenance to come or in progress, with their public updates.
//! Read by anyone when the page is public (services and outages as the
//! public may see them: no organisation named, no staff text), and by a
//! signed-in customer for their own organisation's services and outages.
//! Computed from the same outage rows as availability and credits.

use super::*;
use crate::domain::outage_status::Track;
use crate::domain::status::{ComponentStatus, Indicator, OnService, component_status, indicator};

/// A service and its state now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ComponentNow {
    pub slug: String,
    pub name: String,
    pub group: String,
    pub description: String,
    /// operational, under_maintenance, degraded_performance,
    /// partial_outage or major_outage.
    #[schema(value_type = String)]
    pub status: ComponentStatus,
    /// Its place on the page, first first.
    pub position: i32,
}

/// An incident or maintenance as the status page shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StatusEvent {
    pub id: i64,
    /// What it is called: its kind and the services it touches.
    pub name: String,
    /// planned_maintenance, emergency_maintenance or platform_issue.
    pub kind: String,
    /// Its status on its track.
    pub status: String,
    /// none, minor, major or critical for an incident; maintenance for
    /// maintenance.
    pub impact: String,
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
    /// What customers are told, oldest first.
    pub updates: Vec<PublicUpdate>,
    /// The services it touches, as the viewer may see them.
    pub services: Vec<AffectedService>,
    /// What customers are told of it (the kind alone if nothing more).
    pub description: String,
}

/// The status page now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StatusNow {
    /// none, minor, major, critical or maintenance.
    pub indicator: String,
    /// "All systems operational", …
    pub description: String,
    pub components: Vec<ComponentNow>,
    /// Incidents not yet resolved.
    pub incidents: Vec<StatusEvent>,
    /// Maintenance not yet completed: in progress, or to come.
    pub maintenances: Vec<StatusEvent>,
    pub as_of: DateTime<Utc>,
}

pub(super) fn kind_title(kind: &str) -> &'static str {
    match kind {
        "planned_maintenance" => "Planned maintenance",
        "emergency_maintenance" => "Emergency maintenance",
        _ => "Platform issue",
    }
}

/// An outage as the status page shows it, with the services the viewer
/// may see (`services`).
fn event_of(v: &OutageView, track: Track, services: Vec<AffectedService>) -> StatusEvent {
    let worst = v.services.iter().filter_map(|s| s.impact.parse::<Impact>().ok()).max();
    // The Statuspage words: an incident's impact is the indicator its
    // worst service state would give the page.
    let impact = match track {
        Track::Maintenance => Indicator::Maintenance,
        Track::Incident => indicator(&worst.map(ComponentStatus::from).into_iter().collect::<Vec<_>>()),
    }
    .as_str();
    let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
    let name = if names.is_empty() {
        kind_title(&v.kind).to_string()
    } else {
        format!("{}: {}", kind_title(&v.kind), names.join(", "))
    };
    StatusEvent {
        id: v.id,
        name,
        kind: v.kind.clone(),
        status: v.status.clone(),
        impact: impact.to_string(),
        start: v.start,
        end: v.end,
        updates: v.updates.clone(),
        services,
        description: v
            .public_description
            .clone()
            .unwrap_or_else(|| kind_title(&v.kind).to_string()),
    }
}

/// Whether the public may see an outage: one of the platform (every
/// organisation) or of its services, never one recorded for named
/// customers alone (that is theirs to read, signed in).
fn public(v: &OutageView) -> bool {
    !v.services.is_empty() || matches!(v.organisations, Affected::All(_))
}

/// The ids of the outages a status reader may see: published (no
/// drafts), and for a customer those of every organisation or naming theirs.
fn published_ids<'a>(
    customer: Option<&Principal>,
) -> outages::BoxedQuery<'a, crate::store::MultiBackend, diesel::sql_types::BigInt> {
    let q = outages::table
        .filter(outages::draft.eq(false))
        .select(outages::id)
        .into_boxed();
    match customer {
        Some(p) => {
            let named = outage_organisations::table
                .filter(outage_organisations::organisation_id.nullable().eq(p.organisation_id))
                .select(outage_organisations::outage_id);
            q.filter(outages::all_organisations.eq(true).or(outages::id.eq_any(named)))
        }
        None => q,
    }
}

impl App {
    /// Whether `viewer` may read the status page (the public only while it
    /// is public), and the customer among them, whose own organisation's
    /// services and outages are all they are shown.
    pub(super) fn status_reader<'a>(&self, viewer: Option<&'a Principal>) -> Result<Option<&'a Principal>, AppError> {
        if viewer.is_none() && !self.status_page_public() {
            return Err(AppError::Unauthenticated(
                "the service status is for people signed in here".into(),
            ));
        }
        Ok(viewer.filter(|p| p.role == Role::Customer))
    }

    /// The services a status reader is shown, in page order: every one; a
    /// customer their own organisation's.
    pub(super) fn shown_services(
        &self,
        c: &mut DbConnection,
        customer: Option<&Principal>,
    ) -> Result<Vec<crate::store::models::ServiceRow>, AppError> {
        Ok(match customer {
            Some(p) => services::table
                .inner_join(organisation_services::table)
                .filter(organisation_services::organisation_id.nullable().eq(p.organisation_id))
                .order((services::position, services::id))
                .select(crate::store::models::ServiceRow::as_select())
                .load(c)?,
            None => services::table
                .order((services::position, services::id))
                .select(crate::store::models::ServiceRow::as_select())
                .load(c)?,
        })
    }

    /// The status page now, for `viewer` (`None`: the public).
    pub fn status_now(&self, viewer: Option<&Principal>, now: DateTime<Utc>) -> Result<StatusNow, AppError> {
        let customer = self.status_reader(viewer)?;
        let mut conn = self.conn()?;
        let c = &mut *conn;
        let shown = self.shown_services(c, customer)?;
        let shown_slugs: Vec<String> = shown.iter().map(|s| s.slug.clone()).collect();
        // Outages that have not ended, or end later: few at any time.
        let ids: Vec<i64> = published_ids(customer)
            .filter(outages::ends_at.is_null().or(outages::ends_at.gt(naive(now))))
            .order((outages::starts_at, outages::id))
            .load(c)?;
        let mut on_service: Vec<(String, OnService)> = Vec::new();
        let (mut incidents, mut maintenances) = (Vec::new(), Vec::new());
        for id in ids {
            let v = self.outage_view(c, id, now)?;
            let kind: OutageKind = v.kind.parse().map_err(AppError::internal)?;
            let status: crate::domain::outage_status::OutageStatus = v.status.parse().map_err(AppError::internal)?;
            if status.is_final() {
                continue;
            }
            if viewer.is_none() && !public(&v) {
                continue;
            }
            let track = Track::of(kind);
            let mut services: Vec<AffectedService> = v.services.clone();
            services.retain(|s| customer.is_none() || shown_slugs.contains(&s.slug));
            for s in &v.services {
                let impact: Impact = s.impact.parse().map_err(AppError::internal)?;
                on_service.push((
                    s.slug.clone(),
                    OnService {
                        track,
                        status,
                        start: v.start,
                        end: v.end,
                        impact,
                    },
                ));
            }
            let event = event_of(&v, track, services);
            match track {
                Track::Incident => incidents.push(event),
                Track::Maintenance => maintenances.push(event),
            }
        }
        let components: Vec<ComponentNow> = shown
            .into_iter()
            .map(|s| {
                let on: Vec<OnService> = on_service
                    .iter()
                    .filter(|(slug, _)| *slug == s.slug)
                    .map(|(_, o)| *o)
                    .collect();
                ComponentNow {
                    status: component_status(&on, now),
                    slug: s.slug,
                    name: s.name,
                    group: s.group_name,
                    description: s.description,
                    position: s.position,
                }
            })
            .collect();
        // An incident on no service shown still makes the page say so.
        let states: Vec<ComponentStatus> = components.iter().map(|c| c.status).collect();
        let mut overall = indicator(&states);
        if overall == Indicator::None && !incidents.is_empty() {
            overall = Indicator::Minor;
        }
        Ok(StatusNow {
            indicator: overall.as_str().to_string(),
            description: overall.description().to_string(),
            components,
            incidents,
            maintenances,
            as_of: now,
        })
    }

    /// The latest incidents (platform issues), newest first, whatever
    /// their status, at most `limit`, as `viewer` may see them (`None`: the
    /// public): for `/api/v2/incidents.json`.
    pub fn recent_incidents(
        &self,
        viewer: Option<&Principal>,
        limit: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<StatusEvent>, AppError> {
        self.recent_events(viewer, &[OutageKind::PlatformIssue], limit, now)
    }

    /// The latest outages of `kinds` by start, newest first, whatever their
    /// status, at most `limit`, as `viewer` may see them (`None`: the
    /// public): incidents, feeds and calendars.
    pub fn recent_events(
        &self,
        viewer: Option<&Principal>,
        kinds: &[OutageKind],
        limit: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<StatusEvent>, AppError> {
        let customer = self.status_reader(viewer)?;
        let mut conn = self.conn()?;
        let c = &mut *conn;
        let own: Vec<String> = match customer {
            Some(p) => own_service_slugs(c, p)?,
            None => Vec::new(),
        };
        let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
        // Outages recorded for named customers alone are skipped for the
        // public, so read a few more than asked for.
        let ids: Vec<i64> = published_ids(customer)
            .filter(outages::kind.eq_any(names))
            .order((outages::starts_at.desc(), outages::id.desc()))
            .limit(limit.saturating_mul(4))
            .load(c)?;
        let mut out = Vec::new();
        for id in ids {
            if out.len() as i64 >= limit {
                break;
            }
            let v = self.outage_view(c, id, now)?;
            if viewer.is_none() && !public(&v) {
                continue;
            }
            let kind: OutageKind = v.kind.parse().map_err(AppError::internal)?;
            let mut services = v.services.clone();
            services.retain(|s| customer.is_none() || own.contains(&s.slug));
            out.push(event_of(&v, Track::of(kind), services));
        }
        Ok(out)
    }
}
