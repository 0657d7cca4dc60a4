//! End of contract: everything of one organisation written out, as the
//! service listing's offboarding promises ("all associated data is
//! extracted and provided"). Files go to a sink the caller provides (the
//! CLI writes a folder), one ticket at a time, so an organisation of any
//! size is exported in bounded memory. A manifest lists every file with its
//! size and SHA-256, and an audit row records the export.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use sha2::Digest;

use super::{App, AppError, Principal, audit};
use crate::store::schema::{report_versions, tickets};

/// Where the export's files go: (path inside the export, bytes).
pub type Sink<'a> = dyn FnMut(&str, &[u8]) -> Result<(), String> + 'a;

/// One file of the export, as the manifest lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ExportedFile {
    pub path: String,
    pub bytes: usize,
    pub sha256: String,
}

/// What an export wrote: how many rows of each kind.
#[derive(Debug, Clone, Serialize)]
pub struct ExportSummary {
    pub organisation: String,
    pub exported_at: DateTime<Utc>,
    pub tickets: usize,
    pub attachments: usize,
    pub messages: usize,
    pub reports: usize,
    pub files: Vec<ExportedFile>,
}

/// Paths inside the export: no separators or dots from data.
fn safe(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_start_matches('.').to_string();
    if s.is_empty() { "file".into() } else { s }
}

impl App {
    /// Writes every ticket (its view, events, attachments and original
    /// messages), the organisation and its people, its outages and kept
    /// monthly reports through `sink(path, bytes)`, then `manifest.json`.
    pub fn export_organisation(
        &self,
        who: &Principal,
        slug: &str,
        now: DateTime<Utc>,
        sink: &mut Sink,
    ) -> Result<ExportSummary, AppError> {
        who.require_admin()?;
        let mut files = Vec::new();
        let mut put = |path: String, bytes: Vec<u8>| -> Result<(), AppError> {
            sink(&path, &bytes).map_err(|e| AppError::internal(format!("{path}: {e}")))?;
            files.push(ExportedFile {
                path,
                bytes: bytes.len(),
                sha256: sha2::Sha256::digest(&bytes)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect(),
            });
            Ok(())
        };
        // An export may lag the primary a little: the replica, if one is set.
        let mut conn = self.read_conn()?;
        let org = self.organisation_by_slug(&mut conn, slug)?;
        let org_view: super::admin::OrganisationView = org.clone().into();
        put("organisation.json".into(), json(&org_view))?;
        let people: Vec<super::admin::UserView> = self
            .list_users(who)?
            .into_iter()
            .filter(|u| u.organisation.as_deref() == Some(slug))
            .collect();
        put("contacts.json".into(), json(&people))?;
        // The export goes to the customer: outages as they see them, not
        // the staff's account or the other organisations affected.
        let own_services: Vec<String> = self
            .organisation_services(who, slug)?
            .into_iter()
            .map(|s| s.slug)
            .collect();
        let outages: Vec<_> = self
            .list_outages(who, None, Some(slug), now)?
            .into_iter()
            .map(|o| o.for_customer(slug, &own_services))
            .collect();
        put("outages.json".into(), json(&outages))?;

        let references: Vec<String> = tickets::table
            .filter(tickets::organisation_id.eq(org.id))
            .order(tickets::id)
            .select(tickets::reference)
            .load(&mut conn)?;
        let (mut attachments, mut messages) = (0, 0);
        let progress = self.progress();
        let steps = super::progress::Steps::begin(&*progress, "tickets exported", references.len() as u64);
        for r in &references {
            steps.advance();
            let dir = format!("tickets/{r}");
            put(format!("{dir}/ticket.json"), json(&self.get_ticket(who, r)?))?;
            put(format!("{dir}/events.json"), json(&self.ticket_events(who, r)?))?;
            for a in self.ticket_attachments(who, r)? {
                let (_, _, bytes) = self.ticket_attachment(who, r, a.id)?;
                put(format!("{dir}/attachments/{}-{}", a.id, safe(&a.filename)), bytes)?;
                attachments += 1;
            }
            for m in self.ticket_messages(who, r)? {
                put(format!("{dir}/messages/{}.eml", m.id), self.inbound_raw(who, m.id)?)?;
                messages += 1;
            }
        }
        // Every version kept: `reports/2026-10.json` is the latest, and
        // `reports/2026-10.v1.json` and so on each one as it was kept.
        let reports: Vec<(String, i32, String)> = report_versions::table
            .filter(report_versions::scope.eq(slug))
            .order((report_versions::month, report_versions::version))
            .select((report_versions::month, report_versions::version, report_versions::data))
            .load(&mut conn)?;
        for (i, (month, version, data)) in reports.iter().enumerate() {
            put(format!("reports/{month}.v{version}.json"), data.clone().into_bytes())?;
            if reports.get(i + 1).is_none_or(|next| &next.0 != month) {
                put(format!("reports/{month}.json"), data.clone().into_bytes())?;
            }
        }
        let summary = ExportSummary {
            organisation: slug.to_string(),
            exported_at: now,
            tickets: references.len(),
            attachments,
            messages,
            reports: {
                let mut months: Vec<&String> = reports.iter().map(|r| &r.0).collect();
                months.dedup();
                months.len()
            },
            files,
        };
        let manifest = serde_json::to_vec_pretty(&summary).expect("serialises");
        sink("manifest.json", &manifest).map_err(|e| AppError::internal(format!("manifest.json: {e}")))?;
        conn.write(|c| {
            audit(
                c,
                who,
                "organisation.export",
                &format!("organisation:{slug}"),
                Some(&format!("{} tickets, {} files", summary.tickets, summary.files.len())),
                now,
            )
        })?;
        Ok(summary)
    }
}

