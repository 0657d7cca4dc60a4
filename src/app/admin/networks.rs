//! IP allow-lists: the networks an organisation's contacts may use the
//! pages and the API from, and the staff's own list. An empty list allows
//! any address. The client's address is the one `api::client` reads
//! (forwarded addresses believed from `trusted_proxies` only). Lists are
//! read through a cache of `NETWORK_CACHE_SECONDS`, so a change reaches the
//! other processes within that; the process that made it sees it at once.
//! Admins set them (audited with the list before); an admin cannot set a
//! staff list that leaves out the address they are using. The operator at
//! a terminal (`sladesk networks`) is never refused: the way back in.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::super::{App, AppError, Principal, Role, audit, invalid, naive};
use crate::store::DbConnection;
use crate::store::schema::{allowed_networks, organisations};

/// How long a process trusts the lists it read.
pub const NETWORK_CACHE_SECONDS: i64 = 30;

/// A list as one process read it, and when.
pub type CachedNetworks = (Arc<Vec<IpNet>>, DateTime<Utc>);

/// The most networks one list holds.
pub const MAX_NETWORKS: usize = 200;

/// Whose list: the staff's, or one organisation's (by slug).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkScope {
    Staff,
    Organisation(String),
}

/// A list as the API reads and writes it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Networks {
    /// CIDRs (`10.0.0.0/8`) or single addresses; empty: any address.
    pub networks: Vec<String>,
}

/// A CIDR, or a single address standing for itself.
pub fn parse_network(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map(|n| n.trunc())
        .map_err(|_| format!("'{s}': expected an address or a CIDR such as 10.0.0.0/8"))
}

impl App {
    fn scope_key(&self, c: &mut DbConnection, scope: &NetworkScope) -> Result<(String, String), AppError> {
        Ok(match scope {
            NetworkScope::Staff => ("staff".into(), "the staff".into()),
            NetworkScope::Organisation(slug) => {
                let (id, name): (i64, String) = organisations::table
                    .filter(organisations::slug.eq(slug))
                    .select((organisations::id, organisations::name))
                    .first(c)
                    .optional()?
                    .ok_or_else(|| AppError::NotFound(format!("organisation '{slug}'")))?;
                (format!("org:{id}"), name)
            }
        })
    }

    /// A list (admins and managers).
    pub fn networks(&self, who: &Principal, scope: &NetworkScope) -> Result<Networks, AppError> {
        who.require_manager()?;
        let mut conn = self.conn()?;
        let (key, _) = self.scope_key(&mut conn, scope)?;
        Ok(Networks {
            networks: stored(&mut conn, &key)?.iter().map(|n| n.to_string()).collect(),
        })
    }

    /// Replaces a list (admins), audited with what it was.
    pub fn set_networks(
        &self,
        who: &Principal,
        scope: &NetworkScope,
        list: &Networks,
        now: DateTime<Utc>,
    ) -> Result<Networks, AppError> {
        if who.user_id > 0 {
            who.require_admin()?;
        }
        if list.networks.len() > MAX_NETWORKS {
            return Err(invalid("networks", format!("at most {MAX_NETWORKS}")));
        }
        let mut nets: Vec<IpNet> = list
            .networks
            .iter()
            .map(|s| parse_network(s).map_err(|e| invalid("networks", e)))
            .collect::<Result<_, _>>()?;
        nets.sort();
        nets.dedup();
        // An admin cannot shut themselves out by mistake; the operator at a
        // terminal can always undo it.
        if scope == &NetworkScope::Staff
            && who.user_id > 0
            && !nets.is_empty()
            && !allowed(&nets, who.remote_addr.as_deref())
        {
            return Err(invalid(
                "networks",
                format!(
                    "the list leaves out the address you are using ({}): add it, or you are locked out",
                    who.remote_addr.as_deref().unwrap_or("unknown")
                ),
            ));
        }
        let mut conn = self.conn()?;
        let key = conn.write(|c| {
            let (key, _) = self.scope_key(c, scope)?;
            let before: Vec<String> = stored(c, &key)?.iter().map(|n| n.to_string()).collect();
            diesel::delete(allowed_networks::table.filter(allowed_networks::scope.eq(&key))).execute(c)?;
            for n in &nets {
                diesel::insert_into(allowed_networks::table)
                    .values((
                        allowed_networks::scope.eq(&key),
                        allowed_networks::cidr.eq(n.to_string()),
                        allowed_networks::added_by.eq(who.actor_id()),
                        allowed_networks::added_at.eq(naive(now)),
                    ))
                    .execute(c)?;
            }
            let after: Vec<String> = nets.iter().map(|n| n.to_string()).collect();
            let detail = serde_json::json!({"before": before, "after": after}).to_string();
            audit(c, who, "networks.set", &key, Some(&detail), now)?;
            Ok::<_, AppError>(key)
        })?;
        self.networks_changed(&key);
        Ok(Networks {
            networks: nets.iter().map(|n| n.to_string()).collect(),
        })
    }

