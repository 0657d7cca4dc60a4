//! Real protocol peers from the npm registry (tests/peers, installed by
//! tests/setup.sh): an OpenID provider, run by a test on a port of its own.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

fn peers_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers"));
    assert!(
        dir.join("node_modules/oidc-provider").is_dir(),
        "tests/peers/node_modules is missing: run `bash tests/setup.sh` (it installs the test peers with npm)"
    );
    dir
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The `oidc-provider` package on a port of its own.
pub struct Idp {
    pub issuer: String,
    child: Child,
}

impl Idp {
    /// A provider with one confidential client per `(client_id, secret)`,
    /// each allowed to send people back to `desk`.
    pub fn start(desk: &str, clients: &[(&str, &str)]) -> Idp {
        Idp::start_with(desk, clients, None)
    }

    /// The same, its client-credentials tokens living `cc_ttl` seconds.
    #[allow(dead_code)]
    pub fn start_with(desk: &str, clients: &[(&str, &str)], cc_ttl: Option<u32>) -> Idp {
        let dir = peers_dir();
        let port = free_port();
        let clients: Vec<Value> = clients
            .iter()
            .map(|(id, secret)| {
                json!({
                    "client_id": id,
                    "client_secret": secret,
                    "redirect_uris": [format!("{desk}/sign-in/sso/callback")],
                    "post_logout_redirect_uris": [format!("{desk}/sign-in")],
                    "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
                    "response_types": ["code"],
                })
            })
            .collect();
        let mut child = Command::new("node")
            .arg(dir.join("oidc.mjs"))
            .arg(port.to_string())
            .arg(Value::Array(clients).to_string())
            .current_dir(&dir)
            .env("OIDC_CC_TTL", cc_ttl.unwrap_or(300).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node (tests/setup.sh installs the peers; node comes with the machine)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(
            line.starts_with("ready "),
            "the OpenID provider did not start: {line:?}"
        );
        Idp {
            issuer: line.trim_start_matches("ready ").trim().to_string(),
            child,
        }
    }

    /// The provider's port.
    #[allow(dead_code)]
    pub fn port(&self) -> u16 {
        self.issuer.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// Makes or changes an account at the provider.
    #[allow(dead_code)]
    pub async fn account(&self, id: &str, email: &str, name: &str, roles: &[&str]) {
        let r = reqwest::Client::new()
            .post(format!("{}/test/accounts", self.issuer))
            .json(&json!({"id": id, "email": email, "name": name, "roles": roles}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 204);
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A webhook receiver checking every delivery with the npm
/// `standardwebhooks` package (tests/peers/webhooks.mjs).
pub struct Receiver {
    pub base: String,
    child: Child,
}

#[allow(dead_code)]
impl Receiver {
    pub fn start() -> Receiver {
        let dir = peers_dir();
        let port = free_port();
        let mut child = Command::new("node")
            .arg(dir.join("webhooks.mjs"))
            .arg(port.to_string())
            .current_dir(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "the webhook receiver did not start");
        Receiver {
            base: format!("http://127.0.0.1:{port}"),
            child,
        }
    }

    /// Everything received so far, each verified against `secret`.
    pub async fn received(&self, secret: &str) -> Vec<Value> {
        reqwest::Client::new()
            .get(format!("{}/received", self.base))
            .header("x-secret", secret)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The next `times` deliveries to `/hook/<name>` get 500.
    pub async fn fail(&self, name: &str, times: u32) {
        reqwest::Client::new()
            .post(format!("{}/fail/{name}", self.base))
            .json(&json!({"times": times}))
            .send()
            .await
            .unwrap();
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
