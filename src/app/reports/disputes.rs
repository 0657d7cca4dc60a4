//! Disputes of a closed month's report (`domain::dispute`): a customer
//! raises one against a breach or a credit line, with a reason and files; a
//! manager decides it. An upheld dispute adds its adjustment to the month's
//! credits as a line of its own and keeps the month's next report version
//! at once; either decision is mailed to whoever raised it, with the
//! explanation of the clock it concerns kept beside the decision, and every
//! step is audited.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::app::{App, AppError, Principal, Role, audit, invalid, naive, utc};
use crate::domain::availability::Month;
use crate::domain::dispute::{self, Decide, DisputeError, Status, Subject};
use crate::store::DbConnection;
use crate::store::models::NewOutbox;
use crate::store::schema::{dispute_files, disputes, organisations, users};

/// A file sent with a dispute.
#[derive(Debug, Clone)]
pub struct DisputeUpload {
    pub filename: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

/// The most files one dispute carries.
pub const MAX_FILES: usize = 5;

/// A dispute as its reader may see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DisputeView {
    pub id: i64,
    pub organisation: String,
    pub organisation_name: String,
    /// `YYYY-MM`.
    pub month: String,
    #[schema(value_type = Object)]
    pub subject: Subject,
    pub subject_words: String,
    pub reason: String,
    pub raised_by: String,
    pub raised_at: DateTime<Utc>,
    /// `open`, `upheld` or `rejected`.
    pub status: String,
    pub decided_at: Option<DateTime<Utc>>,
    pub reply: Option<String>,
    /// The change to the month's credits, in pence (upheld only).
    pub adjustment_pence: i64,
    /// The report version that carries it (upheld only).
    pub report_version: Option<i32>,
    /// The explanation of the disputed clock as the decision saw it (a
    /// breach), or the disputed credit line.
    #[schema(value_type = Object)]
    pub evidence: Option<serde_json::Value>,
    pub files: Vec<DisputeFile>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DisputeFile {
    pub id: i64,
    pub filename: String,
    pub size: i64,
}

/// A dispute as its month's report lists it.
#[derive(Debug, Clone, Serialize)]
pub struct DisputeLine {
    pub id: i64,
    pub subject: String,
    pub raised_at: DateTime<Utc>,
    pub status: String,
    pub reply: Option<String>,
    pub adjustment_pence: i64,
}

/// What a customer sends to raise a dispute.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDispute {
    /// `YYYY-MM`: a closed month.
    pub month: String,
    #[schema(value_type = Object)]
    pub subject: Subject,
    pub reason: String,
}

type Row = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    chrono::NaiveDateTime,
    String,
    Option<chrono::NaiveDateTime>,
    Option<String>,
    i64,
    Option<String>,
    Option<i32>,
);

fn from_dispute_error(e: DisputeError) -> AppError {
    match e {
        DisputeError::Decided(_) => AppError::Conflict(e.to_string()),
        DisputeError::Invalid(m) => {
            let (field, why) = m.split_once(": ").unwrap_or(("decision", m.as_str()));
            invalid(field, why.to_string())
        }
    }
}

