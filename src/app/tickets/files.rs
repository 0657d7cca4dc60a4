//! A ticket's files and the original messages it came from.

use super::*;
use crate::store::schema::inbound_messages;
use sha2::{Digest, Sha256};

/// A file that came with a message on a ticket.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AttachmentView {
    pub id: i64,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: DateTime<Utc>,
}

/// A message recorded on a ticket, with where to fetch its original.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TicketMessage {
    pub id: i64,
    pub message_id: String,
    pub via: String,
    pub received_at: DateTime<Utc>,
    pub from: Option<String>,
    pub subject: Option<String>,
    pub outcome: String,
    /// The original as it arrived (message/rfc822).
    pub original: String,
}

impl App {
    /// The files that came with a ticket's mail, for anyone who may see the ticket.
    pub fn ticket_attachments(&self, who: &Principal, reference: &str) -> Result<Vec<AttachmentView>, AppError> {
        use crate::store::schema::attachments as a;
        let mut conn = self.conn()?;
        let ticket_id = self.visible_ticket_id(&mut conn, who, reference)?;
        let rows: Vec<(i64, String, String, i64, String, chrono::NaiveDateTime)> = a::table
            .filter(a::ticket_id.eq(ticket_id))
            .order(a::id.asc())
            .select((a::id, a::filename, a::content_type, a::size, a::sha256, a::created_at))
            .load(&mut *conn)?;
        Ok(rows
            .into_iter()
            .map(|(id, filename, content_type, size, sha256, at)| AttachmentView {
                id,
                filename,
                content_type,
                size,
                sha256,
                created_at: crate::app::utc(at),
            })
            .collect())
    }

    /// One file of a ticket: its name, type and bytes.
    pub fn ticket_attachment(
        &self,
        who: &Principal,
        reference: &str,
        id: i64,
    ) -> Result<(String, String, Vec<u8>), AppError> {
        use crate::store::schema::attachments as a;
        let mut conn = self.conn()?;
        let ticket_id = self.visible_ticket_id(&mut conn, who, reference)?;
        a::table
            .filter(a::ticket_id.eq(ticket_id))
            .filter(a::id.eq(id))
            .select((a::filename, a::content_type, a::data))
            .first(&mut *conn)
            .optional()?
            .ok_or_else(|| AppError::NotFound(format!("no attachment {id} on {reference}")))
    }

    /// The mail recorded on a ticket (staff only: originals show routing).
    pub fn ticket_messages(&self, who: &Principal, reference: &str) -> Result<Vec<TicketMessage>, AppError> {
        who.staff_only()?;
        let mut conn = self.conn()?;
        let ticket_id = self.visible_ticket_id(&mut conn, who, reference)?;
        type Row = (
            i64,
            String,
            String,
            chrono::NaiveDateTime,
            Option<String>,
            Option<String>,
            String,
        );
        let rows: Vec<Row> = inbound_messages::table
            .filter(inbound_messages::ticket_id.eq(ticket_id))
            .order((inbound_messages::received_at.asc(), inbound_messages::id.asc()))
            .select((
                inbound_messages::id,
                inbound_messages::message_id,
                inbound_messages::via,
                inbound_messages::received_at,
                inbound_messages::from_address,
                inbound_messages::subject,
                inbound_messages::outcome,
            ))
            .load(&mut *conn)?;
        Ok(rows
            .into_iter()
            .map(|(id, message_id, via, at, from, subject, outcome)| TicketMessage {
                id,
                message_id,
                via,
                received_at: crate::app::utc(at),
                from,
                subject,
                outcome,
                original: format!("/api/v1/inbound/messages/{id}"),
            })
            .collect())
    }
}

/// Stores a message's (or a form's) files on a ticket, in the caller's
/// transaction; returns their ids in the order given.
pub(in crate::app) fn store_attachments(
    c: &mut DbConnection,
    ticket_id: i64,
    message_id: Option<&str>,
    files: &[(String, String, &[u8])],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, AppError> {
    let mut ids = Vec::with_capacity(files.len());
    for (name, ctype, data) in files {
        let id = diesel::insert_into(crate::store::schema::attachments::table)
            .values(crate::store::models::NewAttachment {
                ticket_id,
                inbound_message_id: message_id,
                filename: name,
                content_type: ctype,
                size: data.len() as i64,
                sha256: Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect(),
                data,
                created_at: naive(now),
            })
            .returning(crate::store::schema::attachments::id)
            .get_result(c)?;
        ids.push(id);
    }
    Ok(ids)
}
