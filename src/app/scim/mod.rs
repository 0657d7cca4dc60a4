//! SCIM 2.0 provisioning (RFC 7643, 7644): an identity provider (Entra
//! ID, Okta) makes, changes, deactivates and removes the desk's accounts,
//! and groups them, through `/scim/v2`. A token of scope `scim` provisions
//! the staff; `scim:<slug>` an organisation's contacts. Neither reaches the
//! other's accounts.
//!
//! Each resource is kept as the document the provider sent, so what it
//! reads back is what it wrote; what the desk needs from it (the address,
//! the name, whether active) is applied to the account in the same
//! transaction. Deactivating an account ends its sessions and revokes its
//! tokens at once. Staff groups named after a role (`Agents`, `Managers`,
//! `Admins`) set roles; a group named after a queue's slug is its members.

mod desk;

use desk::cut_off;
pub mod patch;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::{Map, Value, json};

use super::{App, AppError, Principal, audit, naive, utc};
use crate::store::DbConnection;
use crate::store::schema::{organisations, scim_resources};

pub use patch::ScimFault;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// Whose accounts a SCIM token provisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Realm {
    Staff,
    Organisation { id: i64, slug: String },
}

impl Realm {
    fn key(&self) -> String {
        match self {
            Realm::Staff => "staff".into(),
            Realm::Organisation { id, .. } => format!("org:{id}"),
        }
    }
}

/// A SCIM caller: the realm, and the token's user for the audit log.
#[derive(Debug, Clone)]
pub struct ScimCaller {
    pub realm: Realm,
    pub who: Principal,
}

/// `User` or `Group`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    User,
    Group,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::User => "User",
            Kind::Group => "Group",
        }
    }

    fn schema(self) -> &'static str {
        match self {
            Kind::User => USER_SCHEMA,
            Kind::Group => GROUP_SCHEMA,
        }
    }

    fn endpoint(self) -> &'static str {
        match self {
            Kind::User => "Users",
            Kind::Group => "Groups",
        }
    }
}

/// A SCIM error: HTTP status, `scimType`, detail.
#[derive(Debug, Clone)]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

pub(super) fn bad(scim_type: &'static str, detail: impl Into<String>) -> ScimError {
    ScimError {
        status: 400,
        scim_type: Some(scim_type),
        detail: detail.into(),
    }
}

fn not_found(kind: Kind, id: &str) -> ScimError {
    ScimError {
        status: 404,
        scim_type: None,
        detail: format!("{} {id} not found", kind.name()),
    }
}

pub(super) fn taken(detail: impl Into<String>) -> ScimError {
    ScimError {
        status: 409,
        scim_type: Some("uniqueness"),
        detail: detail.into(),
    }
}

impl From<ScimFault> for ScimError {
    fn from(f: ScimFault) -> Self {
        bad(f.scim_type, f.detail)
    }
}

impl From<AppError> for ScimError {
    fn from(e: AppError) -> Self {
        let (status, scim_type) = match &e {
            AppError::NotFound(_) => (404, None),
            AppError::Invalid { .. } | AppError::NotForCaller { .. } => (400, Some("invalidValue")),
            AppError::Conflict(_) => (409, Some("uniqueness")),
            AppError::Unauthenticated(_) => (401, None),
            AppError::Forbidden(_) => (403, None),
            AppError::RateLimited(..) => (429, None),
            AppError::Store(_) => (503, None),
            AppError::Command(_) | AppError::Internal(_) => (500, None),
        };
        if status == 500 {
            tracing::error!(error = %e, "scim");
        }
        ScimError {
            status,
            scim_type,
            detail: if status == 500 {
                "internal error".into()
            } else {
                e.to_string()
            },
        }
    }
}

impl From<diesel::result::Error> for ScimError {
    fn from(e: diesel::result::Error) -> Self {
        AppError::from(e).into()
    }
}

pub(super) type Row = (
    String,
    Option<i64>,
    String,
    i64,
    chrono::NaiveDateTime,
    chrono::NaiveDateTime,
);