impl App {
    /// Whether only an organisation's account contact may raise its
    /// disputes (`[reports] disputes = "account_contact"`); else any contact.
    pub fn disputes_by_account_contact(&self) -> bool {
        self.disputes_by_account_contact
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sets who may raise an organisation's disputes.
    pub fn set_disputes_by_account_contact(&self, only: bool) {
        self.disputes_by_account_contact
            .store(only, std::sync::atomic::Ordering::Relaxed);
    }

    /// Raises a dispute of a closed month's report, as a customer of the
    /// organisation (its account contact only, where the desk says so).
    pub fn raise_dispute(
        &self,
        who: &Principal,
        req: NewDispute,
        files: &[DisputeUpload],
        now: DateTime<Utc>,
    ) -> Result<DisputeView, AppError> {
        if who.role != Role::Customer {
            return Err(AppError::Forbidden(
                "disputes are raised by customers; managers decide them".into(),
            ));
        }
        let month: Month = req
            .month
            .parse()
            .map_err(|e: crate::domain::availability::MonthSyntax| invalid("month", e.to_string()))?;
        let reason = dispute::reason(&req.reason).map_err(from_dispute_error)?;
        if files.len() > MAX_FILES {
            return Err(invalid("files", format!("at most {MAX_FILES}")));
        }
        if let Some(f) = files.iter().find(|f| f.data.len() > self.attachment_limit()) {
            return Err(invalid(
                "files",
                format!("{} is larger than {} bytes", f.filename, self.attachment_limit()),
            ));
        }
        let mut conn = self.conn()?;
        let c = &mut *conn;
        let org: crate::store::models::Organisation = organisations::table
            .find(who.organisation_id.unwrap_or(-1))
            .select(crate::store::models::Organisation::as_select())
            .first(c)?;
        if self.disputes_by_account_contact()
            && !org
                .account_contact
                .as_deref()
                .is_some_and(|a| a.eq_ignore_ascii_case(&who.email))
        {
            return Err(AppError::Forbidden(format!(
                "{}'s disputes are raised by its account contact",
                org.name
            )));
        }
        let kept = super::versions::latest(c, month)?;
        let Some((_, _, data)) = kept.iter().find(|(scope, _, _)| *scope == org.slug) else {
            return Err(AppError::Conflict(format!(
                "{month} is not closed: its report is provisional; dispute it once it is kept"
            )));
        };
        let report: serde_json::Value =
            serde_json::from_str(data).map_err(|e| AppError::internal(format!("a kept report cannot be read: {e}")))?;
        match &req.subject {
            Subject::Breach { reference, .. } => {
                let reference = crate::domain::names::TicketRef::parse(reference)
                    .map(|r| r.as_str().to_string())
                    .map_err(|_| invalid("subject", format!("'{reference}' is not a ticket reference")))?;
                // Any ticket of theirs the month counts, breached or not:
                // they may say a clock the report counts as met breached.
                let theirs = report["tickets"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|l| l["reference"] == reference.as_str()));
                if !theirs {
                    return Err(invalid(
                        "subject",
                        format!("{reference} is not among your organisation's tickets of {month}"),
                    ));
                }
            }
            Subject::CreditLine { description } => {
                let listed = report["credits"]["lines"]
                    .as_array()
                    .is_some_and(|l| l.iter().any(|x| x["description"] == description.as_str()));
                if !listed {
                    return Err(invalid(
                        "subject",
                        format!("no credit line \"{description}\" in {month}"),
                    ));
                }
            }
        }
        let subject = serde_json::to_string(&req.subject).map_err(|e| AppError::internal(e.to_string()))?;
        let id = c.write(|c| -> Result<i64, AppError> {
            let id: i64 = diesel::insert_into(disputes::table)
                .values((
                    disputes::organisation_id.eq(org.id),
                    disputes::month.eq(month.to_string()),
                    disputes::subject.eq(&subject),
                    disputes::reason.eq(&reason),
                    disputes::raised_by.eq(who.user_id),
                    disputes::raised_at.eq(naive(now)),
                    disputes::status.eq("open"),
                ))
                .returning(disputes::id)
                .get_result(c)?;
            for f in files {
                diesel::insert_into(dispute_files::table)
                    .values((
                        dispute_files::dispute_id.eq(id),
                        dispute_files::filename.eq(&f.filename),
                        dispute_files::content_type.eq(&f.content_type),
                        dispute_files::size.eq(f.data.len() as i64),
                        dispute_files::data.eq(&f.data),
                    ))
                    .execute(c)?;
            }
            audit(
                c,
                who,
                "dispute.raise",
                &format!("dispute:{id}"),
                Some(&req.subject.words()),
                now,
            )?;
            Ok(id)
        })?;
        self.get_dispute(who, id)
    }