/// A view as pretty JSON, with a final newline.
fn json<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(v).expect("serialises");
    out.push(b'\n');
    out
}

/// Working days after the end of a contract before its data is deleted,
/// as the service listing promises ("deleted within 5 working days of
/// service termination").
pub const RETENTION_WORKING_DAYS: u32 = 5;

/// What the end-of-contract job did with one organisation.
#[derive(Debug, Clone, Serialize)]
pub struct Ended {
    pub organisation: String,
    /// The last day its data is kept (working days in its own region).
    pub kept_until: chrono::NaiveDate,
    /// Tickets deleted, if its data was deleted now.
    pub deleted_tickets: Option<usize>,
}

impl App {
    /// The last day an organisation's data is kept: `days` working days
    /// (Monday to Friday, not its region's bank holidays) after `end`.
    pub fn kept_until(
        &self,
        end: chrono::NaiveDate,
        region: crate::domain::holidays::Region,
        days: u32,
    ) -> chrono::NaiveDate {
        use chrono::Datelike;
        let holidays = self.holidays.dates(region, end.year(), end.year() + 1);
        let mut d = end;
        let mut left = days;
        while left > 0 {
            d = d.succ_opt().expect("a date after the contract's end");
            if d.weekday().num_days_from_monday() < 5 && !holidays.contains(&d) {
                left -= 1;
            }
        }
        d
    }

