//! The command line's words: every command, subcommand and flag (clap).

use super::*;

#[derive(Parser)]
#[command(name = "sladesk", version, about = "An ITIL service desk and SLA tracking engine")]
pub(super) struct Cli {
    #[command(subcommand)]
    pub(super) command: Command,
}

#[derive(Args, Clone)]
pub(super) struct Sources {
    /// Directory of SLA policy files (*.toml); the shipped policies if absent.
    #[arg(long, env = "SLADESK_POLICIES", global = true)]
    pub(super) policies: Option<PathBuf>,
    /// A GOV.UK bank holidays JSON file whose years replace the computed ones.
    #[arg(long = "holidays-file", env = "SLADESK_HOLIDAYS_FILE", global = true)]
    pub(super) holidays_file: Option<PathBuf>,
}

#[derive(Args, Clone)]
pub(super) struct DbArgs {
    /// sqlite://PATH (default sqlite://sladesk.db) or postgres://USER@HOST:PORT/DB
    #[arg(long = "database-url", env = "SLADESK_DATABASE_URL")]
    pub(super) database_url: Option<String>,
    /// Settings file (default: sladesk.toml if present).
    #[arg(long, env = "SLADESK_CONFIG")]
    pub(super) config: Option<PathBuf>,
    /// Directory of SLA policy files (default: the shipped policies, built in).
    #[arg(long, env = "SLADESK_POLICIES")]
    pub(super) policies: Option<PathBuf>,
    /// A GOV.UK bank holidays JSON file whose years replace the computed ones.
    #[arg(long = "holidays-file", env = "SLADESK_HOLIDAYS_FILE")]
    pub(super) holidays_file: Option<PathBuf>,
}

#[derive(Args, Clone)]
pub(super) struct ServeArgs {
    #[command(flatten)]
    pub(super) db: DbArgs,
    /// Address and port to listen on (default 127.0.0.1:8080).
    #[arg(long, env = "SLADESK_LISTEN")]
    pub(super) listen: Option<String>,
}

