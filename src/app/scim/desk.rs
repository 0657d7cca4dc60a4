//! What a SCIM document does to the desk: the account a User is (made,
//! linked by address, brought up to date, deactivated with its sessions
//! and tokens ended), and the roles and queues staff Groups give.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;

use super::{Kind, Realm, Row, ScimCaller, ScimError, bad, str_at, taken};
use crate::app::admin::email_key;
use crate::app::{App, AppError, Role, audit, naive};
use crate::store::DbConnection;
use crate::store::models::{NewUser, User};
use crate::store::schema::{api_tokens, queue_members, queues, scim_resources, users, web_sessions};

/// What the desk takes from a User document.
pub(super) struct Account {
    pub(super) user_name: String,
    email: String,
    name: String,
    active: bool,
}

pub(super) fn account(doc: &Value) -> Result<Account, ScimError> {
    let user_name = str_at(doc, "userName")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("invalidValue", "userName is required"))?
        .to_string();
    let emails = doc
        .as_object()
        .and_then(|m| m.iter().find(|(k, _)| k.eq_ignore_ascii_case("emails")))
        .and_then(|(_, v)| v.as_array().cloned())
        .unwrap_or_default();
    let email = emails
        .iter()
        .find(|e| e["primary"] == true)
        .or_else(|| emails.first())
        .and_then(|e| str_at(e, "value"))
        .map(String::from)
        .or_else(|| user_name.contains('@').then(|| user_name.clone()))
        .ok_or_else(|| {
            bad(
                "invalidValue",
                "an e-mail address is needed: emails, or an address as userName",
            )
        })?;
    crate::domain::names::EmailAddress::parse(&email).map_err(|e| bad("invalidValue", format!("emails: {e}")))?;
    let n = doc.as_object().and_then(|m| {
        m.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("name"))
            .map(|(_, v)| v.clone())
    });
    let formatted = n.as_ref().and_then(|n| str_at(n, "formatted")).map(String::from);
    let parts: Vec<&str> = n
        .as_ref()
        .map(|n| {
            [str_at(n, "givenName"), str_at(n, "familyName")]
                .into_iter()
                .flatten()
                .collect()
        })
        .unwrap_or_default();
    let name = formatted
        .filter(|s| !s.trim().is_empty())
        .or_else(|| (!parts.is_empty()).then(|| parts.join(" ")))
        .or_else(|| str_at(doc, "displayName").map(String::from))
        .unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_string());
    let active = doc
        .as_object()
        .and_then(|m| m.iter().find(|(k, _)| k.eq_ignore_ascii_case("active")))
        .map(|(_, v)| v.as_bool().unwrap_or(true))
        .unwrap_or(true);
    Ok(Account {
        user_name,
        email: email.trim().to_string(),
        name: name.trim().chars().take(200).collect(),
        active,
    })
}

/// Ends an account's sessions and revokes its tokens, in the caller's
/// transaction: deactivation takes effect at once.
pub(super) fn cut_off(c: &mut DbConnection, user_id: i64) -> Result<(), diesel::result::Error> {
    diesel::update(users::table.find(user_id))
        .set(users::disabled.eq(true))
        .execute(c)?;
    diesel::delete(web_sessions::table.filter(web_sessions::user_id.eq(user_id))).execute(c)?;
    diesel::update(api_tokens::table.filter(api_tokens::user_id.eq(user_id)))
        .set(api_tokens::revoked.eq(true))
        .execute(c)?;
    Ok(())
}