    /// The nightly end-of-contract job. Each organisation whose contract
    /// ended and whose retention has run out has its data deleted: its
    /// closed months' reports are kept first (they are what remains, and
    /// name tickets only by reference), then its tickets with their events,
    /// attachments, original mail and notifications are deleted, its people
    /// anonymised and disabled, and the organisation marked `deleted`, in
    /// one transaction with an audit row.
    pub fn end_contracts(&self, now: DateTime<Utc>) -> Result<Vec<Ended>, AppError> {
        use crate::domain::availability::Month;
        use crate::store::models::Organisation;
        use crate::store::schema::{
            api_tokens, attachments, inbound_messages, organisations, outbox, ticket_events, users,
        };
        let today = now.with_timezone(&chrono_tz::Europe::London).date_naive();
        let op = Principal::operator();
        let mut conn = self.conn()?;
        let ended: Vec<Organisation> = organisations::table
            .filter(organisations::contract_end.lt(today))
            .filter(organisations::status.ne("deleted"))
            .order(organisations::slug)
            .select(Organisation::as_select())
            .load(&mut conn)?;
        drop(conn);
        let mut out = Vec::new();
        for o in ended {
            let region = o
                .region
                .parse()
                .map_err(|e: crate::domain::holidays::UnknownRegion| AppError::internal(e.to_string()))?;
            let end = o.contract_end.expect("filtered on it");
            let kept_until = self.kept_until(end, region, RETENTION_WORKING_DAYS);
            if today <= kept_until {
                out.push(Ended {
                    organisation: o.slug,
                    kept_until,
                    deleted_tickets: None,
                });
                continue;
            }
            // Every closed month with its tickets, kept before they go.
            let mut conn = self.conn()?;
            let first: Option<chrono::NaiveDateTime> = tickets::table
                .filter(tickets::organisation_id.eq(o.id))
                .select(diesel::dsl::min(tickets::received_at))
                .first(&mut conn)?;
            drop(conn);
            if let Some(first) = first {
                self.keep_organisation_months(&o, Month::containing(super::utc(first)), now)?;
            }
            let mut conn = self.conn()?;
            let deleted = conn.write(|c| -> Result<usize, AppError> {
                let ids: Vec<i64> = tickets::table
                    .filter(tickets::organisation_id.eq(o.id))
                    .select(tickets::id)
                    .load(c)?;
                for chunk in ids.chunks(1000) {
                    diesel::delete(attachments::table.filter(attachments::ticket_id.eq_any(chunk))).execute(c)?;
                    diesel::delete(outbox::table.filter(outbox::ticket_id.eq_any(chunk))).execute(c)?;
                    diesel::delete(inbound_messages::table.filter(inbound_messages::ticket_id.eq_any(chunk)))
                        .execute(c)?;
                    diesel::delete(ticket_events::table.filter(ticket_events::ticket_id.eq_any(chunk))).execute(c)?;
                    diesel::delete(tickets::table.filter(tickets::id.eq_any(chunk))).execute(c)?;
                }
                let people: Vec<i64> = users::table
                    .filter(users::organisation_id.eq(o.id))
                    .select(users::id)
                    .load(c)?;
                diesel::delete(api_tokens::table.filter(api_tokens::user_id.eq_any(&people))).execute(c)?;
                for id in &people {
                    let gone = format!("deleted-{id}@{}", super::outbox::MAIL_DOMAIN);
                    diesel::update(users::table.find(id))
                        .set((
                            users::email_key.eq(super::admin::email_key(&gone)),
                            users::email.eq(&gone),
                            users::name.eq(""),
                            users::password_hash.eq(None::<String>),
                            users::totp_secret.eq(None::<String>),
                            users::disabled.eq(true),
                        ))
                        .execute(c)?;
                }
                diesel::update(organisations::table.find(o.id))
                    .set((
                        organisations::status.eq("deleted"),
                        organisations::email_domains.eq(""),
                        organisations::account_contact.eq(None::<String>),
                    ))
                    .execute(c)?;
                audit(
                    c,
                    &op,
                    "organisation.delete",
                    &format!("organisation:{}", o.slug),
                    Some(&format!(
                        "{} tickets deleted, {} people anonymised; contract ended {end}",
                        ids.len(),
                        people.len()
                    )),
                    now,
                )?;
                Ok(ids.len())
            })?;
            out.push(Ended {
                organisation: o.slug,
                kept_until,
                deleted_tickets: Some(deleted),
            });
        }
        Ok(out)
    }
}
