//! `sladesk demo`: a fresh database with the demo desk of
//! `fixtures/demo/desk.toml` and about 200 tickets with realistic histories
//! over the three months before today, made through the same use cases as
//! real traffic (so every stored SLA field is the core's own result).
//!
//! The histories come from a seeded generator, so two runs on the same day
//! give the same desk.

use anyhow::Context;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::app::tickets::{Change, NewTicketRequest};
use crate::app::{App, AppError, Principal, Role};
use crate::config::Settings;
use crate::domain::ticket::{Severity, Status};
use crate::seed::{Desk, Organisation};
use crate::server::build_app;
use crate::store::Backend;

/// The password every demo account signs in with.
pub const DEMO_PASSWORD: &str = "demo-password";
/// The demo's managers and admins are enrolled with this TOTP key (base32),
/// printed in the banner: a demo is for showing, not for keeping secrets.
pub const DEMO_TOTP_SECRET: &str = "SLADESKDEMOTOTPSECRETKEYMANAGERS";
const TICKETS: usize = 200;

/// A small deterministic generator (xorshift64*): the demo needs
/// repeatability, not cryptographic quality.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn minutes(&mut self, from: i64, to: i64) -> Duration {
        Duration::minutes(from + self.below((to - from).max(1) as u64) as i64)
    }
}

/// What a demo run made, for the banner.
pub struct Demo {
    pub app: Arc<App>,
    pub logins: Vec<(String, String, String)>,
    /// Tickets with three months of history.
    pub tickets: usize,
    /// Tickets raised in the last hours and still being worked.
    pub live: usize,
}

/// Builds the demo database and application.
pub fn create(s: &Settings) -> anyhow::Result<Demo> {
    create_showing(s, std::sync::Arc::new(crate::app::progress::Quiet))
}

/// Builds the demo desk, telling `progress` how far it has got.
pub fn create_showing(
    s: &Settings,
    progress: std::sync::Arc<dyn crate::app::progress::Progress>,
) -> anyhow::Result<Demo> {
    // The demo desk is compiled in (`fixtures/demo/desk.toml`).
    let text = crate::shipped::find(crate::shipped::DEMO, "desk.toml").context("the demo desk is not shipped")?;
    let desk = Desk::from_toml("fixtures/demo/desk.toml", text)?;

    if s.database_url.backend == Backend::Sqlite {
        for suffix in ["", "-wal", "-shm"] {
            let f = format!("{}{suffix}", s.database_url.target);
            match std::fs::remove_file(&f) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(anyhow::Error::new(e).context(format!("{f}: cannot remove the old demo database")));
                }
            }
        }
    }
    let app = build_app(s)?;
    let fail = |e: AppError| anyhow::Error::new(e).context("demo");
    let op = Principal::operator();
    let now = crate::app::now();
    if !app.list_organisations(&op).map_err(fail)?.is_empty() {
        anyhow::bail!("demo: the database already has organisations; give an empty one");
    }

    // Made four months ago, so the histories below fall after it.
    let made = now - Duration::days(120);
    desk.plant(&app, made, Some(DEMO_PASSWORD))?;
    let mut logins = Vec::new();
    let token = |email: &str| app.create_token(&op, email, "demo", "full", None, now).map_err(fail);
    for st in &desk.staff {
        if crate::app::sessions::must_enrol(st.role) {
            app.enrol_totp_for(&op, &st.email, DEMO_TOTP_SECRET, now)
                .map_err(fail)?;
        }
        logins.push((st.role.as_str().to_string(), st.email.clone(), token(&st.email)?));
    }
    for o in &desk.organisations {
        if let Some(c) = o.contacts.first() {
            logins.push((format!("customer ({})", o.slug), c.email.clone(), token(&c.email)?));
        }
    }

    let principal = |email: &str| app.principal_for(email).map_err(fail);
    let agents: Vec<Principal> = desk
        .staff
        .iter()
        .filter(|s| s.role == Role::Agent)
        .map(|s| principal(&s.email))
        .collect::<Result<_, _>>()?;
    let mut dice = Dice(0x5EED_0000_0000_0001 ^ now.date_naive().to_string().len() as u64);
    let mut made = 0;
    let steps = crate::app::progress::Steps::begin(&*progress, "demo tickets", TICKETS as u64);
    for i in 0..TICKETS {
        steps.advance();
        let org = &desk.organisations[dice.below(desk.organisations.len() as u64) as usize];
        let contact = principal(&org.contacts[dice.below(org.contacts.len() as u64) as usize].email)?;
        let agent = &agents[dice.below(agents.len() as u64) as usize];
        // Spread over 90 days, most recent last; working hours mostly.
        let day = 90 - (i as i64 * 90 / TICKETS as i64);
        let received = (now - Duration::days(day))
            .date_naive()
            .and_hms_opt(7, 0, 0)
            .expect("valid")
            .and_utc()
            + dice.minutes(0, 11 * 60);
        if received > now - Duration::minutes(20) {
            continue;
        }
        let severity = match dice.below(100) {
            0..=5 => Severity::S1,
            6..=20 => Severity::S2,
            21..=70 => Severity::S3,
            _ => Severity::S4,
        };
        let queue = if dice.chance(30) { "platform" } else { "service-desk" };
        // Raised as the desk routes and triages what customers send: the
        // severity and queue are the desk's to set (a customer chooses
        // neither unless their contract lets them).
        let view = app
            .create_ticket(
                &op,
                NewTicketRequest {
                    subject: desk.subjects[dice.below(desk.subjects.len() as u64) as usize].clone(),
                    description: "Reported by the customer; see the first message for details.".into(),
                    severity: Some(severity),
                    queue: Some(queue.into()),
                    organisation: Some(org.slug.clone()),
                    requester: Some(contact.email.clone()),
                    source: Some(if dice.chance(60) { "email" } else { "web" }.into()),
                },
                received,
            )
            .map_err(fail)?;
        made += 1;
        history(&app, &mut dice, &view.reference, &contact, agent, received, now)?;
    }
    let live = live_queue(&app, &desk, &agents, now)?;
    itil_showcase(&app, &desk, now)?;
    // The scheduler has watched these tickets all along: their warnings and
    // breaches so far are recorded, and the history's notifications went
    // out back then; only new ones leave.
    app.sla_tick(now).map_err(fail)?;
    app.settle_outbox_history(now + Duration::seconds(1)).map_err(fail)?;
    Ok(Demo {
        app,
        logins,
        tickets: made,
        live,
    })
}