fn new_id() -> String {
    let mut raw = [0u8; 16];
    rand::fill(&mut raw);
    let h: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// An attribute's text, its name matched without regard to case.
pub(super) fn str_at<'a>(v: &'a Value, attr: &str) -> Option<&'a str> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(attr))
        .and_then(|(_, v)| v.as_str())
}

/// The attributes a client may set: everything but what the server owns.
fn clean(mut body: Value) -> Value {
    if let Value::Object(m) = &mut body {
        m.retain(|k, _| !["id", "meta", "schemas"].iter().any(|x| x.eq_ignore_ascii_case(k)));
    }
    body
}

fn render(
    kind: Kind,
    id: &str,
    doc: &Value,
    version: i64,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
    base: &str,
) -> Value {
    let mut out = Map::new();
    out.insert("schemas".into(), json!([kind.schema()]));
    out.insert("id".into(), json!(id));
    if let Value::Object(m) = doc {
        for (k, v) in m {
            out.insert(k.clone(), v.clone());
        }
    }
    out.insert(
        "meta".into(),
        json!({
            "resourceType": kind.name(),
            "created": created,
            "lastModified": updated,
            "location": format!("{base}/scim/v2/{}/{id}", kind.endpoint()),
            "version": format!("W/\"{version}\""),
        }),
    );
    Value::Object(out)
}