#[derive(Subcommand)]
pub(super) enum Command {
    /// Runs the HTTP server (REST API under /api/v1).
    Serve(ServeArgs),
    /// Creates a fresh SQLite database with demo data, prints logins and tokens, and serves it.
    Demo(ServeArgs),
    /// Applies pending database migrations.
    Migrate(DbArgs),
    /// Writes a consistent backup of the database while it is in use
    /// (SQLite: VACUUM INTO; PostgreSQL: pg_dump's custom format).
    Backup {
        #[command(flatten)]
        db: DbArgs,
        /// The backup file to write (never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// Restores a backup into an empty database, then migrates it.
    Restore {
        #[command(flatten)]
        db: DbArgs,
        /// A file `sladesk backup` wrote.
        file: PathBuf,
    },
    /// Writes editable copies of the shipped SLA policies and email
    /// templates into DIR, with a commented sladesk.toml that uses them.
    Init {
        /// The folder to write into (made if missing; nothing in it is overwritten).
        dir: PathBuf,
    },
    /// Takes one RFC 5322 message on stdin (for an MTA pipe). Exit 0 once it
    /// is committed, 75 on a transient failure (retry), 65 if it can never
    /// be accepted.
    Ingest(DbArgs),
    /// The scheduler's jobs: SLA tick, monthly reports, audit purge, contract end.
    Scheduler {
        #[command(subcommand)]
        command: SchedulerCommand,
    },
    /// The outbox of notifications.
    Outbox {
        #[command(subcommand)]
        command: OutboxCommand,
    },
    /// Customer organisations.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Queues where tickets wait for agents.
    Queue {
        #[command(subcommand)]
        command: QueueCommand,
    },
    /// Services the desk runs, and which organisations each is for.
    Service {
        #[command(subcommand)]
        command: ServiceCommand,
    },
    /// Users: customers (contacts) and staff.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Prints the current TOTP code for a base32 secret, as an authenticator
    /// app would (for the demo's managers and admins, and for scripts).
    TotpCode {
        /// The base32 secret, as shown at enrolment.
        secret: String,
    },
    /// UK bank holidays.
    Holidays {
        #[command(subcommand)]
        command: HolidaysCommand,
    },
    /// Business-time arithmetic on a named calendar.
    Calendar {
        #[command(flatten)]
        sources: Sources,
        #[command(subcommand)]
        command: CalendarCommand,
    },
    /// SLA questions answered by the core.
    Sla {
        #[command(flatten)]
        sources: Sources,
        #[command(subcommand)]
        command: SlaCommand,
    },
    /// SLA policy files.
    Policy {
        #[command(flatten)]
        sources: Sources,
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Writes everything of one organisation to a folder (end of contract).
    Export {
        #[command(flatten)]
        db: DbArgs,
        /// The organisation's slug.
        #[arg(long)]
        org: String,
        /// The folder to write; created, and must be empty if it exists.
        #[arg(long)]
        out: PathBuf,
    },
    /// Monthly SLA and service-credit reports.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// Outages, from which availability is computed.
    Outage {
        #[command(subcommand)]
        command: OutageCommand,
    },
    /// Credits received from the platform provider, passed on to customers.
    UpstreamCredit {
        #[command(subcommand)]
        command: UpstreamCreditCommand,
    },
    /// Full-text search over every ticket, as staff see them.
    Search {
        #[command(subcommand)]
        command: SearchCommand,
    },
}

#[derive(Subcommand)]
pub(super) enum SearchCommand {
    /// Prints the tickets a query finds, best first: reference, status,
    /// subject and the passage matched (the search box's query language).
    Find {
        #[command(flatten)]
        db: DbArgs,
        /// The query, e.g. 'checksum "object storage" org:acme -cancelled'.
        query: String,
        /// At most this many (1 to 100).
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// Builds the search index again from the stored tickets, after a bulk
    /// import that went around the application. On PostgreSQL searches
    /// wait while it runs (minutes at a million tickets): run it in a
    /// quiet hour.
    Reindex {
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
pub(super) enum UpstreamCreditCommand {
    /// Records a credit received, to be passed on in that month's reports.
    Add {
        #[command(flatten)]
        db: DbArgs,
        /// The provider's reference; unique.
        #[arg(long)]
        reference: String,
        /// YYYY-MM: the month it is passed on in.
        #[arg(long)]
        month: String,
        #[arg(long)]
        amount_pence: i64,
        #[arg(long)]
        description: String,
        /// An organisation it concerns (repeatable; split evenly), or --all.
        #[arg(long = "org")]
        orgs: Vec<String>,
        #[arg(long)]
        all: bool,
        /// SLUG=PENCE: an organisation's share, instead of an even split (repeatable).
        #[arg(long = "share")]
        shares: Vec<String>,
    },
    /// Lists recorded credits, newest month first.
    List {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        month: Option<String>,
    },
}

#[derive(Subcommand)]
pub(super) enum ReportCommand {
    /// One organisation's month (or, without --org, the whole desk's).
    Monthly {
        #[command(flatten)]
        db: DbArgs,
        /// The organisation's slug; the whole desk if absent.
        #[arg(long)]
        org: Option<String>,
        /// YYYY-MM, a Europe/London month.
        #[arg(long)]
        month: String,
        /// json, html (tables and charts), csv (the summary rows) or csv-tickets (a row per ticket).
        #[arg(long, default_value = "json")]
        format: String,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// A kept version of a closed month (default: the latest).
        #[arg(long)]
        version: Option<i32>,
        /// Compute a closed month again and keep a new version of each
        /// report whose figures moved (needs --reason).
        #[arg(long, requires = "reason")]
        recompute: bool,
        /// Why the month is recomputed: kept with the new version.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Closes a month that has ended: keeps version 1 of every
    /// organisation's report and the whole desk's. Until then a month is
    /// provisional; the scheduler's monthly job closes it after
    /// `report_close_after` working days.
    Close {
        #[command(flatten)]
        db: DbArgs,
        /// YYYY-MM, a Europe/London month.
        #[arg(long)]
        month: String,
    },
}

#[derive(Subcommand)]
pub(super) enum OutageCommand {
    /// Records an outage.
    Add {
        #[command(flatten)]
        db: DbArgs,
        /// planned_maintenance, emergency_maintenance or platform_issue.
        #[arg(long)]
        kind: String,
        /// RFC 3339 instant.
        #[arg(long)]
        start: String,
        /// RFC 3339 instant; absent while it goes on.
        #[arg(long)]
        end: Option<String>,
        /// When customers were told (RFC 3339).
        #[arg(long)]
        notified_at: Option<String>,
        /// An affected organisation's slug; repeat for several; --all for every one.
        #[arg(long = "org")]
        orgs: Vec<String>,
        #[arg(long)]
        all: bool,
        /// An affected service, as SLUG or SLUG:IMPACT (degraded,
        /// partial_outage, major_outage; the default); repeat for several.
        /// Without --org or --all, the organisations subscribed to them.
        #[arg(long = "service")]
        services: Vec<String>,
        /// The staff's own account.
        #[arg(long)]
        description: String,
        /// What customers are told (without it: the kind alone).
        #[arg(long)]
        public_description: Option<String>,
    },
    /// Posts a public update: what customers are told, and the status it
    /// leaves the outage in (investigating, identified, monitoring,
    /// resolved; scheduled, in_progress, completed).
    Update {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        id: i64,
        /// The status after it; the current one if absent.
        #[arg(long)]
        status: Option<String>,
        /// What customers are told.
        #[arg(long)]
        body: String,
        /// RFC 3339 instant; now if absent.
        #[arg(long)]
        at: Option<String>,
    },
    /// Links tickets of any organisation to an outage (a major incident):
    /// its public updates become public replies on them.
    Link {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        id: i64,
        /// A ticket's reference; repeat for more.
        #[arg(long = "ticket", required = true)]
        tickets: Vec<String>,
    },
    /// Unlinks a ticket from an outage.
    Unlink {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        id: i64,
        #[arg(long)]
        ticket: String,
    },
    /// Confirms a draft outage opened from a monitoring alert: customers see
    /// it, availability counts it, subscribers are told.
    Confirm {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        id: i64,
    },
    /// Resolves every ticket still linked to an outage with one public note.
    ResolveLinked {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        id: i64,
        /// The resolution note each requester reads.
        #[arg(long)]
        note: String,
    },
    /// Ends an ongoing outage.
    End {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        id: i64,
        /// RFC 3339 instant.
        #[arg(long)]
        at: String,
    },
    /// Lists outages, newest first.
    List {
        #[command(flatten)]
        db: DbArgs,
        /// Those overlapping this month (YYYY-MM).
        #[arg(long)]
        month: Option<String>,
        #[arg(long)]
        org: Option<String>,
    },
}

#[derive(Subcommand)]
pub(super) enum OutboxCommand {
    /// Delivers what is due, once, and reports.
    Deliver {
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
pub(super) enum OrgCommand {
    /// Adds an organisation.
    Add {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        /// Support tier: a policy name (bronze, silver, gold, platinum).
        #[arg(long)]
        tier: String,
        #[arg(long)]
        region: String,
        /// Mail domain of the organisation's contacts; repeat for several.
        #[arg(long = "email-domain")]
        email_domains: Vec<String>,
        /// Monthly charge in pence.
        #[arg(long, default_value_t = 0)]
        monthly_charge_pence: i64,
        #[arg(long)]
        contract_start: Option<chrono::NaiveDate>,
        #[arg(long)]
        contract_end: Option<chrono::NaiveDate>,
        /// Let its contacts set a new ticket's severity with [S1]..[S4] in a mail's subject.
        #[arg(long)]
        may_declare_severity: bool,
        /// Email of the person told of severity 1 breaches.
        #[arg(long)]
        account_contact: Option<String>,
        /// Which tickets each contact sees: organisation (all of its
        /// tickets) or own (those they raised or watch).
        #[arg(long, default_value = "organisation")]
        ticket_sharing: String,
    },
    /// Changes an organisation's settings.
    Set {
        #[command(flatten)]
        db: DbArgs,
        slug: String,
        /// organisation (every contact sees every ticket) or own (their own
        /// and the ones they watch).
        #[arg(long)]
        ticket_sharing: Option<String>,
        /// Whether its contacts may set a new ticket's severity by mail.
        #[arg(long)]
        may_declare_severity: Option<bool>,
    },
    /// Sets the networks an organisation's contacts (or, with --staff, the
    /// staff) may use sladesk from: CIDRs or addresses; none clears the
    /// list. The operator's way back in after a lockout.
    Networks {
        #[command(flatten)]
        db: DbArgs,
        /// The organisation; leave out with --staff.
        #[arg(required_unless_present = "staff", conflicts_with = "staff")]
        slug: Option<String>,
        /// The staff's list instead of an organisation's.
        #[arg(long)]
        staff: bool,
        /// CIDRs (10.0.0.0/8) or single addresses.
        #[arg(long = "network")]
        networks: Vec<String>,
    },
}

#[derive(Subcommand)]
pub(super) enum SchedulerCommand {
    /// Runs the jobs: in the foreground, as `serve` does; `--once` for one
    /// pass over the jobs whose slot has come, or with `--job` that job now.
    Run {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        once: bool,
        /// sla_tick, monthly_reports, audit_purge or contract_end: run it now,
        /// whatever its slot (with --once).
        #[arg(long)]
        job: Option<String>,
        /// With --once --job: run the job as of this instant (RFC 3339), to
        /// catch up a run that was missed, e.g. the monthly mailing of a day
        /// the desk was down.
        #[arg(long = "as-of")]
        as_of: Option<String>,
    },
    /// Each job's schedule, last run, outcome and next run.
    Status {
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
pub(super) enum QueueCommand {
    /// Adds a queue.
    Add {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        /// The address customers write to; mail to it lands in this queue.
        #[arg(long)]
        inbound_address: Option<String>,
        /// The queue lead's email (staff).
        #[arg(long)]
        lead: Option<String>,
        /// A member's email (staff); repeat for several.
        #[arg(long = "member")]
        members: Vec<String>,
        /// Severity of tickets that do not say (1–4, default 3).
        #[arg(long)]
        default_severity: Option<i32>,
        /// Customers may choose this queue when raising a ticket.
        #[arg(long)]
        customer_selectable: bool,
    },
}

#[derive(Subcommand)]
pub(super) enum ServiceCommand {
    /// Defines a service (listed after those defined before it).
    Add {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        /// The group the status page shows it under (default "Services").
        #[arg(long)]
        group: Option<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// Lists the services, in the status page's order (JSON lines).
    List {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Sets the services an organisation's contract covers, replacing the
    /// ones it had; no --service leaves it none.
    Subscribe {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        org: String,
        /// A service's slug; repeat for several.
        #[arg(long = "service")]
        services: Vec<String>,
    },
}

#[derive(Subcommand)]
pub(super) enum UserCommand {
    /// Adds a user. The password, if any, is read from SLADESK_PASSWORD.
    Add {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        role: crate::app::Role,
        #[arg(long)]
        email: String,
        /// The organisation's slug (customers only).
        #[arg(long)]
        org: Option<String>,
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Subcommand)]
pub(super) enum TokenCommand {
    /// Creates an API token and prints it alone on stdout, once.
    Create {
        #[command(flatten)]
        db: DbArgs,
        /// The user's email.
        #[arg(long)]
        user: String,
        #[arg(long, default_value = "cli")]
        name: String,
        /// full, intake (mail intake only), metrics (the /metrics scrape only),
        /// alerts (the Alertmanager webhook only), scim (provisioning the
        /// staff over /scim/v2) or scim:<slug> (an organisation's contacts).
        #[arg(long, default_value = "full")]
        scope: String,
        #[arg(long)]
        expires_in_days: Option<i64>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub(super) enum Format {
    Text,
    Json,
}

#[derive(Subcommand)]
pub(super) enum HolidaysCommand {
    /// Lists a region's bank holidays: `YYYY-MM-DD<TAB>title` per line.
    List {
        #[arg(long)]
        region: Region,
        #[arg(long)]
        from: i32,
        #[arg(long)]
        to: i32,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// A GOV.UK bank holidays JSON file to apply first.
        #[arg(long)]
        file: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub(super) enum CalendarCommand {
    /// The instant at which N business minutes have elapsed from START.
    Add {
        /// `24x7` or a policy's name (its base calendar).
        #[arg(long)]
        calendar: String,
        #[arg(long)]
        region: Region,
        /// RFC 3339 instant, any offset.
        #[arg(long)]
        start: String,
        #[arg(long)]
        minutes: i64,
    },
    /// JSON lines in, one JSON answer line out per input line, in order.
    Batch {
        /// Count the lines answered on stderr, when it is a terminal.
        #[arg(long)]
        progress: bool,
    },
}

#[derive(Subcommand)]
pub(super) enum SlaCommand {
    /// Response and resolve due instants of a ticket received at START.
    Due {
        #[arg(long)]
        policy: String,
        #[arg(long)]
        region: Region,
        #[arg(long)]
        severity: Severity,
        #[arg(long)]
        start: String,
    },
    /// Both clocks of ticket histories, offline: JSON lines in (one history
    /// each), one answer line out per input line, in order
    /// (docs/sla-replay.md).
    Replay {
        /// Count the histories answered on stderr, when it is a terminal.
        #[arg(long)]
        progress: bool,
    },
    /// Moves open tickets onto the policy version and holiday data now in
    /// force, showing old and new due instants and breach states per ticket.
    Recompute {
        /// sqlite://PATH (default sqlite://sladesk.db) or postgres://…
        #[arg(long = "database-url", env = "SLADESK_DATABASE_URL")]
        database_url: Option<String>,
        /// Settings file (default: sladesk.toml if present).
        #[arg(long, env = "SLADESK_CONFIG")]
        config: Option<PathBuf>,
        /// Only this organisation's tickets (its slug).
        #[arg(long)]
        org: Option<String>,
        /// Only this ticket.
        #[arg(long)]
        ticket: Option<String>,
        /// Show what would change; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
pub(super) enum PolicyCommand {
    /// Validates every policy file and lists name, version and effective date.
    Check,
}