/// Work in hand when the demo starts, so the queue has something to read:
/// on the 24x7 tiers (whose clocks run whatever the hour), tickets in every
/// open state, several reaching a warning within the hour, one breached and
/// still running, and one severity 1 nobody has taken that has begun to
/// escalate (the queue puts it on top). Returns how many were raised.
fn live_queue(app: &App, desk: &Desk, agents: &[Principal], now: DateTime<Utc>) -> anyhow::Result<usize> {
    let fail = |e: AppError| anyhow::Error::new(e).context("demo (live queue)");
    let op = Principal::operator();
    let orgs: Vec<&Organisation> = desk
        .organisations
        .iter()
        .filter(|o| o.tier == "platinum" || o.tier == "gold")
        .collect();
    if orgs.is_empty() || agents.is_empty() {
        return Ok(0);
    }
    // (severity, minutes ago, what happens after it is raised)
    enum Then {
        Nothing,
        Assign,
        Reply,
        Pending(Status),
    }
    let mut plan: Vec<(Severity, i64, Then)> = vec![
        // Severity 1, 15 min to respond on Platinum: past 75% and escalating, unassigned.
        (Severity::S1, 12, Then::Nothing),
        // Breached and still running.
        (Severity::S2, 95, Then::Assign),
    ];
    // At risk within the hour: severity 3 (1 h to respond) raised 20 to 50 min ago.
    for m in [20, 26, 32, 38, 44, 50] {
        plan.push((Severity::S3, m, Then::Nothing));
    }
    for i in 0..28i64 {
        let then = match i % 4 {
            0 => Then::Reply,
            1 => Then::Pending(Status::PendingCustomer),
            2 => Then::Pending(Status::PendingThirdParty),
            _ => Then::Assign,
        };
        let severity = [Severity::S2, Severity::S3, Severity::S4][(i % 3) as usize];
        plan.push((severity, 60 + i * 7, then));
    }
    let mut raised = 0;
    for (i, (severity, ago, then)) in plan.into_iter().enumerate() {
        let org = orgs[i % orgs.len()];
        // The escalating severity 1 is Platinum's (15 minutes to respond).
        let org = if severity == Severity::S1 {
            orgs.iter().find(|o| o.tier == "platinum").copied().unwrap_or(org)
        } else {
            org
        };
        let contact = &org.contacts[i % org.contacts.len()].email;
        let received = now - Duration::minutes(ago);
        let view = app
            .create_ticket(
                &op,
                NewTicketRequest {
                    subject: desk.subjects[i % desk.subjects.len()].clone(),
                    description: "Reported by the customer; see the first message for details.".into(),
                    severity: Some(severity),
                    queue: Some(if i % 3 == 0 { "platform" } else { "service-desk" }.into()),
                    organisation: Some(org.slug.clone()),
                    requester: Some(contact.clone()),
                    source: Some(if i % 2 == 0 { "email" } else { "web" }.into()),
                },
                received,
            )
            .map_err(fail)?;
        raised += 1;
        let agent = &agents[i % agents.len()];
        let at = received + Duration::minutes(2);
        let mut changes = Vec::new();
        match then {
            Then::Nothing => {}
            Then::Assign => changes.push(Change::Assign(Some(agent.email.clone()))),
            Then::Reply => {
                changes.push(Change::Assign(Some(agent.email.clone())));
                changes.push(Change::Reply("Thanks, we are looking into this now.".into()));
            }
            Then::Pending(status) => {
                changes.push(Change::Assign(Some(agent.email.clone())));
                changes.push(Change::Reply("Could you tell us when it started, and for whom?".into()));
                changes.push(Change::Status(status));
            }
        }
        if !changes.is_empty() {
            app.change_ticket(agent, &view.reference, &changes, None, at)
                .map_err(fail)?;
        }
    }
    Ok(raised)
}

