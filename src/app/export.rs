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
use crate::store::schema::{monthly_reports, tickets};

/// Where the export's files go: (path inside the export, bytes).
pub type Sink<'a> = dyn FnMut(&str, &[u8]) -> Result<(), String> + 'a;

/// One file of the export, as the manifest lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ExportedFile {
    pub path: String,
    pub bytes: usize,
    pub sha256: String,
}

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
            sink(&path, &bytes).map_err(|e| AppError::Conflict(format!("{path}: {e}")))?;
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
        let mut conn = self.conn()?;
        let org = self.organisation_by_slug(&mut conn, slug)?;
        let org_view: super::admin::OrganisationView = org.clone().into();
        put("organisation.json".into(), json(&org_view))?;
        let people: Vec<super::admin::UserView> = self
            .list_users(who)?
            .into_iter()
            .filter(|u| u.organisation.as_deref() == Some(slug))
            .collect();
        put("contacts.json".into(), json(&people))?;
        put(
            "outages.json".into(),
            json(&self.list_outages(who, None, Some(slug), now)?),
        )?;

        let references: Vec<String> = tickets::table
            .filter(tickets::organisation_id.eq(org.id))
            .order(tickets::id)
            .select(tickets::reference)
            .load(&mut conn)?;
        let (mut attachments, mut messages) = (0, 0);
        for r in &references {
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
        let reports: Vec<(String, String)> = monthly_reports::table
            .filter(monthly_reports::scope.eq(slug))
            .order(monthly_reports::month)
            .select((monthly_reports::month, monthly_reports::data))
            .load(&mut conn)?;
        for (month, data) in &reports {
            put(format!("reports/{month}.json"), data.clone().into_bytes())?;
        }
        let summary = ExportSummary {
            organisation: slug.to_string(),
            exported_at: now,
            tickets: references.len(),
            attachments,
            messages,
            reports: reports.len(),
            files,
        };
        let manifest = serde_json::to_vec_pretty(&summary).expect("serialises");
        sink("manifest.json", &manifest).map_err(|e| AppError::Conflict(format!("manifest.json: {e}")))?;
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
