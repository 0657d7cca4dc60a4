//! Queues: who leads and works them, their inbound address, their
//! default severity, and whether customers may choose them.

use super::*;

/// A queue as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QueueView {
    pub slug: String,
    pub name: String,
    pub inbound_address: Option<String>,
    pub lead: Option<String>,
    pub default_severity: i32,
    pub members: Vec<String>,
    /// Whether customers may choose it when raising a ticket.
    pub customer_selectable: bool,
}

/// What an admin gives to create a queue.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewQueueRequest {
    pub slug: String,
    pub name: String,
    pub inbound_address: Option<String>,
    /// Email of the queue lead (a staff member).
    pub lead: Option<String>,
    #[serde(default)]
    pub members: Vec<String>,
    pub default_severity: Option<i32>,
    /// Whether customers may choose it when raising a ticket (default no).
    #[serde(default)]
    pub customer_selectable: bool,
}

impl App {
    /// Creates a queue (admin only), audited.
    pub fn create_queue(
        &self,
        who: &Principal,
        req: NewQueueRequest,
        now: DateTime<Utc>,
    ) -> Result<QueueView, AppError> {
        who.require_admin()?;
        valid_slug("slug", &req.slug)?;
        valid_text("name", &req.name, 200)?;
        if let Some(a) = &req.inbound_address {
            valid_email("inbound_address", a)?;
        }
        let severity = req.default_severity.unwrap_or(3);
        if !(1..=4).contains(&severity) {
            return Err(invalid("default_severity", "expected 1, 2, 3 or 4"));
        }
        let mut conn = self.conn()?;
        conn.write(|c| {
            let staff = |c: &mut crate::store::DbConnection, field: &str, email: &str| -> Result<User, AppError> {
                let u = self
                    .user_by_email(c, email)
                    .map_err(|_| invalid(field, format!("unknown user '{email}'")))?;
                if u.role == "customer" {
                    return Err(invalid(field, format!("'{email}' is a customer, not staff")));
                }
                Ok(u)
            };
            let lead = req.lead.as_deref().map(|e| staff(c, "lead", e)).transpose()?;
            let taken: i64 = queues::table.filter(queues::slug.eq(&req.slug)).count().get_result(c)?;
            if taken > 0 {
                return Err(AppError::Conflict(format!("a queue with slug '{}' exists", req.slug)));
            }
            diesel::insert_into(queues::table)
                .values(NewQueue {
                    slug: &req.slug,
                    name: req.name.trim(),
                    inbound_address: req.inbound_address.as_deref().map(str::trim),
                    lead_id: lead.as_ref().map(|l| l.id),
                    default_severity: severity,
                    created_at: naive(now),
                    customer_selectable: req.customer_selectable,
                })
                .execute(c)?;
            let row: Queue = queues::table
                .filter(queues::slug.eq(&req.slug))
                .select(Queue::as_select())
                .first(c)?;
            for m in &req.members {
                let u = staff(c, "members", m)?;
                diesel::insert_into(queue_members::table)
                    .values((queue_members::queue_id.eq(row.id), queue_members::user_id.eq(u.id)))
                    .execute(c)?;
            }
            audit(c, who, "queue.create", &format!("queue:{}", row.slug), None, now)?;
            Ok(QueueView {
                slug: row.slug,
                name: row.name,
                inbound_address: row.inbound_address,
                lead: req.lead.clone(),
                customer_selectable: row.customer_selectable,
                default_severity: row.default_severity,
                members: req.members.clone(),
            })
        })
    }

    /// Every queue (staff only; customers are refused).
    pub fn list_queues(&self, who: &Principal) -> Result<Vec<QueueView>, AppError> {
        if who.role == Role::Customer {
            return Err(AppError::Forbidden("customers do not see queues".into()));
        }
        let mut conn = self.conn()?;
        let rows: Vec<(Queue, Option<String>)> = queues::table
            .left_join(users::table.on(queues::lead_id.eq(users::id.nullable())))
            .order(queues::slug)
            .select((Queue::as_select(), users::email.nullable()))
            .load(&mut conn)?;
        let members: Vec<(i64, String)> = queue_members::table
            .inner_join(users::table.on(queue_members::user_id.eq(users::id)))
            .select((queue_members::queue_id, users::email))
            .load(&mut conn)?;
        Ok(rows
            .into_iter()
            .map(|(q, lead)| QueueView {
                members: members
                    .iter()
                    .filter(|(id, _)| *id == q.id)
                    .map(|(_, e)| e.clone())
                    .collect(),
                slug: q.slug,
                name: q.name,
                inbound_address: q.inbound_address,
                lead,
                default_severity: q.default_severity,
                customer_selectable: q.customer_selectable,
            })
            .collect())
    }
}