/// Plays one ticket's history, stopping at `now`: some answered late, some
/// waiting on the customer, some with severity raised, some reopened.
fn history(
    app: &App,
    dice: &mut Dice,
    reference: &str,
    customer: &Principal,
    agent: &Principal,
    received: DateTime<Utc>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    let mut t = received;
    let mut step = |who: &Principal, after: Duration, change: Change| -> anyhow::Result<bool> {
        t += after;
        if t >= now {
            return Ok(false);
        }
        match app.change_ticket(who, reference, &[change], None, t) {
            Ok(_) => Ok(true),
            // A step the state no longer allows is skipped, as a person would.
            Err(AppError::Command(_)) => Ok(true),
            Err(e) => Err(anyhow::Error::new(e).context(format!("demo {reference}"))),
        }
    };
    let late = dice.chance(15);
    if !step(agent, dice.minutes(1, 20), Change::Assign(Some(agent.email.clone())))? {
        return Ok(());
    }
    let reply_after = if late {
        dice.minutes(90, 600)
    } else {
        dice.minutes(5, 50)
    };
    if !step(
        agent,
        reply_after,
        Change::Reply("Thanks, we are looking into this now.".into()),
    )? {
        return Ok(());
    }
    if dice.chance(10) && !step(agent, dice.minutes(10, 120), Change::Severity(Severity::S1))? {
        return Ok(());
    }
    if dice.chance(35) {
        if !step(agent, dice.minutes(30, 240), Change::Status(Status::PendingCustomer))? {
            return Ok(());
        }
        if !step(
            customer,
            dice.minutes(60, 4 * 24 * 60),
            Change::Reply("Here is the information you asked for.".into()),
        )? {
            return Ok(());
        }
    }
    let resolve_after = if dice.chance(20) {
        dice.minutes(24 * 60, 8 * 24 * 60)
    } else {
        dice.minutes(60, 20 * 60)
    };
    if !step(agent, resolve_after, Change::Resolve)? {
        return Ok(());
    }
    if dice.chance(12) {
        if !step(agent, dice.minutes(60, 2 * 24 * 60), Change::Reopen)? {
            return Ok(());
        }
        if !step(agent, dice.minutes(60, 24 * 60), Change::Resolve)? {
            return Ok(());
        }
    }
    step(agent, Duration::days(3), Change::Close)?;
    Ok(())
}

