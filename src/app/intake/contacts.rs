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
            .find(|o| o.status != "terminated" && o.email_domains.split(',').any(|d| d.eq_ignore_ascii_case(domain)))
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

    /// A new customer contact of `org` for a mail address (named as its mail
    /// names it, else by the address's local part), audited as `action`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn add_contact(
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