impl App {
    /// The realm a SCIM token provisions (`scim` or `scim:<slug>`).
    pub fn authenticate_scim(
        &self,
        token: &str,
        remote: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<ScimCaller, AppError> {
        let mut conn = self.conn()?;
        let (tok, user) = super::admin::live_token(&mut conn, token, now)?;
        let realm = match tok.scope.as_str() {
            "scim" => Realm::Staff,
            s if s.starts_with("scim:") => {
                let slug = &s[5..];
                let id: i64 = organisations::table
                    .filter(organisations::slug.eq(slug))
                    .select(organisations::id)
                    .first(&mut conn)
                    .optional()?
                    .ok_or_else(|| AppError::Unauthenticated(format!("the token's organisation '{slug}' is gone")))?;
                Realm::Organisation {
                    id,
                    slug: slug.to_string(),
                }
            }
            _ => {
                return Err(AppError::Forbidden(
                    "this takes a token with scope scim or scim:<organisation>".into(),
                ));
            }
        };
        let who = Principal::of_user(&user, remote)?;
        self.check_network(&mut conn, &who, now)?;
        Ok(ScimCaller { realm, who })
    }

    fn scim_row(
        &self,
        c: &mut DbConnection,
        caller: &ScimCaller,
        kind: Kind,
        id: &str,
    ) -> Result<(Row, Value), ScimError> {
        let row: Row = scim_resources::table
            .find(id)
            .filter(scim_resources::resource_type.eq(kind.name()))
            .filter(scim_resources::realm.eq(caller.realm.key()))
            .select((
                scim_resources::id,
                scim_resources::user_id,
                scim_resources::document,
                scim_resources::version,
                scim_resources::created_at,
                scim_resources::updated_at,
            ))
            .first(c)
            .optional()?
            .ok_or_else(|| not_found(kind, id))?;
        let doc: Value = serde_json::from_str(&row.2).map_err(|e| ScimError::from(AppError::internal(e)))?;
        Ok((row, doc))
    }

    fn scim_render(&self, kind: Kind, row: &Row, doc: &Value) -> Value {
        render(kind, &row.0, doc, row.3, utc(row.4), utc(row.5), &self.page_url(""))
    }

    /// One resource.
    pub fn scim_get(&self, caller: &ScimCaller, kind: Kind, id: &str) -> Result<Value, ScimError> {
        let mut conn = self.conn()?;
        let (row, doc) = self.scim_row(&mut conn, caller, kind, id)?;
        Ok(self.scim_render(kind, &row, &doc))
    }

    /// A page of the realm's resources of a kind that meet the filter:
    /// the total, and the page (`start` counts from 1).
    pub fn scim_list(
        &self,
        caller: &ScimCaller,
        kind: Kind,
        filter: Option<&str>,
        start: usize,
        count: usize,
    ) -> Result<(usize, Vec<Value>), ScimError> {
        let f = filter
            .filter(|f| !f.trim().is_empty())
            .map(patch::parse_filter)
            .transpose()?;
        let mut conn = self.conn()?;
        let rows: Vec<Row> = scim_resources::table
            .filter(scim_resources::resource_type.eq(kind.name()))
            .filter(scim_resources::realm.eq(caller.realm.key()))
            .order(scim_resources::created_at)
            .then_order_by(scim_resources::id)
            .select((
                scim_resources::id,
                scim_resources::user_id,
                scim_resources::document,
                scim_resources::version,
                scim_resources::created_at,
                scim_resources::updated_at,
            ))
            // A realm's directory is bounded by what one provider syncs;
            // past this, filter.
            .limit(10_000)
            .load(&mut conn)?;
        let all: Vec<Value> = rows
            .iter()
            .filter_map(|r| {
                serde_json::from_str::<Value>(&r.2)
                    .ok()
                    .map(|d| self.scim_render(kind, r, &d))
            })
            .filter(|v| f.as_ref().is_none_or(|f| patch::matches(v, f)))
            .collect();
        let total = all.len();
        Ok((total, all.into_iter().skip(start.max(1) - 1).take(count).collect()))
    }

    /// Makes a resource from a provider's document.
    pub fn scim_create(
        &self,
        caller: &ScimCaller,
        kind: Kind,
        body: Value,
        now: DateTime<Utc>,
    ) -> Result<Value, ScimError> {
        let doc = clean(body);
        let id = new_id();
        let mut conn = self.conn()?;
        let (row, doc) = conn.write(|c| -> Result<(Row, Value), ScimError> {
            let (name_key, user_id) = self.scim_apply(c, caller, kind, &id, None, &doc, now)?;
            diesel::insert_into(scim_resources::table)
                .values((
                    scim_resources::id.eq(&id),
                    scim_resources::resource_type.eq(kind.name()),
                    scim_resources::realm.eq(caller.realm.key()),
                    scim_resources::user_id.eq(user_id),
                    scim_resources::name_key.eq(&name_key),
                    scim_resources::external_id.eq(str_at(&doc, "externalId")),
                    scim_resources::document.eq(doc.to_string()),
                    scim_resources::version.eq(1),
                    scim_resources::created_at.eq(naive(now)),
                    scim_resources::updated_at.eq(naive(now)),
                ))
                .execute(c)?;
            audit(
                c,
                &caller.who,
                &format!("scim.{}.create", kind.name().to_lowercase()),
                &format!("scim:{id}"),
                Some(&name_key),
                now,
            )?;
            self.scim_groups_to_desk(c, caller, now)?;
            Ok(((id.clone(), user_id, String::new(), 1, naive(now), naive(now)), doc))
        })?;
        // An account linked inactive must not ride on a cached token.
        self.tokens_changed();
        Ok(self.scim_render(kind, &row, &doc))
    }

    /// Replaces a resource's document (PUT).
    pub fn scim_replace(
        &self,
        caller: &ScimCaller,
        kind: Kind,
        id: &str,
        body: Value,
        now: DateTime<Utc>,
    ) -> Result<Value, ScimError> {
        self.scim_change(caller, kind, id, now, |_| Ok(clean(body)))
    }

    /// Applies PATCH operations.
    pub fn scim_patch(
        &self,
        caller: &ScimCaller,
        kind: Kind,
        id: &str,
        body: Value,
        now: DateTime<Utc>,
    ) -> Result<Value, ScimError> {
        let ops = body
            .as_object()
            .and_then(|m| m.iter().find(|(k, _)| k.eq_ignore_ascii_case("Operations")))
            .and_then(|(_, v)| v.as_array().cloned())
            .ok_or_else(|| bad("invalidSyntax", "a PatchOp has Operations"))?;
        self.scim_change(caller, kind, id, now, move |doc| {
            let mut doc = doc;
            for op in &ops {
                let name = str_at(op, "op").ok_or_else(|| bad("invalidSyntax", "an operation has an op"))?;
                let path = str_at(op, "path");
                let value = op
                    .as_object()
                    .and_then(|m| m.iter().find(|(k, _)| k.eq_ignore_ascii_case("value")))
                    .map(|(_, v)| v.clone());
                // Entra ID sends booleans as strings ("False").
                let value = match value {
                    Some(Value::String(s)) if path.is_some_and(|p| p.eq_ignore_ascii_case("active")) => {
                        Some(Value::Bool(s.eq_ignore_ascii_case("true")))
                    }
                    v => v,
                };
                patch::apply(&mut doc, name, path, value)?;
            }
            Ok(clean(doc))
        })
    }

    fn scim_change(
        &self,
        caller: &ScimCaller,
        kind: Kind,
        id: &str,
        now: DateTime<Utc>,
        f: impl FnOnce(Value) -> Result<Value, ScimError>,
    ) -> Result<Value, ScimError> {
        let mut conn = self.conn()?;
        let (row, doc) = conn.write(|c| -> Result<(Row, Value), ScimError> {
            let (row, old) = self.scim_row(c, caller, kind, id)?;
            let doc = f(old.clone())?;
            let (name_key, user_id) = self.scim_apply(c, caller, kind, id, Some((&row, &old)), &doc, now)?;
            diesel::update(scim_resources::table.find(id))
                .set((
                    scim_resources::document.eq(doc.to_string()),
                    scim_resources::name_key.eq(&name_key),
                    scim_resources::user_id.eq(user_id),
                    scim_resources::external_id.eq(str_at(&doc, "externalId")),
                    scim_resources::version.eq(row.3 + 1),
                    scim_resources::updated_at.eq(naive(now)),
                ))
                .execute(c)?;
            audit(
                c,
                &caller.who,
                &format!("scim.{}.update", kind.name().to_lowercase()),
                &format!("scim:{id}"),
                Some(&name_key),
                now,
            )?;
            self.scim_groups_to_desk(c, caller, now)?;
            Ok(((row.0, user_id, String::new(), row.3 + 1, row.4, naive(now)), doc))
        })?;
        self.tokens_changed();
        Ok(self.scim_render(kind, &row, &doc))
    }

    /// Removes a resource: a User's account is deactivated (its tickets
    /// stay theirs), and it leaves every group.
    pub fn scim_delete(&self, caller: &ScimCaller, kind: Kind, id: &str, now: DateTime<Utc>) -> Result<(), ScimError> {
        let mut conn = self.conn()?;
        conn.write(|c| -> Result<(), ScimError> {
            let (row, _) = self.scim_row(c, caller, kind, id)?;
            if let Some(u) = row.1 {
                cut_off(c, u)?;
            }
            diesel::delete(scim_resources::table.find(id)).execute(c)?;
            if kind == Kind::User {
                // Out of every group of the realm.
                let groups: Vec<(String, String)> = scim_resources::table
                    .filter(scim_resources::resource_type.eq("Group"))
                    .filter(scim_resources::realm.eq(caller.realm.key()))
                    .select((scim_resources::id, scim_resources::document))
                    .load(c)?;
                for (gid, text) in groups {
                    let mut g: Value = serde_json::from_str(&text).unwrap_or_default();
                    if patch::apply(&mut g, "remove", Some(&format!("members[value eq \"{id}\"]")), None).is_ok() {
                        diesel::update(scim_resources::table.find(&gid))
                            .set(scim_resources::document.eq(g.to_string()))
                            .execute(c)?;
                    }
                }
            }
            audit(
                c,
                &caller.who,
                &format!("scim.{}.delete", kind.name().to_lowercase()),
                &format!("scim:{id}"),
                None,
                now,
            )?;
            self.scim_groups_to_desk(c, caller, now)?;
            Ok(())
        })?;
        self.tokens_changed();
        Ok(())
    }
}
