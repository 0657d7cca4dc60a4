//! Loading a month for its report: each ticket replayed from its events up
//! to the month's end and put through the core, the organisation's outages
//! and upstream credits, and its policy's credit schedule. Every scope's
//! report (each organisation's and the whole desk's) comes out of one
//! computation, so they agree. A month is provisional, computed on every
//! read, until it is closed; then its versions are kept (`versions`), and
//! the monthly job mails them (`mail`).

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use super::replica::Reads;
use super::{App, AppError, Principal, Role, naive};
use crate::domain::availability::{Month, availability};
use crate::domain::clock::sla;
use crate::domain::credits::{Breach, credits};
use crate::domain::holidays::Region;
use crate::domain::policy::{Policy, PolicyCalendars};
use crate::domain::report::{MonthlyReport, OrganisationSummary, Scope, TicketMonth, assemble};
use crate::domain::ticket::{Event, EventKind, SlaContext, Status, Ticket};
use crate::store::DbConnection;
use crate::store::models::Organisation;
use crate::store::schema::{organisations, ticket_events, tickets};

/// Ids per query: inside both backends' limits on binds.
const CHUNK: usize = 1000;

/// Working days after a month's end before the monthly job closes it.
pub const DEFAULT_CLOSE_AFTER: u32 = 5;

pub mod disputes;
mod itil;
mod mail;
pub mod versions;

pub use versions::{ReportRead, Standing};

impl App {
    /// Sets after how many working days a month's report closes.
    pub fn set_report_close_after(&self, working_days: u32) {
        self.report_close_after
            .store(working_days, std::sync::atomic::Ordering::Relaxed);
    }

