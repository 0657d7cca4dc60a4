//! Who else is on a ticket: staff's pages send a heartbeat (viewing, or
//! writing a reply) and read who else sent one in the last half minute.
//! Customers are neither tracked nor told.

use super::*;
use crate::store::schema::ticket_presence;

/// How long a heartbeat counts: a page sends one every 10 seconds.
const FRESH_SECONDS: i64 = 30;

/// Someone else on the ticket now.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Present {
    pub email: String,
    pub name: String,
    /// Writing a reply or note now, not only reading.
    pub replying: bool,
}

impl App {
    /// Records that `who` is on the ticket (and whether writing), and
    /// answers who else of the staff is (staff only).
    pub fn touch_presence(
        &self,
        who: &Principal,
        reference: &str,
        replying: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<Present>, AppError> {
        let mut conn = self.conn()?;
        let ticket_id = self.visible_ticket_id(&mut conn, who, reference)?;
        who.staff_or_forbidden("presence")?;
        conn.write(|c| {
            let at = naive(now);
            let key = ticket_presence::table
                .filter(ticket_presence::ticket_id.eq(ticket_id))
                .filter(ticket_presence::user_id.eq(who.user_id));
            let updated = diesel::update(key)
                .set((ticket_presence::replying.eq(replying), ticket_presence::seen_at.eq(at)))
                .execute(c)?;
            if updated == 0 {
                diesel::insert_into(ticket_presence::table)
                    .values((
                        ticket_presence::ticket_id.eq(ticket_id),
                        ticket_presence::user_id.eq(who.user_id),
                        ticket_presence::replying.eq(replying),
                        ticket_presence::seen_at.eq(at),
                    ))
                    .execute(c)?;
            }
            // The gone are forgotten as the present come and go.
            diesel::delete(
                ticket_presence::table.filter(ticket_presence::seen_at.lt(naive(now - chrono::Duration::hours(1)))),
            )
            .execute(c)?;
            Ok::<_, AppError>(())
        })?;
        drop(conn);
        self.present_on(who, reference, now)
    }

    /// Who else of the staff is on the ticket now (staff only; a read).
    pub fn present_on(&self, who: &Principal, reference: &str, now: DateTime<Utc>) -> Result<Vec<Present>, AppError> {
        let mut conn = self.conn()?;
        let ticket_id = self.visible_ticket_id(&mut conn, who, reference)?;
        who.staff_or_forbidden("presence")?;
        let rows: Vec<(String, String, bool)> = ticket_presence::table
            .inner_join(users::table)
            .filter(ticket_presence::ticket_id.eq(ticket_id))
            .filter(ticket_presence::user_id.ne(who.user_id))
            .filter(ticket_presence::seen_at.ge(naive(now - chrono::Duration::seconds(FRESH_SECONDS))))
            .order(users::name.asc())
            .select((users::email, users::name, ticket_presence::replying))
            .load(&mut conn)?;
        Ok(rows
            .into_iter()
            .map(|(email, name, replying)| Present {
                name: if name.is_empty() { email.clone() } else { name },
                email,
                replying,
            })
            .collect())
    }
}