    /// Whether `who` may be served from where they are: refused with why.
    /// Read in the caller's connection (a second one from the pool, while
    /// the first is held, could wait on a busy pool).
    pub(crate) fn check_network(
        &self,
        c: &mut DbConnection,
        who: &Principal,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        if who.user_id <= 0 {
            return Ok(());
        }
        let key = match (who.role, who.organisation_id) {
            (Role::Customer, Some(org)) => format!("org:{org}"),
            (Role::Customer, None) => return Ok(()),
            _ => "staff".to_string(),
        };
        let nets = match self.cached_networks(&key, now) {
            Some(n) => n,
            None => {
                let n = Arc::new(stored(c, &key)?);
                self.network_cache
                    .write()
                    .expect("lock")
                    .insert(key.clone(), (n.clone(), now));
                n
            }
        };
        if nets.is_empty() || allowed(&nets, who.remote_addr.as_deref()) {
            return Ok(());
        }
        let whose = if key == "staff" { "staff" } else { "your organisation" };
        Err(AppError::Forbidden(format!(
            "requests from {} are not allowed for {whose}: its allow-list names the networks it may be used from",
            who.remote_addr.as_deref().unwrap_or("an unknown address")
        )))
    }

    /// The list for `key` if this process read it lately.
    pub(crate) fn cached_networks(&self, key: &str, now: DateTime<Utc>) -> Option<Arc<Vec<IpNet>>> {
        let cache = self.network_cache.read().expect("lock");
        let (n, at) = cache.get(key)?;
        (now - *at < Duration::seconds(NETWORK_CACHE_SECONDS)).then(|| n.clone())
    }

    /// `check_network` from the cache alone (no store: for the token cache's
    /// fast path); `None` when the list is not cached.
    pub(crate) fn network_allows_cached(&self, who: &Principal, now: DateTime<Utc>) -> Option<bool> {
        if who.user_id <= 0 {
            return Some(true);
        }
        let key = match (who.role, who.organisation_id) {
            (Role::Customer, Some(org)) => format!("org:{org}"),
            (Role::Customer, None) => return Some(true),
            _ => "staff".to_string(),
        };
        let nets = self.cached_networks(&key, now)?;
        Some(nets.is_empty() || allowed(&nets, who.remote_addr.as_deref()))
    }
}

fn stored(c: &mut DbConnection, key: &str) -> Result<Vec<IpNet>, AppError> {
    let rows: Vec<String> = allowed_networks::table
        .filter(allowed_networks::scope.eq(key))
        .order(allowed_networks::cidr)
        .select(allowed_networks::cidr)
        .load(c)?;
    rows.iter()
        .map(|r| parse_network(r).map_err(AppError::internal))
        .collect()
}

fn allowed(nets: &[IpNet], addr: Option<&str>) -> bool {
    addr.and_then(|a| a.parse::<IpAddr>().ok())
        .is_some_and(|a| nets.iter().any(|n| n.contains(&a)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_read_as_cidrs_or_single_addresses() {
        assert_eq!(parse_network("10.1.2.3/8").unwrap().to_string(), "10.0.0.0/8");
        assert_eq!(parse_network(" 192.0.2.7 ").unwrap().to_string(), "192.0.2.7/32");
        assert_eq!(parse_network("2001:db8::1").unwrap().to_string(), "2001:db8::1/128");
        assert!(parse_network("10.0.0.0/33").is_err());
        let nets = [parse_network("127.0.0.1").unwrap()];
        assert!(allowed(&nets, Some("127.0.0.1")));
        assert!(!allowed(&nets, Some("127.0.0.2")));
        assert!(!allowed(&nets, None), "an unknown address is not in any list");
    }
}