impl App {
    /// Checks a document and applies it to the desk: the name key and,
    /// for a User, its account.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn scim_apply(
        &self,
        c: &mut DbConnection,
        caller: &ScimCaller,
        kind: Kind,
        id: &str,
        old: Option<(&Row, &Value)>,
        doc: &Value,
        now: DateTime<Utc>,
    ) -> Result<(String, Option<i64>), ScimError> {
        let realm = caller.realm.key();
        let name_key = match kind {
            Kind::User => account(doc)?.user_name.to_lowercase(),
            Kind::Group => str_at(doc, "displayName")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| bad("invalidValue", "displayName is required"))?
                .to_lowercase(),
        };
        let clash: i64 = scim_resources::table
            .filter(scim_resources::resource_type.eq(kind.name()))
            .filter(scim_resources::realm.eq(&realm))
            .filter(scim_resources::name_key.eq(&name_key))
            .filter(scim_resources::id.ne(id))
            .count()
            .get_result(c)?;
        if clash > 0 {
            return Err(taken(format!("a {} '{name_key}' exists", kind.name())));
        }
        if kind == Kind::Group {
            let members = doc
                .as_object()
                .and_then(|m| m.iter().find(|(k, _)| k.eq_ignore_ascii_case("members")))
                .and_then(|(_, v)| v.as_array().cloned())
                .unwrap_or_default();
            // A member the desk does not know (not provisioned here, or not
            // yet) is kept in the group but counts for nothing.
            if members.iter().any(|m| str_at(m, "value").is_none()) {
                return Err(bad("invalidValue", "a member has a value"));
            }
            return Ok((name_key, None));
        }
        let a = account(doc)?;
        let key = email_key(&a.email);
        let organisation_id = match &caller.realm {
            Realm::Staff => None,
            Realm::Organisation { id, .. } => Some(*id),
        };
        let same_side = |u: &User| match organisation_id {
            Some(org) => u.organisation_id == Some(org),
            None => u.organisation_id.is_none() && u.role != Role::Customer.as_str(),
        };
        let by_email = crate::store::find::user_by_email_key(c, &key)?;
        let user = match (old.and_then(|(r, _)| r.1), by_email) {
            (Some(uid), other) => {
                if other.as_ref().is_some_and(|o| o.id != uid) {
                    return Err(taken(format!("{} is another account's address", a.email)));
                }
                let u: User = users::table.find(uid).select(User::as_select()).first(c)?;
                if u.email_key != key {
                    diesel::update(users::table.find(uid))
                        .set((users::email.eq(&a.email), users::email_key.eq(&key)))
                        .execute(c)?;
                    audit(
                        c,
                        &caller.who,
                        "user.email_changed",
                        &format!("user:{}", a.email),
                        Some(&format!("was {} (scim)", u.email)),
                        now,
                    )?;
                }
                u
            }
            (None, Some(u)) => {
                if !same_side(&u) {
                    return Err(taken(format!("{} is an account outside this realm", a.email)));
                }
                let linked: i64 = scim_resources::table
                    .filter(scim_resources::user_id.eq(u.id))
                    .filter(scim_resources::id.ne(id))
                    .count()
                    .get_result(c)?;
                if linked > 0 {
                    return Err(taken(format!("{} is provisioned already", a.email)));
                }
                u
            }
            (None, None) => {
                let role = if organisation_id.is_some() {
                    Role::Customer
                } else {
                    Role::Agent
                };
                diesel::insert_into(users::table)
                    .values(NewUser {
                        email: &a.email,
                        email_key: &key,
                        name: &a.name,
                        role: role.as_str(),
                        organisation_id,
                        password_hash: None,
                        disabled: false,
                        time_zone: "Europe/London",
                        created_at: naive(now),
                    })
                    .execute(c)?;
                let u = crate::store::find::user_by_email_key(c, &key)?
                    .ok_or_else(|| AppError::internal("the new account is not there"))?;
                audit(
                    c,
                    &caller.who,
                    "user.create",
                    &format!("user:{}", a.email),
                    Some(&format!("{} (scim)", role.as_str())),
                    now,
                )?;
                u
            }
        };
        if !a.name.is_empty() && a.name != user.name {
            diesel::update(users::table.find(user.id))
                .set(users::name.eq(&a.name))
                .execute(c)?;
        }
        if !a.active && !user.disabled {
            cut_off(c, user.id)?;
            audit(
                c,
                &caller.who,
                "user.deactivate",
                &format!("user:{}", a.email),
                Some("scim: sessions ended, tokens revoked"),
                now,
            )?;
        } else if a.active && user.disabled {
            diesel::update(users::table.find(user.id))
                .set(users::disabled.eq(false))
                .execute(c)?;
            audit(
                c,
                &caller.who,
                "user.activate",
                &format!("user:{}", a.email),
                Some("scim"),
                now,
            )?;
        }
        Ok((name_key, Some(user.id)))
    }

    /// Staff groups to the desk: a group named after a role sets its
    /// members' role (the highest such group wins; out of all of them, an
    /// agent), a group named after a queue's slug is that queue's
    /// provisioned members.
    pub(super) fn scim_groups_to_desk(
        &self,
        c: &mut DbConnection,
        caller: &ScimCaller,
        now: DateTime<Utc>,
    ) -> Result<(), ScimError> {
        if caller.realm != Realm::Staff {
            return Ok(());
        }
        let resources: Vec<(String, String, Option<i64>, String)> = scim_resources::table
            .filter(scim_resources::realm.eq("staff"))
            .select((
                scim_resources::id,
                scim_resources::resource_type,
                scim_resources::user_id,
                scim_resources::document,
            ))
            .load(c)?;
        let user_of: std::collections::HashMap<&str, i64> = resources
            .iter()
            .filter_map(|(id, _, u, _)| u.map(|u| (id.as_str(), u)))
            .collect();
        let role_of = |name: &str| match name.to_lowercase().trim_end_matches('s') {
            "admin" => Some(Role::Admin),
            "manager" => Some(Role::Manager),
            "agent" => Some(Role::Agent),
            _ => None,
        };
        let mut best: std::collections::HashMap<i64, Role> = std::collections::HashMap::new();
        let mut any_role_group = false;
        let all_queues: Vec<(i64, String)> = queues::table.select((queues::id, queues::slug)).load(c)?;
        let mut queue_sets: Vec<(i64, Vec<i64>)> = Vec::new();
        for (_, _, _, text) in resources.iter().filter(|r| r.1 == "Group") {
            let g: Value = serde_json::from_str(text).unwrap_or_default();
            let name = str_at(&g, "displayName").unwrap_or_default().to_string();
            let members: Vec<i64> = g["members"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| str_at(m, "value").and_then(|v| user_of.get(v).copied()))
                .collect();
            if let Some(role) = role_of(&name) {
                any_role_group = true;
                for m in &members {
                    let rank = |r: Role| [Role::Agent, Role::Manager, Role::Admin].iter().position(|x| *x == r);
                    let e = best.entry(*m).or_insert(role);
                    if rank(role) > rank(*e) {
                        *e = role;
                    }
                }
            }
            if let Some((qid, _)) = all_queues.iter().find(|(_, slug)| slug.eq_ignore_ascii_case(&name)) {
                queue_sets.push((*qid, members));
            }
        }
        let provisioned: Vec<i64> = user_of.values().copied().collect();
        if any_role_group {
            for uid in &provisioned {
                let role = best.get(uid).copied().unwrap_or(Role::Agent);
                let was: String = users::table.find(uid).select(users::role).first(c)?;
                if was != role.as_str() {
                    diesel::update(users::table.find(uid))
                        .set(users::role.eq(role.as_str()))
                        .execute(c)?;
                    audit(
                        c,
                        &caller.who,
                        "user.role_changed",
                        &format!("user_id:{uid}"),
                        Some(&format!("{was} -> {} (scim group)", role.as_str())),
                        now,
                    )?;
                }
            }
        }
        for (qid, members) in queue_sets {
            diesel::delete(
                queue_members::table
                    .filter(queue_members::queue_id.eq(qid))
                    .filter(queue_members::user_id.eq_any(&provisioned)),
            )
            .execute(c)?;
            for m in members {
                diesel::insert_into(queue_members::table)
                    .values((queue_members::queue_id.eq(qid), queue_members::user_id.eq(m)))
                    .execute(c)?;
            }
        }
        Ok(())
    }
}
