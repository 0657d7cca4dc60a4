//! A desk described in a file, planted through the same use cases as an
//! admin's requests: organisations with their contacts, staff, queues. One
//! format and one planting for the demo (`fixtures/demo/desk.toml`), the
//! tests and the benches (`fixtures/test/desk.toml`), so what they start
//! from cannot drift apart.

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use crate::app::admin::{NewOrganisationRequest, NewQueueRequest, NewUserRequest};
use crate::app::{App, Principal, Role};

/// A desk: its customers, its staff and its queues, and (for the demo) the
/// subjects tickets are drawn from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Desk {
    /// Subjects a generator may draw tickets from.
    #[serde(default)]
    pub subjects: Vec<String>,
    /// Staff, created first, in order.
    pub staff: Vec<Staff>,
    /// Customer organisations, each with its contacts, in order.
    pub organisations: Vec<Organisation>,
    /// Queues, created last (their leads and members are staff).
    pub queues: Vec<Queue>,
    /// The services the status page lists, in order, created before the
    /// organisations that take them.
    #[serde(default)]
    pub services: Vec<Service>,
}

/// A service (a status page component).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub slug: String,
    pub name: String,
    /// The group the status page shows it under.
    pub group: Option<String>,
    pub description: Option<String>,
}

/// A customer organisation and its contacts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    /// Its slug, as URLs and the CLI name it.
    pub slug: String,
    /// Its name, as people read it.
    pub name: String,
    /// Its support tier: a policy's name.
    pub tier: String,
    /// Its bank-holiday region.
    pub region: String,
    /// Mail from these domains is its contacts'.
    pub email_domains: Vec<String>,
    /// What it pays a month, for service credits.
    pub monthly_charge_pence: i64,
    /// When its contract began.
    pub contract_start: Option<NaiveDate>,
    /// Whether its contacts may declare a ticket's severity.
    #[serde(default)]
    pub may_declare_severity: bool,
    /// Who is sent its service-credit notices; its first contact unless given.
    pub account_contact: Option<String>,
    /// Which tickets each contact sees (all of the organisation's by default).
    #[serde(default)]
    pub ticket_sharing: crate::app::tickets::TicketSharing,
    /// "Nadia Patel <nadia.patel@northwind.example>", or a bare address for
    /// a contact known by address only.
    pub contacts: Vec<Contact>,
    /// The services its contract covers, by slug.
    #[serde(default)]
    pub services: Vec<String>,
}

/// A person by name and address.
#[derive(Debug, Deserialize, Clone)]
#[serde(try_from = "String")]
pub struct Contact {
    /// Their name; `None` for a bare address.
    pub name: Option<String>,
    /// Their address.
    pub email: String,
}

impl TryFrom<String> for Contact {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        let Some((name, rest)) = s.split_once('<') else {
            if s.contains(char::is_whitespace) || !s.contains('@') {
                return Err(format!("expected 'Name <address>' or an address, found '{s}'"));
            }
            return Ok(Contact { name: None, email: s });
        };
        let email = rest
            .strip_suffix('>')
            .ok_or_else(|| format!("no closing '>' in '{s}'"))?;
        Ok(Contact {
            name: Some(name.trim().to_string()),
            email: email.trim().to_string(),
        })
    }
}

/// A member of staff.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Staff {
    /// Their address.
    pub email: String,
    /// Their name, if the desk knows it.
    pub name: Option<String>,
    /// Agent, manager or admin.
    pub role: Role,
}

/// A queue of work.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Queue {
    /// Its slug.
    pub slug: String,
    /// Its name.
    pub name: String,
    /// Mail to this address lands in it.
    pub inbound_address: Option<String>,
    /// Its lead: a member of staff.
    pub lead: String,
    /// Who works it.
    pub members: Vec<String>,
    /// The severity a ticket gets when nobody says.
    pub default_severity: i32,
    /// Whether customers may choose it.
    #[serde(default)]
    pub customer_selectable: bool,
}

impl Desk {
    /// Reads a desk file; `file` names it in errors (with the line).
    pub fn from_toml(file: &str, text: &str) -> anyhow::Result<Desk> {
        crate::config::read_toml(file, text)
    }

    /// Reads a desk file from disk.
    pub fn load(path: &std::path::Path) -> anyhow::Result<Desk> {
        let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
        Desk::from_toml(&path.display().to_string(), &text)
    }

    /// Creates the desk in an empty store as the operator, dated `at`:
    /// staff, the services, then each organisation with its contacts and
    /// services, then the queues.
    /// Everyone signs in with `password` when one is given.
    pub fn plant(&self, app: &App, at: DateTime<Utc>, password: Option<&str>) -> anyhow::Result<()> {
        let op = Principal::operator();
        let user = |email: &str, name: Option<&String>, role: Role, org: Option<&str>| {
            app.create_user(
                &op,
                NewUserRequest {
                    email: email.to_string(),
                    name: name.cloned(),
                    role,
                    organisation: org.map(str::to_string),
                    password: password.map(str::to_string),
                },
                at,
            )
            .with_context(|| format!("seeding user {email}"))
        };
        for s in &self.staff {
            user(&s.email, s.name.as_ref(), s.role, None)?;
        }
        for s in &self.services {
            app.create_service(
                &op,
                crate::app::services::NewServiceRequest {
                    slug: s.slug.clone(),
                    name: s.name.clone(),
                    group: s.group.clone(),
                    description: s.description.clone(),
                },
                at,
            )
            .with_context(|| format!("seeding service {}", s.slug))?;
        }
        for o in &self.organisations {
            app.create_organisation(
                &op,
                NewOrganisationRequest {
                    slug: o.slug.clone(),
                    name: o.name.clone(),
                    tier: o.tier.clone(),
                    region: o.region.clone(),
                    email_domains: o.email_domains.clone(),
                    monthly_charge_pence: o.monthly_charge_pence,
                    contract_start: o.contract_start,
                    contract_end: None,
                    may_declare_severity: o.may_declare_severity,
                    ticket_sharing: o.ticket_sharing,
                    account_contact: o
                        .account_contact
                        .clone()
                        .or_else(|| o.contacts.first().map(|c| c.email.clone())),
                },
                at,
            )
            .with_context(|| format!("seeding organisation {}", o.slug))?;
            for c in &o.contacts {
                user(&c.email, c.name.as_ref(), Role::Customer, Some(&o.slug))?;
            }
            if !o.services.is_empty() {
                app.set_organisation_services(
                    &op,
                    &o.slug,
                    crate::app::services::SubscriptionsRequest {
                        services: o.services.clone(),
                    },
                    at,
                )
                .with_context(|| format!("seeding {}'s services", o.slug))?;
            }
        }
        for q in &self.queues {
            app.create_queue(
                &op,
                NewQueueRequest {
                    slug: q.slug.clone(),
                    name: q.name.clone(),
                    inbound_address: q.inbound_address.clone(),
                    lead: Some(q.lead.clone()),
                    members: q.members.clone(),
                    default_severity: Some(q.default_severity),
                    customer_selectable: q.customer_selectable,
                },
                at,
            )
            .with_context(|| format!("seeding queue {}", q.slug))?;
        }
        Ok(())
    }

    /// Every person of the desk, staff first, in the order they were made.
    pub fn people(&self) -> Vec<&str> {
        self.staff
            .iter()
            .map(|s| s.email.as_str())
            .chain(
                self.organisations
                    .iter()
                    .flat_map(|o| o.contacts.iter().map(|c| c.email.as_str())),
            )
            .collect()
    }
}