    /// After how many working days a month's report closes.
    pub fn report_close_after(&self) -> u32 {
        self.report_close_after.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The month's report for one organisation (`Some(slug)`) or the whole
    /// desk (`None`), with its standing: provisional (computed now, from
    /// what is recorded now) until the month is closed, then the version
    /// kept (the latest, or `version`), and whether changes recorded since
    /// await a recompute. Reading writes nothing. Managers and admins see
    /// any; a customer only their own organisation's; agents none.
    pub fn monthly_report(
        &self,
        who: &Principal,
        organisation: Option<&str>,
        month: Month,
        version: Option<i32>,
        now: DateTime<Utc>,
    ) -> Result<ReportRead, AppError> {
        // A read that may lag the primary a little: the replica, if one is set.
        let mut conn = self.read_conn()?;
        let c = &mut *conn;
        let org = match organisation {
            Some(slug) => Some(self.organisation_by_slug(c, slug)?),
            None => None,
        };
        match who.role {
            Role::Manager | Role::Admin => {}
            Role::Customer => match &org {
                // The report names every ticket of the month: with tickets
                // shared among their requesters only, it goes to the
                // account contact by mail, not to every contact's screen.
                Some(o) if Some(o.id) == who.organisation_id && o.ticket_sharing == "own" => {
                    return Err(AppError::Forbidden(format!(
                        "{} shares tickets with their requesters and watchers only, so its monthly report is sent to its account contact",
                        o.name
                    )));
                }
                Some(o) if Some(o.id) == who.organisation_id => {}
                Some(o) => return Err(AppError::NotFound(format!("organisation '{}'", o.slug))),
                None => return Err(AppError::Forbidden("the whole desk's report is for managers".into())),
            },
            Role::Agent => return Err(AppError::Forbidden("reports are for managers".into())),
        }
        let scope = org.as_ref().map_or("*".to_string(), |o| o.slug.clone());
        let versions = versions::list(c, &scope, month)?;
        let staff = who.role.is_staff();
        let Some(latest) = versions.last() else {
            if let Some(v) = version {
                return Err(AppError::NotFound(format!(
                    "version {v} of the {month} report: the month is provisional, no version is kept yet"
                )));
            }
            let report = self.compute_report(c, org.as_ref(), month, now, Reads::Replica)?;
            let text = ReportJson(serde_json::to_string(&report).expect("a report serialises"));
            return Ok(ReportRead {
                report: text,
                standing: Standing::provisional(self.closes_on(month)),
                disputes: Vec::new(),
            });
        };
        let shown = match version {
            None => latest.version,
            Some(v) if versions.iter().any(|x| x.version == v) => v,
            Some(v) => {
                return Err(AppError::NotFound(format!(
                    "version {v} of the {month} report: versions 1 to {} are kept",
                    latest.version
                )));
            }
        };
        let text = versions::data(c, &scope, month, shown)?;
        let pending = versions::pending(c, &scope, month)?;
        let disputes = match &org {
            Some(o) => self.disputes_of(c, o.id, month)?,
            None => Vec::new(),
        };
        Ok(ReportRead {
            report: text,
            standing: Standing::closed(shown, &versions, &pending, staff),
            disputes,
        })
    }

    /// Computes the report afresh (nothing kept or read from a snapshot).
    pub fn compute_report(
        &self,
        c: &mut DbConnection,
        org: Option<&Organisation>,
        month: Month,
        now: DateTime<Utc>,
        reads: Reads,
    ) -> Result<MonthlyReport, AppError> {
        match org {
            Some(o) => Ok(self
                .compute_month(c, std::slice::from_ref(o), month, now, reads)?
                .0
                .remove(0)),
            None => {
                let all = organisations::table
                    .order(organisations::slug)
                    .select(Organisation::as_select())
                    .load(c)?;
                Ok(self.compute_month(c, &all, month, now, reads)?.1)
            }
        }
    }

    /// Each organisation's report and the whole desk's over them, reading
    /// and replaying every ticket once.
    pub(super) fn compute_month(
        &self,
        c: &mut DbConnection,
        orgs: &[Organisation],
        month: Month,
        now: DateTime<Utc>,
        reads: Reads,
    ) -> Result<(Vec<MonthlyReport>, MonthlyReport), AppError> {
        let as_of = now.min(month.end());
        let mut all = Vec::new();
        let (mut all_fulfilled, mut all_changes) = (Vec::new(), Vec::new());
        let mut reports = Vec::new();
        let mut summaries = Vec::new();
        let progress = self.progress();
        let steps = super::progress::Steps::begin(&*progress, &format!("{month} reports"), orgs.len() as u64);
        for o in orgs {
            steps.advance();
            let tickets = self.tickets_in_month(c, o, month, as_of, reads)?;
            let (avail, cr) = self.availability_and_credits(c, o, month, as_of, &tickets)?;
            summaries.push(OrganisationSummary {
                organisation: o.slug.clone(),
                availability_percent: avail.percent_text(),
                credits_pence: cr.as_ref().map_or(0, |c| c.total_pence),
            });
            reports.push(assemble(
                Scope {
                    organisation: Some(o.slug.clone()),
                    name: o.name.clone(),
                    policy: Some(o.tier.clone()),
                    targets: self.targets_of(&o.tier, month),
                    ticket_rows: true,
                },
                month,
                as_of,
                &tickets,
                Some(avail),
                cr,
                Vec::new(),
            ));
            let links = major_incident_links(c, &[o.id], month)?;
            let booked = time_booked(c, &[o.id], month)?;
            let fulfilled = self.fulfilled_in(c, o.id, month, as_of)?;
            let changes = self.changes_in(c, o.id, month)?;
            // The evidence behind each ticket-breach credit line.
            let mut counted: Vec<String> = cr_causes(reports.last());
            counted.dedup();
            let mut evidence = Vec::new();
            for reference in &counted {
                evidence.extend(self.breach_evidence(c, reference, month, as_of)?);
            }
            if let Some(r) = reports.last_mut() {
                r.breach_evidence = evidence;
                r.major_incidents = crate::domain::report::major_incidents(&links, &tickets);
                r.time_spent = crate::domain::report::time_spent(&booked, true);
                r.service_requests = crate::domain::itil::report::request_lines(&fulfilled);
                r.changes = crate::domain::itil::report::change_section(&changes);
            }
            all_fulfilled.extend(fulfilled);
            all_changes.extend(changes);
            all.extend(tickets);
        }
        let desk = assemble(
            Scope {
                organisation: None,
                name: "The whole service desk".into(),
                policy: None,
                targets: Vec::new(),
                ticket_rows: false,
            },
            month,
            as_of,
            &all,
            None,
            None,
            summaries,
        );
        let mut desk = desk;
        let ids: Vec<i64> = orgs.iter().map(|o| o.id).collect();
        let links = major_incident_links(c, &ids, month)?;
        desk.major_incidents = crate::domain::report::major_incidents(&links, &all);
        desk.time_spent = crate::domain::report::time_spent(&time_booked(c, &ids, month)?, false);
        desk.service_requests = crate::domain::itil::report::request_lines(&all_fulfilled);
        desk.changes = crate::domain::itil::report::change_section(&all_changes);
        Ok((reports, desk))
    }

    /// The targets of `tier`'s policy in effect at the month's end.
    fn targets_of(&self, tier: &str, month: Month) -> Vec<crate::domain::report::TargetLine> {
        let last_instant = month.end() - Duration::seconds(1);
        let Ok(p) = self.policies.effective(tier, last_instant) else {
            return Vec::new();
        };
        crate::domain::ticket::Severity::ALL
            .iter()
            .map(|s| {
                let t = p.targets(*s);
                crate::domain::report::TargetLine {
                    severity: s.number(),
                    response: t.response.to_string(),
                    resolve: t.resolve.to_string(),
                    calendar: t.calendar.as_str().into(),
                }
            })
            .collect()
    }

    /// An organisation's availability in `month` as of `as_of`: what its
    /// report and the status page both show, from this one computation.
    /// Planned maintenance is left out when announced at least the notice
    /// its tier's policy (in effect at the month's end) asks for.
    pub(crate) fn organisation_availability(
        &self,
        c: &mut DbConnection,
        o: &Organisation,
        month: Month,
        as_of: DateTime<Utc>,
    ) -> Result<crate::domain::availability::Availability, AppError> {
        let outages = self.outages_for(c, o.id, month)?;
        Ok(availability(
            month,
            &outages,
            self.maintenance_notice(&o.tier, month),
            as_of,
        ))
    }

    /// How far ahead `tier`'s policy in effect at `month`'s end asks for
    /// planned maintenance to be announced (5 days where it sets none).
    pub(crate) fn maintenance_notice(&self, tier: &str, month: Month) -> Duration {
        let last_instant = month.end() - Duration::seconds(1);
        let days = self
            .policies
            .effective(tier, last_instant)
            .ok()
            .and_then(|p| p.credits.as_ref())
            .map_or(5, |s| s.maintenance_notice_days);
        Duration::days(i64::from(days))
    }

    fn availability_and_credits(
        &self,
        c: &mut DbConnection,
        o: &Organisation,
        month: Month,
        as_of: DateTime<Utc>,
        tickets: &[TicketMonth],
    ) -> Result<
        (
            crate::domain::availability::Availability,
            Option<crate::domain::credits::Credits>,
        ),
        AppError,
    > {
        // The schedule of the tier's policy in effect at the month's end.
        let last_instant = month.end() - Duration::seconds(1);
        let schedule = self
            .policies
            .effective(&o.tier, last_instant)
            .ok()
            .and_then(|p| p.credits.clone());
        let avail = self.organisation_availability(c, o, month, as_of)?;
        let Some(schedule) = schedule else {
            return Ok((avail, None));
        };
        let mut breaches = Vec::new();
        for t in tickets {
            for clock in [&t.response, &t.resolve] {
                if let Some(b) = clock.breached_at
                    && b >= month.start()
                    && b < month.end()
                {
                    breaches.push(Breach {
                        reference: t.reference.clone(),
                        severity: t.severity,
                        clock: clock.kind,
                    });
                }
            }
        }
        let upstream = self.upstream_shares_for(c, o.id, month)?;
        let cr = credits(&schedule, o.monthly_charge_pence, &avail, &breaches, &upstream);
        // A customer's dispute a manager upheld: its own line, as decided.
        let cr = crate::domain::credits::with_disputes(cr, &self.upheld_disputes(c, o.id, month)?);
        Ok((avail, Some(cr)))
    }

    /// Every ticket of `o` that bears on the month, replayed to `as_of`.
    fn tickets_in_month(
        &self,
        c: &mut DbConnection,
        o: &Organisation,
        month: Month,
        as_of: DateTime<Utc>,
        reads: Reads,
    ) -> Result<Vec<TicketMonth>, AppError> {
        // Received before the month ended, and not finished before it began
        // (a finished ticket changes no more: its last change is its end).
        // Incidents only: the SLA targets and their credits are the
        // incident's (requests, problems and changes have sections of their own).
        let rows: Vec<(i64, String, String)> = tickets::table
            .filter(tickets::organisation_id.eq(o.id))
            .filter(tickets::ticket_type.eq("incident"))
            // A duplicate merged away (cancelled, `duplicate_of` its target)
            // is counted once, in its target, whose clocks began at the
            // earlier receipt.
            .filter(
                tickets::status.ne("cancelled").or(tickets::id.ne_all(
                    crate::store::schema::ticket_links::table
                        .filter(crate::store::schema::ticket_links::kind.eq("duplicate_of"))
                        .select(crate::store::schema::ticket_links::from_ticket_id),
                )),
            )
            .filter(tickets::received_at.lt(naive(month.end())))
            .filter(
                tickets::status
                    .ne_all(["closed", "cancelled", "resolved"])
                    .or(tickets::updated_at.ge(naive(month.start()))),
            )
            .order(tickets::id)
            .select((tickets::id, tickets::reference, tickets::holiday_set))
            .load(c)?;
        let region = Region::from_str(&o.region).map_err(|e| AppError::internal(e.to_string()))?;
        // Reading and replaying is the work: share it between threads, each
        // on a connection of its own, in contiguous parts kept in order.
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, 4)
            .min(rows.len().div_ceil(CHUNK).max(1));
        if workers == 1 {
            return self.replay_part(c, &rows, o, region, month, as_of);
        }
        let part = rows.len().div_ceil(workers);
        std::thread::scope(|s| {
            let handles: Vec<_> = rows
                .chunks(part)
                .map(|p| {
                    s.spawn(move || -> Result<Vec<TicketMonth>, AppError> {
                        // Where `c` reads: a kept version must see the last commit.
                        let mut conn = self.conn_for(reads)?;
                        self.replay_part(&mut conn, p, o, region, month, as_of)
                    })
                })
                .collect();
            let mut out = Vec::with_capacity(rows.len());
            for h in handles {
                match h.join() {
                    Ok(part) => out.extend(part?),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            Ok(out)
        })
    }

    /// Tickets `rows` (id, reference, holiday set) replayed to `as_of`.
    fn replay_part(
        &self,
        c: &mut DbConnection,
        rows: &[(i64, String, String)],
        o: &Organisation,
        region: Region,
        month: Month,
        as_of: DateTime<Utc>,
    ) -> Result<Vec<TicketMonth>, AppError> {
        let mut policies: HashMap<(String, String), Arc<Policy>> = HashMap::new();
        let mut calendars: HashMap<(String, String), Arc<PolicyCalendars>> = HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(CHUNK) {
            let ids: Vec<i64> = chunk.iter().map(|r| r.0).collect();
            let mut events: HashMap<i64, Vec<Event>> = HashMap::new();
            for (id, data) in ticket_events::table
                .filter(ticket_events::ticket_id.eq_any(&ids))
                .filter(ticket_events::at.lt(naive(as_of)))
                .order((ticket_events::ticket_id, ticket_events::seq))
                .select((ticket_events::ticket_id, ticket_events::data))
                .load::<(i64, String)>(c)?
            {
                let e: Event = serde_json::from_str(&data)
                    .map_err(|e| AppError::internal(format!("ticket {id}: an event cannot be read: {e}")))?;
                events.entry(id).or_default().push(e);
            }
            for (id, reference, holiday_set) in chunk {
                let Some(evs) = events.get(id) else { continue };
                let t = Ticket::replay(evs).map_err(|e| AppError::internal(format!("{reference}: {e}")))?;
                let key = (t.policy.clone(), t.policy_version.clone());
                let policy = match policies.get(&key) {
                    Some(p) => p.clone(),
                    None => {
                        let p = self.policy_version(c, &t.policy, &t.policy_version)?;
                        policies.insert(key.clone(), p.clone());
                        p
                    }
                };
                let ckey = (t.policy_version.clone(), holiday_set.clone());
                let cal = match calendars.get(&ckey) {
                    Some(x) => x.clone(),
                    None => {
                        let x = self.calendars(c, &policy, region, holiday_set)?;
                        calendars.insert(ckey, x.clone());
                        x
                    }
                };
                let ctx = SlaContext {
                    policy: &policy,
                    calendars: &cal,
                };
                let view = sla(&t, &ctx, as_of).map_err(|e| AppError::internal(format!("{reference}: {e}")))?;
                let (paused_seconds, reopens) = pauses_and_reopens(&t, &policy.resolve_pause, month, as_of);
                out.push(TicketMonth {
                    reference: reference.clone(),
                    organisation: o.slug.clone(),
                    severity: t.severity,
                    status: t.status,
                    received_at: t.received_at,
                    resolved_at: t.resolved_at,
                    response: view.response,
                    resolve: view.resolve,
                    paused_seconds,
                    reopens,
                });
            }
        }
        Ok(out)
    }
}

/// Wall time spent in a pause status within [month start, as_of), and the
/// reopens within the month.
fn pauses_and_reopens(t: &Ticket, pause: &[Status], month: Month, as_of: DateTime<Utc>) -> (i64, u32) {
    let (from, to) = (month.start(), as_of.min(month.end()));
    let mut paused = 0;
    let mut reopens = 0;
    let mut since: Option<DateTime<Utc>> = None;
    for e in &t.events {
        if let EventKind::StatusChanged { from: old, to: new } = &e.kind {
            let was = pause.contains(old);
            let is = pause.contains(new);
            if was
                && !is
                && let Some(s) = since.take()
            {
                paused += overlap(s, e.at, from, to);
            }
            if is && !was {
                since = Some(e.at);
            }
            if *old == Status::Resolved && *new != Status::Closed && e.at >= from && e.at < to {
                reopens += 1;
            }
        }
    }
    if let Some(s) = since {
        paused += overlap(s, to, from, to);
    }
    (paused, reopens)
}

fn overlap(a: DateTime<Utc>, b: DateTime<Utc>, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    let (s, e) = (a.max(from), b.min(to));
    if e > s { (e - s).num_seconds() } else { 0 }
}

/// A report as its JSON text: what is kept, and what the API sends as it is.
#[derive(Debug, Clone)]
pub struct ReportJson(pub String);

impl ReportJson {
    /// The document, to render or to read figures from.
    pub fn value(&self) -> Result<serde_json::Value, AppError> {
        serde_json::from_str(&self.0).map_err(|e| AppError::internal(format!("a kept report cannot be read: {e}")))
    }
}

/// (outage, ticket reference) for the tickets of `orgs` linked to an
/// outage that touches `month`.
fn major_incident_links(c: &mut DbConnection, orgs: &[i64], month: Month) -> Result<Vec<(i64, String)>, AppError> {
    use crate::store::schema::{outage_tickets, outages};
    let mut out = Vec::new();
    for chunk in orgs.chunks(CHUNK) {
        let rows: Vec<(i64, String)> = outage_tickets::table
            .inner_join(tickets::table)
            .inner_join(outages::table)
            .filter(tickets::organisation_id.eq_any(chunk))
            .filter(outages::starts_at.lt(naive(month.end())))
            .filter(outages::ends_at.is_null().or(outages::ends_at.gt(naive(month.start()))))
            .select((outage_tickets::outage_id, tickets::reference))
            .load(c)?;
        out.extend(rows);
    }
    Ok(out)
}

/// Minutes booked on the days of `month` on the tickets of these
/// organisations: (organisation slug, ticket reference, minutes).
fn time_booked(
    c: &mut DbConnection,
    organisation_ids: &[i64],
    month: Month,
) -> Result<Vec<(String, String, i64)>, AppError> {
    use crate::store::schema::{organisations, tickets, time_entries};
    let rows: Vec<(String, String, Option<i64>)> = time_entries::table
        .inner_join(tickets::table.inner_join(organisations::table))
        .filter(tickets::organisation_id.eq_any(organisation_ids))
        .filter(time_entries::spent_on.ge(month.first_day()))
        .filter(time_entries::spent_on.lt(month.next().first_day()))
        .group_by((organisations::slug, tickets::reference))
        .select((
            organisations::slug,
            tickets::reference,
            diesel::dsl::sum(time_entries::minutes),
        ))
        .load(c)?;
    Ok(rows.into_iter().map(|(o, r, m)| (o, r, m.unwrap_or(0))).collect())
}

/// The tickets a report's credit lines count breaches of, sorted.
fn cr_causes(report: Option<&MonthlyReport>) -> Vec<String> {
    let mut refs: Vec<String> = report
        .and_then(|r| r.credits.as_ref())
        .into_iter()
        .flat_map(|c| c.lines.iter())
        .filter(|l| l.kind == crate::domain::credits::LineKind::TicketBreach)
        .flat_map(|l| l.causes.iter().cloned())
        .collect();
    refs.sort();
    refs
}