    /// Disputes, newest first: every organisation's for managers and admins
    /// (`open_only` for the dashboard), a customer's own organisation's; at
    /// most 500, read in two queries whatever their number.
    pub fn list_disputes(&self, who: &Principal, open_only: bool) -> Result<Vec<DisputeView>, AppError> {
        let reach = self.dispute_reach(who)?;
        let mut conn = self.conn()?;
        load_views(&mut conn, reach, None, open_only)
    }

    /// Whose disputes `who` may see: all (`None`), or one organisation's.
    fn dispute_reach(&self, who: &Principal) -> Result<Option<i64>, AppError> {
        match who.role {
            Role::Manager | Role::Admin => Ok(None),
            Role::Customer => Ok(Some(who.organisation_id.unwrap_or(-1))),
            Role::Agent => Err(AppError::Forbidden("disputes are decided by managers".into())),
        }
    }

    /// One dispute; another organisation's is not found.
    pub fn get_dispute(&self, who: &Principal, id: i64) -> Result<DisputeView, AppError> {
        let reach = self.dispute_reach(who)?;
        let mut conn = self.conn()?;
        load_views(&mut conn, reach, Some(id), false)?
            .pop()
            .ok_or_else(|| AppError::NotFound(format!("dispute {id}")))
    }

    /// A dispute's file, for whoever may see the dispute.
    pub fn dispute_file(&self, who: &Principal, id: i64, file: i64) -> Result<(String, String, Vec<u8>), AppError> {
        self.get_dispute(who, id)?;
        let mut conn = self.conn()?;
        dispute_files::table
            .filter(dispute_files::dispute_id.eq(id))
            .filter(dispute_files::id.eq(file))
            .select((
                dispute_files::filename,
                dispute_files::content_type,
                dispute_files::data,
            ))
            .first(&mut conn)
            .optional()?
            .ok_or_else(|| AppError::NotFound(format!("file {file} of dispute {id}")))
    }