/// A few of the other ticket types, so each of their pages has something
/// to show: a request waiting for a colleague's approval and one
/// fulfilled, a known error with the incidents it caused, and a normal
/// change the CAB approved, scheduled next week (on the status page as
/// planned maintenance, and in the change calendar).
fn itil_showcase(app: &App, desk: &Desk, now: DateTime<Utc>) -> anyhow::Result<()> {
    use crate::app::itil::{ChangeCommand, NewChange, NewProblem, NewServiceRequest, ProblemCommand, RequestCommand};
    use crate::domain::itil::change::{ChangeKind, Risk};
    let fail = |e: AppError| anyhow::Error::new(e).context("demo: requests, problems and changes");
    let op = Principal::operator();
    let org = desk.organisations.first().context("the demo desk has organisations")?;
    let staff_of = |role: Role| desk.staff.iter().find(|s| s.role == role).map(|s| s.email.clone());
    let (agent, manager) = (
        app.principal_for(&staff_of(Role::Agent).context("an agent")?)
            .map_err(fail)?,
        app.principal_for(&staff_of(Role::Manager).context("a manager")?)
            .map_err(fail)?,
    );
    let contact = app.principal_for(&org.contacts[0].email).map_err(fail)?;
    let colleague = org.contacts.get(1).map(|c| c.email.clone());
    let answers = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();

    app.request_item(
        &contact,
        NewServiceRequest {
            item: "new-starter-account".into(),
            answers: answers(&[
                ("person", &format!("new.starter@{}", org.email_domains[0])),
                ("full_name", "Rhian Morgan"),
                ("start", &(now + Duration::days(14)).date_naive().to_string()),
                ("access", "office and VPN"),
            ]),
            approver: colleague,
            source: Some("web".into()),
            ..Default::default()
        },
        now - Duration::hours(3),
    )
    .map_err(fail)?;
    let asked = now - Duration::days(6);
    let rule = app
        .request_item(
            &contact,
            NewServiceRequest {
                item: "firewall-rule".into(),
                answers: answers(&[
                    ("action", "open"),
                    ("source", "203.0.113.0/24"),
                    ("destination", "10.20.0.15:22"),
                ]),
                source: Some("web".into()),
                ..Default::default()
            },
            asked,
        )
        .map_err(fail)?;
    let note = RequestCommand::Fulfil {
        note: "Rule added for SFTP from the partner's range.".into(),
    };
    app.act_on_request(&agent, &rule.reference, &note, asked + Duration::hours(2))
        .map_err(fail)?;

    let reported = now - Duration::days(2);
    let mut incidents = Vec::new();
    for contact in org.contacts.iter().take(2) {
        let v = app
            .create_ticket(
                &op,
                NewTicketRequest {
                    subject: "Nightly backup job failed".into(),
                    description: "The backup report shows the job failed at 02:10.".into(),
                    severity: Some(Severity::S3),
                    queue: Some("platform".into()),
                    organisation: Some(org.slug.clone()),
                    requester: Some(contact.email.clone()),
                    source: Some("email".into()),
                },
                reported,
            )
            .map_err(fail)?;
        incidents.push(v.reference);
    }
    let problem = app
        .open_problem(
            &agent,
            NewProblem {
                subject: "Backups fail when the snapshot store is over 90% full".into(),
                description: "Two failed nights this week, both with the snapshot store nearly full.".into(),
                incidents,
                ..Default::default()
            },
            reported + Duration::hours(4),
        )
        .map_err(fail)?;
    for (i, cmd) in [
        ProblemCommand::RecordRootCause {
            text: "Snapshot retention was never applied to the new store.".into(),
        },
        ProblemCommand::RecordWorkaround {
            text: "Rerun the job after 06:00, once the store has pruned.".into(),
            publish: true,
        },
        ProblemCommand::DeclareKnownError,
    ]
    .iter()
    .enumerate()
    {
        app.act_on_problem(
            &agent,
            &problem.reference,
            cmd,
            reported + Duration::hours(5 + i as i64),
        )
        .map_err(fail)?;
    }

    let raised = now - Duration::days(1);
    let change = app
        .raise_change(
            &agent,
            NewChange {
                subject: "Apply retention to the snapshot store".into(),
                description: "Turn on 14-day retention; back out by turning it off.".into(),
                kind: ChangeKind::Normal,
                organisation: org.slug.clone(),
                requester: Some(org.contacts[0].email.clone()),
                services: org.services.iter().take(1).cloned().collect(),
                queue: Some("platform".into()),
            },
            raised,
        )
        .map_err(fail)?;
    let window = (now + Duration::days(7))
        .date_naive()
        .and_hms_opt(22, 0, 0)
        .context("a time")?
        .and_utc();
    let steps = [
        (&agent, ChangeCommand::Submit),
        (
            &agent,
            ChangeCommand::Assess {
                risk: Risk::Low,
                impact: "None expected: retention prunes old snapshots only.".into(),
            },
        ),
        (
            &agent,
            ChangeCommand::SendToCab {
                approvers: vec![manager.email.clone(), agent.email.clone()],
                rule: "all".into(),
                of: None,
            },
        ),
        (&manager, ChangeCommand::Approve { comment: String::new() }),
        (&agent, ChangeCommand::Approve { comment: String::new() }),
        (
            &agent,
            ChangeCommand::Schedule {
                start: window,
                end: window + Duration::hours(1),
                reason: None,
            },
        ),
    ];
    for (i, (who, cmd)) in steps.iter().enumerate() {
        app.act_on_change(who, &change.reference, cmd, raised + Duration::minutes(10 * i as i64))
            .map_err(fail)?;
    }
    Ok(())
}
