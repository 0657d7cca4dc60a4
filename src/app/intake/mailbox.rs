//! Where a mailbox reader stands (UIDVALIDITY and last UID), committed
//! with the messages it took.

use super::*;

/// Where a mailbox reader stands: the folder (`source`), its UIDVALIDITY
/// and the highest UID taken in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxPosition {
    pub source: String,
    pub uid_validity: i64,
    pub last_uid: i64,
}

pub(crate) fn save_position(c: &mut DbConnection, p: &MailboxPosition, now: DateTime<Utc>) -> Result<(), AppError> {
    use crate::store::schema::mailbox_positions as mp;
    let n = diesel::update(mp::table.filter(mp::source.eq(&p.source)))
        .set((
            mp::uid_validity.eq(p.uid_validity),
            mp::last_uid.eq(p.last_uid),
            mp::updated_at.eq(naive(now)),
        ))
        .execute(c)?;
    if n == 0 {
        diesel::insert_into(mp::table)
            .values((
                mp::source.eq(&p.source),
                mp::uid_validity.eq(p.uid_validity),
                mp::last_uid.eq(p.last_uid),
                mp::updated_at.eq(naive(now)),
            ))
            .execute(c)?;
    }
    Ok(())
}

impl App {
    /// Where the reader of `source` stands, if it has read anything.
    pub fn mailbox_position(&self, source: &str) -> Result<Option<MailboxPosition>, AppError> {
        use crate::store::schema::mailbox_positions as mp;
        let mut conn = self.conn()?;
        let row: Option<(i64, i64)> = mp::table
            .filter(mp::source.eq(source))
            .select((mp::uid_validity, mp::last_uid))
            .first(&mut *conn)
            .optional()?;
        Ok(row.map(|(uid_validity, last_uid)| MailboxPosition {
            source: source.to_string(),
            uid_validity,
            last_uid,
        }))
    }

    /// Records where the reader of a mailbox stands, outside any message
    /// (for a message that can never be accepted, which stays in the folder).
    pub fn set_mailbox_position(&self, p: &MailboxPosition) -> Result<(), AppError> {
        let now = crate::app::now();
        let mut conn = self.conn()?;
        conn.write(|c| save_position(c, p, now))
    }
}
