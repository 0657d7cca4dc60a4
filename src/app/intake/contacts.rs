//! Who sent a message: the contact an address belongs to, made for a known
//! organisation's mail domain (named as the mail names them), or the
//! reason it is quarantined instead.

use super::*;

impl App {
    /// The contact a sender address belongs to, creating one for a known
    /// organisation's mail domain; `Err(reason)` to quarantine.
    pub(super) fn contact_for(
        &self,
        c: &mut DbConnection,
        address: &str,
        display_name: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Result<User, Refusal>, AppError> {
        if let Ok(u) = self.user_by_email(c, address) {
            if u.role != "customer" {
                return Ok(Err(Refusal::Other(format!(
                    "{address} is staff, not a customer contact"
                ))));
            }
            if u.disabled {
                return Ok(Err(Refusal::Other(format!("{address} is a disabled contact"))));
            }
            return Ok(Ok(u));
        }
        let Some((_, domain)) = address.rsplit_once('@') else {
            return Ok(Err(Refusal::Other(format!("'{address}' is not an address"))));
        };
        let orgs: Vec<Organisation> = organisations::table.select(Organisation::as_select()).load(c)?;
        let Some(org) = orgs
            .into_iter()
            .find(|o| crate::app::tickets::takes_mail_from(o, domain))
        else {
            return Ok(Err(Refusal::Unknown(format!(
                "{address} is not a contact and {domain} is no organisation's mail domain"
            ))));
        };
        let who = Principal::operator();
        Ok(Ok(self.add_contact(
            c,
            address,
            display_name,
            &org,
            &who,
            "user.create_from_mail",
            now,
        )?))
    }

    /// The Cc of a customer's mail on a ticket: its contacts (and addresses
    /// at its organisation's mail domains) become watchers; anyone else is
    /// left out, and an internal note tells the agents who and why. Our
    /// own addresses and the sender are not candidates.
    pub(super) fn cc_watchers(
        &self,
        c: &mut DbConnection,
        m: &Message,
        ticket_id: i64,
        sender: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let ours: Vec<String> = queues::table
            .filter(queues::inbound_address.is_not_null())
            .select(queues::inbound_address.assume_not_null())
            .load(c)?;
        let cc: Vec<String> = addr_list(m, "cc")
            .into_iter()
            .filter(|a| !a.eq_ignore_ascii_case(sender) && !ours.iter().any(|o| o.eq_ignore_ascii_case(a)))
            .collect();
        if cc.is_empty() {
            return Ok(());
        }
        let refused = self.watch_from_cc(c, ticket_id, &cc, now)?;
        if refused.is_empty() {
            return Ok(());
        }
        let reference: String = tickets::table.find(ticket_id).select(tickets::reference).first(c)?;
        let note = format!(
            "Cc'd on the customer's mail but not made watchers, since only the organisation's contacts may watch: {}.",
            refused.join("; ")
        );
        self.change_ticket_in(c, &Principal::operator(), &reference, &[Change::Note(note)], now)?;
        Ok(())
    }

    /// A new customer contact of `org` for a mail address (named as its mail
    /// names it, else by the address's local part), audited as `action`.
    #[allow(clippy::too_many_arguments)]
    pub(in crate::app) fn add_contact(
        &self,
        c: &mut DbConnection,
        address: &str,
        display_name: Option<&str>,
        org: &Organisation,
        who: &Principal,
        action: &str,
        now: DateTime<Utc>,
    ) -> Result<User, AppError> {
        let key = crate::app::admin::email_key(address);
        diesel::insert_into(users::table)
            .values(NewUser {
                email: address,
                email_key: &key,
                name: display_name.unwrap_or_else(|| address.split('@').next().unwrap_or(address)),
                role: "customer",
                organisation_id: Some(org.id),
                password_hash: None,
                disabled: false,
                time_zone: "Europe/London",
                created_at: naive(now),
            })
            .execute(c)?;
        audit(c, who, action, &format!("user:{address}"), Some(&org.slug), now)?;
        self.user_by_email(c, address)
    }
}
