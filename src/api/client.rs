//! Who is at the other end of a request: the client's address and whether
//! it came over HTTPS. Behind a reverse proxy every request arrives from
//! the proxy, which says in `Forwarded` or `X-Forwarded-For` /
//! `X-Forwarded-Proto` whom it is passing on; anyone else can write those
//! headers too, so they are believed only from the addresses in
//! `trusted_proxies`. sladesk serves plain HTTP itself, so a request is
//! HTTPS only when a trusted proxy says so.

use std::net::IpAddr;

use actix_web::HttpRequest;
use actix_web::http::header::HeaderMap;
use ipnet::IpNet;

/// The client as far as this server can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub addr: Option<IpAddr>,
    pub https: bool,
}

impl Client {
    /// The client of a request, given the proxies this server trusts.
    pub fn of(req: &HttpRequest) -> Client {
        let trusted = req
            .app_data::<super::State>()
            .map(|app| app.trusted_proxies())
            .unwrap_or_default();
        Client::from_parts(req.peer_addr().map(|a| a.ip()), req.headers(), &trusted)
    }

    /// The client's address as text, for logs and throttles; `None` when the
    /// peer is unknown.
    pub fn addr_text(&self) -> Option<String> {
        self.addr.map(|a| a.to_string())
    }

    /// The rule itself, apart from actix: from a trusted peer, the nearest
    /// forwarded address that is not itself a trusted proxy (a client can
    /// prepend anything it likes to the list, so it is read from the
    /// right) and the proxy's word on the scheme.
    pub fn from_parts(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Client {
        let is_trusted = |a: &IpAddr| trusted.iter().any(|n| n.contains(a));
        let Some(peer) = peer else {
            return Client {
                addr: None,
                https: false,
            };
        };
        if !is_trusted(&peer) {
            return Client {
                addr: Some(peer),
                https: false,
            };
        }
        let (hops, proto) = forwarded(headers);
        let addr = hops.iter().rev().find(|a| !is_trusted(a)).copied().or(Some(peer));
        Client {
            addr,
            https: proto.is_some_and(|p| p.eq_ignore_ascii_case("https")),
        }
    }
}

/// The forwarded-for addresses, nearest last, and the scheme the nearest
/// proxy reports: RFC 7239 `Forwarded` if present, else the `X-Forwarded-*`
/// pair.
fn forwarded(headers: &HeaderMap) -> (Vec<IpAddr>, Option<String>) {
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let standard = values("forwarded");
    if !standard.is_empty() {
        let mut hops = Vec::new();
        let mut proto = None;
        for element in &standard {
            for pair in element.split(';') {
                let Some((k, v)) = pair.split_once('=') else { continue };
                let v = v.trim().trim_matches('"');
                match k.trim().to_ascii_lowercase().as_str() {
                    "for" => hops.extend(parse_node(v)),
                    "proto" => proto = Some(v.to_string()),
                    _ => {}
                }
            }
        }
        return (hops, proto);
    }
    let hops = values("x-forwarded-for").iter().filter_map(|s| parse_node(s)).collect();
    let proto = values("x-forwarded-proto").last().cloned();
    (hops, proto)
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`,
/// `[2001:db8::1]` or `[2001:db8::1]:4711`.
fn parse_node(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    if let Ok(a) = s.parse() {
        return Some(a);
    }
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    s.rsplit_once(':').and_then(|(a, _)| a.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn forwarded_headers_are_believed_only_from_a_trusted_proxy() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let h = headers(&[("x-forwarded-for", "203.0.113.9"), ("x-forwarded-proto", "https")]);
        let from_proxy = Client::from_parts(ip("10.1.2.3"), &h, &trusted);
        assert_eq!(from_proxy.addr, ip("203.0.113.9"));
        assert!(from_proxy.https);
        let from_stranger = Client::from_parts(ip("198.51.100.7"), &h, &trusted);
        assert_eq!(from_stranger.addr, ip("198.51.100.7"));
        assert!(!from_stranger.https);
    }

    #[test]
    fn a_client_cannot_hide_behind_an_address_it_prepends() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        // The client sent "1.2.3.4" itself; the proxy appended the real one.
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.9, 10.0.0.2")]);
        let c = Client::from_parts(ip("10.0.0.1"), &h, &trusted);
        assert_eq!(c.addr, ip("203.0.113.9"));
    }

    #[test]
    fn the_standard_header_wins_and_its_forms_are_read() {
        let trusted: Vec<IpNet> = vec!["127.0.0.1/32".parse().unwrap()];
        let h = headers(&[
            ("forwarded", "for=\"[2001:db8::1]:4711\";proto=https"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        let c = Client::from_parts(ip("127.0.0.1"), &h, &trusted);
        assert_eq!(c.addr, ip("2001:db8::1"));
        assert!(c.https);
        assert_eq!(parse_node("192.0.2.1:80"), ip("192.0.2.1"));
        assert_eq!(parse_node("unknown"), None);
    }

    #[test]
    fn without_forwarding_the_peer_is_the_client() {
        let trusted: Vec<IpNet> = vec!["127.0.0.1/32".parse().unwrap()];
        let c = Client::from_parts(ip("127.0.0.1"), &HeaderMap::new(), &trusted);
        assert_eq!(c.addr, ip("127.0.0.1"));
        assert!(!c.https);
    }
}
