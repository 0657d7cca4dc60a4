//! What delivery asks of the app: due rows claimed one by one (the claim
//! and the attempt counted in one transaction, the send confirmed in
//! another), so no row is sent twice whatever happens to the process;
//! failures back off; a claim that expired without a confirmed send is set
//! aside in doubt for a person. The send loop itself is
//! `mail::delivery`; what is queued, and why, is in the module above.

use super::*;
use crate::store::outbox as rows;

/// How long a claim on a row lasts; a claim that expires without a
/// confirmed send means the sender stopped mid-send.
const CLAIM_SECONDS: i64 = 300;

/// A file a mail carries inside it.
pub struct OutgoingFile {
    pub name: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

/// One notification to send, as the app hands it to mail: which template,
/// to whom, its Message-ID and thread, the template's data and the files
/// it carries. Mail knows nothing of how the app stores it.
pub struct OutgoingMail {
    pub kind: String,
    pub to_address: String,
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub context: serde_json::Value,
    pub files: Vec<OutgoingFile>,
}

/// A row claimed for sending: its mail, or why it cannot be built (an
/// unreadable row fails like a send and is retried with the same back-off).
pub struct Claimed {
    pub id: i64,
    pub attempts: i32,
    pub mail: Result<OutgoingMail, String>,
}

/// The files a queued mail carries: those its data names, of its own
/// ticket only, read at delivery so the outbox row stays small.
fn files_for(
    c: &mut DbConnection,
    ticket: Option<i64>,
    context: &serde_json::Value,
) -> Result<Vec<OutgoingFile>, AppError> {
    let Some(ticket) = ticket else {
        return Ok(Vec::new());
    };
    let ids: Vec<i64> = context
        .get("attach")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let found = rows::ticket_files(c, ticket, &ids)?;
    // In the order the reply gave them.
    Ok(ids
        .iter()
        .filter_map(|id| found.iter().find(|f| f.0 == *id))
        .map(|(_, name, ctype, data)| OutgoingFile {
            name: name.clone(),
            content_type: ctype.clone(),
            data: data.clone(),
        })
        .collect())
}

impl App {
    /// Sets aside, in doubt, every claim that expired without a confirmed
    /// send; they are never resent without a person.
    pub fn set_aside_in_doubt(&self, now: DateTime<Utc>) -> Result<usize, AppError> {
        self.conn()?
            .write(|c| rows::set_aside_expired_claims(c, naive(now)).map_err(AppError::from))
    }

    /// The ids of up to `limit` rows due by `now`, oldest first.
    pub fn due_mail(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<i64>, AppError> {
        Ok(rows::due(&mut *self.conn()?, naive(now), limit)?)
    }

    /// Claims a due row for one sender, counting the attempt, in its own
    /// transaction; `None` when another sender took it first. The mail is
    /// read once, for its files and for its template.
    pub fn claim_mail(&self, id: i64, now: DateTime<Utc>) -> Result<Option<Claimed>, AppError> {
        let mut conn = self.conn()?;
        let until = naive(now + Duration::seconds(CLAIM_SECONDS));
        if !conn.write(|c| rows::claim(c, id, until).map_err(AppError::from))? {
            return Ok(None);
        }
        let row = rows::row(&mut conn, id)?;
        let mail = match serde_json::from_str::<serde_json::Value>(&row.context) {
            Err(e) => Err(format!("outbox {}: {e}", row.id)),
            Ok(context) => Ok(OutgoingMail {
                files: files_for(&mut conn, row.ticket_id, &context)?,
                kind: row.kind,
                to_address: row.to_address,
                message_id: row.message_id,
                in_reply_to: row.in_reply_to,
                context,
            }),
        };
        Ok(Some(Claimed {
            id,
            attempts: row.attempts,
            mail,
        }))
    }

    /// The transport confirmed a claimed row's send.
    pub fn mail_sent(&self, id: i64, now: DateTime<Utc>) -> Result<(), AppError> {
        self.conn()?
            .write(|c| rows::mark_sent(c, id, naive(now)).map_err(AppError::from))?;
        Ok(())
    }

    /// A claimed row's send failed: it is released and tried again after
    /// 1, 2, 4 … minutes by its attempts so far, at most an hour.
    pub fn mail_failed(&self, claimed: &Claimed, now: DateTime<Utc>, error: &str) -> Result<(), AppError> {
        let wait = Duration::minutes(1i64 << claimed.attempts.clamp(0, 6)).min(Duration::hours(1));
        self.conn()?
            .write(|c| rows::mark_failed(c, claimed.id, naive(now + wait), error).map_err(AppError::from))?;
        Ok(())
    }
}
