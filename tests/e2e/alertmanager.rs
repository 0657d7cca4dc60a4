//! Monitoring alerts from the real Prometheus Alertmanager (Debian's
//! `prometheus-alertmanager`, installed by tests/setup.sh) to a running
//! `sladesk serve`: alerts are posted to Alertmanager's own API, and it
//! groups, repeats and resolves them to sladesk's webhook as it does in
//! production. sladesk is killed (SIGKILL) mid-stream and started again:
//! there must be no duplicate ticket and no lost recovery.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::free_port;

const ALERTMANAGER: &str = "/usr/bin/prometheus-alertmanager";

fn sladesk(dir: &Path, args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_sladesk"))
        .args(args)
        .current_dir(dir)
        .env_remove("SLADESK_DATABASE_URL")
        .env_remove("SLADESK_LISTEN")
        .output()
        .unwrap();
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

fn serve(dir: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_sladesk"))
        .arg("serve")
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .env_remove("SLADESK_DATABASE_URL")
        .env_remove("SLADESK_LISTEN")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn wait_until<F, Fut>(what: &str, secs: u64, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("{what}: not within {secs} s");
}

struct Killed(Vec<Child>);

impl Drop for Killed {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn alert(name: &str, ends: Option<chrono::DateTime<chrono::Utc>>, starts: chrono::DateTime<chrono::Utc>) -> Value {
    let mut a = json!({
        "labels": {"alertname": name, "service": "objstore-lon2", "severity": "critical"},
        "annotations": {"summary": format!("{name} on LON2 object storage")},
        "startsAt": starts.to_rfc3339(),
        "generatorURL": "http://prometheus.example:9090/graph",
    });
    if let Some(e) = ends {
        a["endsAt"] = json!(e.to_rfc3339());
    }
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_fires_repeats_groups_and_resolves_into_one_ticket_each_across_a_killed_server() {
    assert!(
        Path::new(ALERTMANAGER).exists(),
        "{ALERTMANAGER} is missing: run tests/setup.sh"
    );
    let dir: PathBuf = std::env::temp_dir().join(format!("sladesk-am-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("am")).unwrap();
    let port = free_port();
    std::fs::write(
        dir.join("sladesk.toml"),
        format!(
            "listen = \"127.0.0.1:{port}\"\ndatabase_url = \"sqlite://{}\"\n\n[scheduler]\nenabled = false\n\n\
             [alerts]\norganisation = \"provider\"\nrequester = \"monitoring@provider.example\"\n\n\
             [[alerts.rules]]\nlabels = {{ service = \"objstore-lon2\" }}\nservices = [\"objstore-lon2\"]\n",
            dir.join("desk.db").display()
        ),
    )
    .unwrap();
    sladesk(&dir, &["migrate"]);
    sladesk(&dir, &["queue", "add", "--slug", "platform", "--name", "Platform"]);
    sladesk(
        &dir,
        &[
            "org",
            "add",
            "--slug",
            "provider",
            "--name",
            "Provider",
            "--tier",
            "platinum",
            "--region",
            "england-and-wales",
        ],
    );
    sladesk(
        &dir,
        &[
            "user",
            "add",
            "--role",
            "customer",
            "--email",
            "monitoring@provider.example",
            "--org",
            "provider",
        ],
    );
    sladesk(
        &dir,
        &["user", "add", "--role", "admin", "--email", "admin@desk.example"],
    );
    sladesk(
        &dir,
        &[
            "service",
            "add",
            "--slug",
            "objstore-lon2",
            "--name",
            "Object storage – LON2",
        ],
    );
    let hook_token = sladesk(
        &dir,
        &["token", "create", "--user", "admin@desk.example", "--scope", "alerts"],
    );
    let admin = sladesk(&dir, &["token", "create", "--user", "admin@desk.example"]);
    let (hook_token, admin) = (hook_token.trim().to_string(), admin.trim().to_string());

    let am_port = free_port();
    let cluster_port = free_port();
    std::fs::write(
        dir.join("am/alertmanager.yml"),
        format!(
            "route:\n  receiver: sladesk\n  group_by: ['alertname']\n  group_wait: 1s\n  group_interval: 2s\n  repeat_interval: 3s\n\
             receivers:\n- name: sladesk\n  webhook_configs:\n  - url: http://127.0.0.1:{port}/api/v1/alerts/alertmanager\n    \
             send_resolved: true\n    http_config:\n      authorization:\n        credentials: {hook_token}\n"
        ),
    )
    .unwrap();
    let server = serve(&dir);
    let am = Command::new(ALERTMANAGER)
        .arg(format!("--config.file={}", dir.join("am/alertmanager.yml").display()))
        .arg(format!("--storage.path={}", dir.join("am/data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{am_port}"))
        .arg(format!("--cluster.listen-address=127.0.0.1:{cluster_port}"))
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut procs = Killed(vec![am, server]);
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let am_base = format!("http://127.0.0.1:{am_port}");
    let (c, b) = (client.clone(), am_base.clone());
    wait_until("Alertmanager ready", 30, move || {
        let (c, b) = (c.clone(), b.clone());
        async move {
            c.get(format!("{b}/-/ready"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        }
    })
    .await;
    let post_alerts = |alerts: Value| {
        let (c, b) = (client.clone(), am_base.clone());
        async move {
            let r = c.post(format!("{b}/api/v2/alerts")).json(&alerts).send().await.unwrap();
            assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        }
    };
    let tickets = || {
        let (c, base, admin) = (client.clone(), base.clone(), admin.clone());
        async move {
            let Ok(r) = c
                .get(format!("{base}/api/v1/tickets?organisation=provider&limit=100"))
                .bearer_auth(&admin)
                .send()
                .await
            else {
                return Vec::new();
            };
            let v: Value = r.json().await.unwrap_or(Value::Null);
            v["items"].as_array().cloned().unwrap_or_default()
        }
    };
    let events = |reference: String| {
        let (c, base, admin) = (client.clone(), base.clone(), admin.clone());
        async move {
            let Ok(r) = c
                .get(format!("{base}/api/v1/tickets/{reference}/events"))
                .bearer_auth(&admin)
                .send()
                .await
            else {
                return Vec::new();
            };
            let v: Value = r.json().await.unwrap_or(Value::Null);
            v.as_array().cloned().unwrap_or_default()
        }
    };
    let bodies = |evs: &[Value], start: &str| {
        evs.iter()
            .filter(|e| e["body"].as_str().is_some_and(|b| b.starts_with(start)))
            .count()
    };

    // Two alerts of one name: one group, two fingerprints, two tickets.
    let t0 = chrono::Utc::now() - chrono::Duration::minutes(2);
    let first = json!([alert("ObjectStoreErrors", None, t0), {
        "labels": {"alertname": "ObjectStoreErrors", "service": "objstore-lon2", "severity": "critical", "node": "b"},
        "annotations": {"summary": "node b"}, "startsAt": t0.to_rfc3339(),
    }]);
    post_alerts(first.clone()).await;
    wait_until("two tickets from one group", 30, || async {
        tickets().await.len() == 2
    })
    .await;
    let refs: Vec<String> = tickets()
        .await
        .iter()
        .map(|t| t["reference"].as_str().unwrap().to_string())
        .collect();
    // Repeats (Alertmanager re-sends every 3 s): notes, never a new ticket.
    wait_until("a repeat noted", 30, || {
        let r = refs[0].clone();
        async move { bodies(&events(r).await, "Alertmanager notified the alert again") >= 1 }
    })
    .await;
    assert_eq!(tickets().await.len(), 2);

    // sladesk killed mid-stream; meanwhile a new alert fires and one of the
    // first two resolves. Alertmanager keeps trying; sladesk comes back.
    let mut server = procs.0.pop().unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    post_alerts(json!([alert("ComputeHostDown", None, t0)])).await;
    post_alerts(json!([alert("ObjectStoreErrors", Some(chrono::Utc::now()), t0)])).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    procs.0.push(serve(&dir));
    wait_until("the new alert's ticket after the restart", 60, || async {
        tickets().await.len() == 3
    })
    .await;
    let resolved_ref = {
        let mut found = None;
        for r in &refs {
            if bodies(&events(r.clone()).await, "The alert recovered") > 0 {
                found = Some(r.clone());
            }
        }
        found
    };
    let resolved_ref = match resolved_ref {
        Some(r) => r,
        None => {
            let mut found = None;
            let start = Instant::now();
            while found.is_none() && start.elapsed() < Duration::from_secs(60) {
                for r in &refs {
                    if bodies(&events(r.clone()).await, "The alert recovered") > 0 {
                        found = Some(r.clone());
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            found.expect("the recovery sent while sladesk was down is recorded after it came back")
        }
    };
    // Alertmanager goes on re-sending the resolved alert and repeating the
    // firing ones: still three tickets, the recovery recorded once.
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(tickets().await.len(), 3, "no duplicate ticket");
    assert_eq!(
        bodies(&events(resolved_ref).await, "The alert recovered"),
        1,
        "recorded once"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