    /// A manager decides an open dispute. Upheld: its adjustment joins the
    /// month's credits and the month's next report version is kept now.
    /// Either way the customer is told by mail, and the explanation of the
    /// disputed clock (or the disputed credit line) is kept with the decision.
    pub fn decide_dispute(
        &self,
        who: &Principal,
        id: i64,
        decision: Decide,
        now: DateTime<Utc>,
    ) -> Result<DisputeView, AppError> {
        who.require_manager()?;
        let d = self.get_dispute(who, id)?;
        let status = Status::from_name(&d.status)
            .ok_or_else(|| AppError::internal(format!("dispute {id}: status '{}'", d.status)))?;
        let decided = dispute::decide(status, &decision, &who.email, now).map_err(from_dispute_error)?;
        let month: Month = d
            .month
            .parse()
            .map_err(|e: crate::domain::availability::MonthSyntax| AppError::internal(e.to_string()))?;
        let mut conn = self.conn()?;
        let c = &mut *conn;
        // The organisation's latest kept report: what the decision weighs.
        let report: serde_json::Value = super::versions::latest(c, month)?
            .into_iter()
            .find(|(scope, _, _)| *scope == d.organisation)
            .and_then(|(_, _, data)| serde_json::from_str(&data).ok())
            .unwrap_or_default();
        let total = report["credits"]["total_pence"].as_i64().unwrap_or(0);
        if total + decided.adjustment_pence < 0 {
            return Err(invalid(
                "adjustment",
                format!("the month's credits are {total} pence: a reduction cannot take them below nothing"),
            ));
        }
        let evidence = match &d.subject {
            Subject::Breach { reference, clock } => self
                .clock_evidence(c, reference, month.end())?
                .into_iter()
                .find(|e| e.clock.kind == *clock)
                .map(|e| serde_json::to_value(e).unwrap_or_default()),
            Subject::CreditLine { description } => report["credits"]["lines"]
                .as_array()
                .and_then(|l| l.iter().find(|x| x["description"] == description.as_str()).cloned()),
        };
        let upheld = decided.status == Status::Upheld;
        let context = serde_json::json!({
            "dispute_id": id,
            "month_name": month.first_day().format("%B %Y").to_string(),
            "subject_words": d.subject_words,
            "outcome": decided.status.as_str(),
            "upheld": upheld,
            "adjustment": crate::domain::money::Pence(decided.adjustment_pence).to_string(),
            "reply": decided.reply,
            "reason": d.reason,
            "dispute_url": self.page_url(&format!("/disputes/{id}")),
            "desk_name": "The service desk",
        });
        let message_id = crate::app::outbox::new_message_id("dispute", "dispute_decided");
        let org_id: i64 = disputes::table.find(id).select(disputes::organisation_id).first(c)?;
        // The decision, its audit row, the mark that the month's report is
        // out of date (upheld) and the mail commit together: a decision is
        // never kept without its mail, nor a credit without the report
        // knowing it must change.
        c.write(|c| -> Result<(), AppError> {
            let changed = diesel::update(disputes::table.find(id).filter(disputes::status.eq("open")))
                .set((
                    disputes::status.eq(decided.status.as_str()),
                    disputes::decided_by.eq(who.user_id),
                    disputes::decided_at.eq(naive(now)),
                    disputes::reply.eq(&decided.reply),
                    disputes::adjustment_pence.eq(decided.adjustment_pence),
                    disputes::evidence.eq(evidence.as_ref().map(|e| e.to_string())),
                ))
                .execute(c)?;
            if changed == 0 {
                return Err(AppError::Conflict(format!("dispute {id} was decided meanwhile")));
            }
            audit(
                c,
                who,
                "dispute.decide",
                &format!("dispute:{id}"),
                Some(&format!(
                    "{} ({} pence): {}",
                    decided.status.as_str(),
                    decided.adjustment_pence,
                    decided.reply
                )),
                now,
            )?;
            if upheld {
                super::versions::mark_revised(
                    c,
                    Some(&[org_id]),
                    month.start(),
                    month.start(),
                    &format!("dispute {id} upheld: {}", d.subject_words),
                    now,
                )?;
            }
            crate::app::outbox::insert_outbox_rows(
                c,
                &[NewOutbox {
                    ticket_id: None,
                    kind: "dispute_decided",
                    to_address: &d.raised_by,
                    message_id: &message_id,
                    in_reply_to: None,
                    context: context.to_string(),
                    created_at: naive(now),
                    next_attempt_at: naive(now),
                }],
            )
        })?;
        drop(conn);
        if upheld {
            // At once, so the customer's next read shows it; should this
            // fail, the month stands revised pending for the daily job.
            let kept = self.recompute_month_as(
                &who.email,
                Some(who),
                month,
                &format!("dispute {id} upheld: {}", d.subject_words),
                now,
            )?;
            let version = kept.iter().find(|k| k.scope == d.organisation).map(|k| k.version);
            let mut conn = self.conn()?;
            conn.write(|c| -> Result<(), AppError> {
                diesel::update(disputes::table.find(id))
                    .set(disputes::report_version.eq(version))
                    .execute(c)?;
                Ok(())
            })?;
        }
        self.get_dispute(who, id)
    }

    /// An organisation's disputes of a month, oldest first, for its report.
    pub(super) fn disputes_of(
        &self,
        c: &mut DbConnection,
        organisation_id: i64,
        month: Month,
    ) -> Result<Vec<DisputeLine>, AppError> {
        let rows: Vec<(i64, String, chrono::NaiveDateTime, String, Option<String>, i64)> = disputes::table
            .filter(disputes::organisation_id.eq(organisation_id))
            .filter(disputes::month.eq(month.to_string()))
            .order(disputes::id)
            .select((
                disputes::id,
                disputes::subject,
                disputes::raised_at,
                disputes::status,
                disputes::reply,
                disputes::adjustment_pence,
            ))
            .load(c)?;
        Ok(rows
            .into_iter()
            .map(
                |(id, subject, raised_at, status, reply, adjustment_pence)| DisputeLine {
                    id,
                    subject: serde_json::from_str::<Subject>(&subject)
                        .map(|s| s.words())
                        .unwrap_or(subject),
                    raised_at: utc(raised_at),
                    status,
                    reply,
                    adjustment_pence,
                },
            )
            .collect())
    }

