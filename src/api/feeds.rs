//! The status page as feeds: an Atom feed of every public update (RFC
//! 4287, written by `atom_syndication`) for feed readers and chat
//! integrations, and an iCalendar feed of maintenance (RFC 5545, written by
//! `icalendar`) that calendars subscribe to. Who may read them is the
//! status page's rule: the public while it is public (no organisation
//! named, nothing recorded for named customers alone), a customer with a
//! token their own organisation's.

use chrono::{DateTime, Utc};

use crate::app::outages::StatusEvent;
use crate::domain::availability::OutageKind;

/// Outages the feeds look back over: the latest by start.
const FEED_OUTAGES: i64 = 50;

/// An update's stable id: the outage and the update's place in it.
fn entry_id(host: &str, outage: i64, n: usize) -> String {
    format!("tag:{host},2026:outage-{outage}-update-{n}")
}

pub(super) fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "sladesk".into())
}

fn status_words(s: &str) -> &'static str {
    s.parse::<crate::domain::outage_status::OutageStatus>()
        .map_or("Update", |s| s.title())
}

/// The Atom feed: one entry per public update, newest first, and one for
/// an outage with no update yet (what it is, as customers are told).
pub(super) fn atom(events: &[StatusEvent], page: &str, self_url: &str, now: DateTime<Utc>) -> String {
    use atom_syndication::{Content, Entry, Feed, Link, Person, Text};
    let host = host_of(page);
    let link = |href: &str, rel: &str| {
        let mut l = Link::default();
        l.set_href(href);
        l.set_rel(rel);
        l
    };
    let mut entries: Vec<(DateTime<Utc>, i64, usize, Entry)> = Vec::new();
    for e in events {
        let anchor = format!("{page}#outage-{}", e.id);
        let mut push = |at: DateTime<Utc>, n: usize, title: String, body: &str| {
            let mut entry = Entry::default();
            entry.set_id(entry_id(&host, e.id, n));
            entry.set_title(Text::plain(title));
            entry.set_updated(at.fixed_offset());
            entry.set_published(Some(at.fixed_offset()));
            entry.set_links(vec![link(&anchor, "alternate")]);
            let mut content = Content::default();
            content.set_content_type(Some("text".to_string()));
            content.set_value(Some(body.to_string()));
            entry.set_content(Some(content));
            entries.push((at, e.id, n, entry));
        };
        if e.updates.is_empty() {
            push(e.start, 0, e.name.clone(), &e.description);
        }
        for (i, u) in e.updates.iter().enumerate() {
            let title = format!("{} — {}", e.name, status_words(&u.status));
            push(u.at, i + 1, title, &u.body);
        }
    }
    // Newest first; in the same second, the later outage's and the later
    // update first (outage ids and updates' places both grow with time).
    entries.sort_by_key(|e| std::cmp::Reverse((e.0, e.1, e.2)));
    entries.truncate(FEED_OUTAGES as usize);
    let updated = entries.first().map_or(now, |e| e.0);
    let mut author = Person::default();
    author.set_name("Service desk");
    let mut feed = Feed::default();
    feed.set_id(format!("tag:{host},2026:status"));
    feed.set_title(Text::plain("Service status"));
    feed.set_updated(updated.fixed_offset());
    feed.set_authors(vec![author]);
    feed.set_links(vec![link(page, "alternate"), link(self_url, "self")]);
    feed.set_lang(Some("en-GB".to_string()));
    feed.set_entries(entries.into_iter().map(|e| e.3).collect::<Vec<_>>());
    feed.to_string()
}

/// The iCalendar feed: one event per maintenance window, with its status
/// and the latest word on it; the sequence moves with every update, so a
/// calendar that holds it replaces its copy.
pub(super) fn calendar(events: &[StatusEvent], page: &str) -> String {
    use icalendar::{Calendar, Component, Event, EventLike, EventStatus};
    let host = host_of(page);
    let mut cal = Calendar::new();
    cal.name("Service maintenance");
    cal.description("Maintenance on the services, planned and emergency");
    cal.ttl(&chrono::Duration::hours(1));
    for e in events {
        let mut ev = Event::new();
        let last = e.updates.last().map_or(e.start, |u| u.at);
        let mut text = e.description.clone();
        if let Some(u) = e.updates.last() {
            text = format!("{text}\n\n{}: {}", status_words(&u.status), u.body);
        }
        ev.uid(&format!("outage-{}@{host}", e.id))
            .summary(&e.name)
            .description(&text)
            .starts(e.start)
            // Without a known end, an hour is held: the window as announced.
            .ends(e.end.unwrap_or(e.start + chrono::Duration::hours(1)))
            .timestamp(last)
            .last_modified(last)
            .sequence(e.updates.len() as u32)
            .url(&format!("{page}#outage-{}", e.id))
            .status(EventStatus::Confirmed);
        cal.push(ev.done());
    }
    // RFC 5545 asks for CRLF line ends; the crate writes them.
    cal.done().to_string()
}

/// The maintenance an iCalendar feed holds: planned and emergency.
pub(super) const MAINTENANCE: [OutageKind; 2] = [OutageKind::PlannedMaintenance, OutageKind::EmergencyMaintenance];

/// Every kind: what the Atom feed tells of.
pub(super) const EVERY_KIND: [OutageKind; 3] = OutageKind::ALL;

/// How many outages a feed looks back over.
pub(super) const LOOK_BACK: i64 = FEED_OUTAGES;
