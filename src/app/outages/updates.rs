//! An outage's public updates: what customers are told as it goes on, each
//! moving its status along its track (`domain::outage_status`). Staff post
//! them; everyone who may see the outage reads them. An update that ends
//! the outage (resolved, completed) ends its period too, if it has no end.

use super::*;
use crate::domain::outage_status::{OutageStatus, Timeline, Update};

/// A public update as shown.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct PublicUpdate {
    pub at: DateTime<Utc>,
    /// The status it left the outage in.
    pub status: String,
    /// What customers were told.
    pub body: String,
}

impl From<Update> for PublicUpdate {
    fn from(u: Update) -> Self {
        PublicUpdate {
            at: u.at,
            status: u.status.as_str().to_string(),
            body: u.body,
        }
    }
}

/// What staff post.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostUpdateRequest {
    /// The status after it; the current one if absent.
    #[serde(default)]
    pub status: Option<String>,
    /// What customers are told.
    pub body: String,
    /// When; now if absent.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

/// An outage's updates as stored, oldest first.
pub(super) fn public_updates(c: &mut DbConnection, outage: i64) -> Result<Vec<Update>, AppError> {
    let rows: Vec<(chrono::NaiveDateTime, String, String)> = outage_updates::table
        .filter(outage_updates::outage_id.eq(outage))
        .order((outage_updates::at, outage_updates::id))
        .select((outage_updates::at, outage_updates::status, outage_updates::body))
        .load(c)?;
    rows.into_iter()
        .map(|(at, status, body)| {
            Ok(Update {
                at: utc(at),
                status: status.parse().map_err(AppError::internal)?,
                body,
            })
        })
        .collect()
}

/// Where an outage stands: its latest update's status; without one, the
/// start of its track while it goes on and the end of it once over (for
/// outages recorded before updates were kept).
pub(super) fn current_status(kind: OutageKind, updates: &[Update], ongoing: bool) -> OutageStatus {
    let track = crate::domain::outage_status::Track::of(kind).statuses();
    match updates.last() {
        Some(u) => u.status,
        None if ongoing => track[0],
        None => track[track.len() - 1],
    }
}

impl App {
    /// Posts a public update on an outage (staff), audited. The status
    /// moves as its track allows; a final status ends an outage that has
    /// no end yet, at the update's instant.
    pub fn post_outage_update(
        &self,
        who: &Principal,
        id: i64,
        req: PostUpdateRequest,
        now: DateTime<Utc>,
    ) -> Result<OutageView, AppError> {
        who.staff_only()?;
        let body = text("body", &req.body, 5000)?;
        let at = req.at.unwrap_or(now);
        if at > now + chrono::Duration::minutes(5) {
            return Err(invalid("at", "an update cannot be dated in the future"));
        }
        let status = match req.status.as_deref() {
            Some(s) => Some(
                s.parse::<OutageStatus>()
                    .map_err(|e| invalid("status", e.to_string()))?,
            ),
            None => None,
        };
        let mut conn = self.conn()?;
        conn.write(|c| self.post_update_in(c, who, id, status, &body, at, now))
    }

    /// The instant of an outage's latest public update, if any.
    pub(crate) fn outage_updates_end(&self, c: &mut DbConnection, id: i64) -> Result<Option<DateTime<Utc>>, AppError> {
        Ok(public_updates(c, id)?.last().map(|u| u.at))
    }