    /// The upheld disputes of an organisation's month, as credit adjustments.
    pub(super) fn upheld_disputes(
        &self,
        c: &mut DbConnection,
        organisation_id: i64,
        month: Month,
    ) -> Result<Vec<crate::domain::credits::DisputeAdjustment>, AppError> {
        let rows: Vec<(i64, String, i64)> = disputes::table
            .filter(disputes::organisation_id.eq(organisation_id))
            .filter(disputes::month.eq(month.to_string()))
            .filter(disputes::status.eq("upheld"))
            .order(disputes::id)
            .select((disputes::id, disputes::subject, disputes::adjustment_pence))
            .load(c)?;
        Ok(rows
            .into_iter()
            .map(|(id, subject, amount)| crate::domain::credits::DisputeAdjustment {
                id,
                subject: serde_json::from_str::<Subject>(&subject)
                    .map(|s| s.words())
                    .unwrap_or(subject),
                amount_pence: amount,
            })
            .collect())
    }
}

/// Disputes as their readers see them: one organisation's (`reach`) or all,
/// one (`id`) or the newest 500, open ones only or every one; the rows in
/// one query, their files in another.
fn load_views(
    c: &mut DbConnection,
    reach: Option<i64>,
    id: Option<i64>,
    open_only: bool,
) -> Result<Vec<DisputeView>, AppError> {
    let mut q = disputes::table
        .inner_join(organisations::table)
        .inner_join(users::table.on(disputes::raised_by.eq(users::id)))
        .into_boxed();
    if let Some(org) = reach {
        q = q.filter(disputes::organisation_id.eq(org));
    }
    if let Some(id) = id {
        q = q.filter(disputes::id.eq(id));
    }
    if open_only {
        q = q.filter(disputes::status.eq("open"));
    }
    let rows: Vec<Row> = q
        .order(disputes::id.desc())
        .limit(500)
        .select((
            disputes::id,
            organisations::slug,
            organisations::name,
            disputes::month,
            disputes::subject,
            disputes::reason,
            users::email,
            disputes::raised_at,
            disputes::status,
            disputes::decided_at,
            disputes::reply,
            disputes::adjustment_pence,
            disputes::evidence,
            disputes::report_version,
        ))
        .load(c)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let mut files: std::collections::HashMap<i64, Vec<DisputeFile>> = std::collections::HashMap::new();
    for (dispute, id, filename, size) in dispute_files::table
        .filter(dispute_files::dispute_id.eq_any(&ids))
        .order(dispute_files::id)
        .select((
            dispute_files::dispute_id,
            dispute_files::id,
            dispute_files::filename,
            dispute_files::size,
        ))
        .load::<(i64, i64, String, i64)>(c)?
    {
        files
            .entry(dispute)
            .or_default()
            .push(DisputeFile { id, filename, size });
    }
    rows.into_iter()
        .map(|row| {
            let subject: Subject =
                serde_json::from_str(&row.4).map_err(|e| AppError::internal(format!("dispute {}: {e}", row.0)))?;
            Ok(DisputeView {
                id: row.0,
                organisation: row.1,
                organisation_name: row.2,
                month: row.3,
                subject_words: subject.words(),
                subject,
                reason: row.5,
                raised_by: row.6,
                raised_at: utc(row.7),
                status: row.8,
                decided_at: row.9.map(utc),
                reply: row.10,
                adjustment_pence: row.11,
                evidence: row.12.and_then(|e| serde_json::from_str(&e).ok()),
                report_version: row.13,
                files: files.remove(&row.0).unwrap_or_default(),
            })
        })
        .collect()
}
