//! The fuzz targets: each takes arbitrary bytes, must never panic, and
//! checks what must hold whatever the input. Shared by the AFL++ binaries
//! (`fuzz/src/bin/`) and by the main suite's replay of the saved corpora
//! (`tests/fuzz_replay.rs`), so a crash found once stays a test.

use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use sladesk::app::App;
use sladesk::app::sender_auth::{Verdict, from_headers};
use sladesk::config::policies::{CalendarCache, PolicySet};
use sladesk::domain::holidays::Holidays;
use sladesk::domain::policy::Policy;

/// The shipped policies and the built-in holiday rules, loaded once.
pub struct Fixtures {
    pub policies: PolicySet,
    pub holidays: Holidays,
}

impl Fixtures {
    /// `repo` is the repository's root (where `sla-policies/` is).
    pub fn load(repo: &Path) -> Fixtures {
        Fixtures {
            policies: sladesk::config::policies::load_dir(&repo.join("sla-policies"))
                .expect("the shipped policies load"),
            holidays: Holidays::from_rules(),
        }
    }
}

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// Policy files: parsed or refused with a reason; a parsed one has a version.
pub fn policy_toml(data: &[u8]) {
    let Some(t) = text(data) else { return };
    if let Ok(p) = Policy::from_toml("fuzz.toml", t) {
        assert!(!p.version.is_empty(), "a parsed policy has a version");
    }
}

/// GOV.UK bank-holiday JSON: imported or refused; what was imported
/// exports and imports again.
pub fn holidays_json(data: &[u8]) {
    let Some(t) = text(data) else { return };
    let mut h = Holidays::from_rules();
    if h.import_govuk_json(t).is_ok() {
        let again = h.to_govuk_json(1990, 2100);
        Holidays::from_rules()
            .import_govuk_json(&again)
            .expect("an export imports again");
    }
}

/// `calendar batch` input: one answer for every non-blank line, each a
/// JSON object (an error is an answer too), and the run goes on. The
/// calendars' cache lives across inputs, as across a real run's lines.
pub fn calendar_batch(cache: &mut CalendarCache, data: &[u8]) {
    let mut out = Vec::new();
    let Ok(_) = sladesk::cli::batch(cache, BufReader::new(data), &mut out) else {
        // Input that is not UTF-8 stops the read, as it should.
        return;
    };
    let asked = String::from_utf8_lossy(data)
        .split('\n')
        .filter(|l| !l.trim_end_matches('\r').trim().is_empty())
        .count();
    let answers = String::from_utf8(out).expect("answers are text");
    let lines: Vec<&str> = answers.lines().collect();
    assert_eq!(lines.len(), asked, "one answer per line");
    for l in lines {
        let v: serde_json::Value = serde_json::from_str(l).expect("each answer is JSON");
        assert!(v.is_object(), "{l}");
    }
}

/// A reply's text and subject through the pure intake rules: the quoted
/// history is cut, never added to; a declared severity is one of four.
pub fn mail(data: &[u8]) {
    let t = String::from_utf8_lossy(data);
    let stripped = sladesk::app::intake::strip_reply(&t);
    assert!(stripped.len() <= t.len(), "stripping adds nothing");
    if let Some(s) = sladesk::app::intake::declared_severity(&t) {
        assert!((1..=4).contains(&u8::from(s)));
    }
}

/// `Authentication-Results` headers: a verdict, never a panic; a header
/// not from our MTA never gives one.
pub fn auth_results(data: &[u8]) {
    let t = String::from_utf8_lossy(data);
    let headers: Vec<&str> = t.split('\n').collect();
    let _ = from_headers(headers.iter().copied(), "mx.desk.example");
    if !t.to_ascii_lowercase().contains("mx.desk.example") {
        assert_eq!(
            from_headers(headers.iter().copied(), "mx.desk.example"),
            Verdict::Unknown
        );
    }
}

/// A multipart form body (boundary `b`) through the pages' form reader,
/// with its part cap: a form or a clean refusal.
pub fn multipart(system: &actix_web::rt::SystemRunner, data: &[u8]) {
    use actix_web::http::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
    use actix_web::web::Bytes;
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("multipart/form-data; boundary=b"),
    );
    // Two chunks, so that part boundaries fall across reads too.
    let cut = data.len() / 2;
    let chunks: Vec<Result<Bytes, actix_web::error::PayloadError>> = vec![
        Ok(Bytes::copy_from_slice(&data[..cut])),
        Ok(Bytes::copy_from_slice(&data[cut..])),
    ];
    let mp = actix_multipart::Multipart::new(&headers, futures_util::stream::iter(chunks));
    let within = std::time::Duration::from_secs(5);
    let got = system.block_on(sladesk::web::upload::collect_form(mp, 20, data.len(), within));
    if let Ok((fields, files)) = got {
        assert!(
            fields.as_object().map_or(0, |o| o.len()) + files.len() <= 20,
            "the part cap holds"
        );
        let bytes: usize = files.iter().map(|f| f.data.len()).sum();
        assert!(bytes <= data.len(), "no file is larger than the body");
    }
}

/// An application on a fresh SQLite file with one customer organisation,
/// for the whole intake pipeline.
pub fn intake_app(repo: &Path, dir: &Path) -> Arc<App> {
    use sladesk::app::admin::{NewOrganisationRequest, NewQueueRequest, NewUserRequest};
    use sladesk::app::{Principal, Role};
    std::fs::create_dir_all(dir).expect("a folder for the database");
    let settings = sladesk::config::Settings {
        listen: "127.0.0.1:0".into(),
        database_url: format!("sqlite://{}", dir.join("fuzz.db").display())
            .parse()
            .expect("a database URL"),
        policies: Some(repo.join("sla-policies")),
        holidays_file: None,
        pool_size: 2,
        workers: 1,
    };
    let app = sladesk::server::build_app(&settings).expect("the application");
    let op = Principal::operator();
    let now = sladesk::app::now();
    if app.principal_for("carol@acme.example").is_err() {
        app.create_organisation(
            &op,
            NewOrganisationRequest {
                slug: "acme".into(),
                name: "Acme".into(),
                tier: "silver".into(),
                region: "scotland".into(),
                email_domains: vec!["acme.example".into()],
                monthly_charge_pence: 100_000,
                contract_start: None,
                contract_end: None,
                may_declare_severity: true,
                account_contact: None,
                ticket_sharing: Default::default(),
            },
            now,
        )
        .expect("an organisation");
        app.create_user(
            &op,
            NewUserRequest {
                email: "carol@acme.example".into(),
                name: None,
                role: Role::Customer,
                organisation: Some("acme".into()),
                password: None,
            },
            now,
        )
        .expect("a contact");
        app.create_queue(
            &op,
            NewQueueRequest {
                slug: "service-desk".into(),
                name: "Service desk".into(),
                inbound_address: Some("support@desk.example".into()),
                lead: None,
                members: vec![],
                default_severity: Some(3),
                customer_selectable: true,
            },
            now,
        )
        .expect("a queue");
    }
    app.set_sender_authentication(sladesk::app::sender_auth::Mode::Header, Some("mx.desk.example".into()));
    app
}

/// A raw message through the whole intake pipeline: an outcome, or a
/// refusal of the whole message, never a panic nor a store error.
pub fn intake(app: &App, data: &[u8]) {
    match app.ingest(data, "fuzz", sladesk::app::now()) {
        Ok(_) | Err(sladesk::app::intake::IngestFailure::Unacceptable(_)) => {}
        Err(sladesk::app::intake::IngestFailure::Failed(e)) => panic!("a store error on a message: {e}"),
    }
}