    /// Posts a public update in the caller's transaction (staff's, or the
    /// scheduler's maintenance notices): the status moves as its track
    /// allows (`None`: it stays), a final one ends the outage, and every
    /// subscriber it concerns is mailed.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn post_update_in(
        &self,
        c: &mut DbConnection,
        who: &Principal,
        id: i64,
        status: Option<OutageStatus>,
        body: &str,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<OutageView, AppError> {
        let body = body.to_string();
        let row = outage_row(c, id)?;
        if row.draft {
            return Err(AppError::Conflict(format!(
                "outage {id} is a draft from a monitoring alert: confirm it before telling customers"
            )));
        }
        let kind: OutageKind = row.kind.parse().map_err(AppError::internal)?;
        let stored = public_updates(c, id)?;
        let timeline = Timeline::replay(kind, &stored).map_err(AppError::internal)?;
        let status = status.unwrap_or_else(|| timeline.status());
        let timeline = timeline
            .post(Update {
                at,
                status,
                body: body.clone(),
            })
            .map_err(|e| match e {
                crate::domain::outage_status::UpdateError::BeforePrevious { .. } => invalid("at", e.to_string()),
                crate::domain::outage_status::UpdateError::Empty => invalid("body", e.to_string()),
                _ => invalid("status", e.to_string()),
            })?;
        diesel::insert_into(outage_updates::table)
            .values((
                outage_updates::outage_id.eq(id),
                outage_updates::at.eq(naive(at)),
                outage_updates::status.eq(status.as_str()),
                outage_updates::body.eq(&body),
                outage_updates::posted_by.eq((who.user_id > 0).then_some(who.user_id)),
                outage_updates::created_at.eq(naive(now)),
            ))
            .execute(c)?;
        if timeline.is_over() && row.ends_at.is_none() {
            let end = at.max(utc(row.starts_at));
            diesel::update(outages::table.find(id))
                .set((
                    outages::ends_at.eq(Some(naive(end))),
                    outages::updated_at.eq(naive(now)),
                ))
                .execute(c)?;
            let orgs = outage_organisation_ids(c, id, row.all_organisations)?;
            mark_revised(
                c,
                orgs.as_deref(),
                utc(row.starts_at),
                end,
                &format!("outage {id} ended"),
                now,
            )?;
        }
        audit(
            c,
            who,
            "outage.post_update",
            &format!("outage:{id}"),
            Some(status.as_str()),
            now,
        )?;
        let view = self.outage_view(c, id, now)?;
        let notice = Notice {
            outage: &view,
            headline: status.title(),
            body: &body,
        };
        self.queue_status_notice(c, &notice, now)?;
        self.reply_on_linked(c, who, &view, status.title(), &body, now)?;
        let orgs = outage_organisation_ids(c, id, row.all_organisations)?;
        let event = serde_json::to_value(&view).map_err(AppError::internal)?;
        crate::app::webhooks::enqueue_outage(c, &event, orgs.as_deref(), now)?;
        Ok(view)
    }

    /// Confirms a draft outage (staff): from now customers see it,
    /// availability counts it, and subscribers are told.
    pub fn confirm_outage(&self, who: &Principal, id: i64, now: DateTime<Utc>) -> Result<OutageView, AppError> {
        who.staff_only()?;
        let mut conn = self.conn()?;
        conn.write(|c| {
            let row = outage_row(c, id)?;
            if !row.draft {
                return Err(AppError::Conflict(format!("outage {id} is not a draft")));
            }
            diesel::update(outages::table.find(id))
                .set((outages::draft.eq(false), outages::updated_at.eq(naive(now))))
                .execute(c)?;
            audit(c, who, "outage.confirm", &format!("outage:{id}"), None, now)?;
            let orgs = outage_organisation_ids(c, id, row.all_organisations)?;
            let end = row.ends_at.map_or(now, utc);
            mark_revised(
                c,
                orgs.as_deref(),
                utc(row.starts_at),
                end,
                &format!("outage {id} confirmed"),
                now,
            )?;
            let view = self.outage_view(c, id, now)?;
            let status: crate::domain::outage_status::OutageStatus = view.status.parse().map_err(AppError::internal)?;
            let body = view
                .public_description
                .clone()
                .unwrap_or_else(|| super::status::kind_title(&view.kind).to_string());
            self.queue_status_notice(
                c,
                &Notice {
                    outage: &view,
                    headline: status.title(),
                    body: &body,
                },
                now,
            )?;
            Ok(view)
        })
    }
}
