//! A real IMAP server for the poller's tests: Debian's Dovecot, started on a
//! free loopback port with a configuration, mailbox and TLS certificate of
//! its own in a temporary folder, stopped and removed on drop.
//! `tests/setup.sh` installs it; without it these tests fail, loudly.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const USER: &str = "desk";
pub const PASSWORD: &str = "imap-secret";

pub struct Dovecot {
    /// Plain IMAP, STARTTLS offered.
    pub port: u16,
    /// IMAP over TLS from the first byte.
    pub tls_port: u16,
    pub dir: PathBuf,
    /// PEM of the CA that signed the server's certificate (for 127.0.0.1).
    pub ca_file: PathBuf,
    child: Child,
}

fn run(cmd: &mut Command) {
    let o = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(o.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&o.stderr));
}

fn id(flag: &str, user: &str) -> u32 {
    let o = Command::new("id").args([flag, user]).output().unwrap();
    String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
}

/// A throwaway CA and a certificate for 127.0.0.1 signed by it.
pub fn certificates(dir: &Path) {
    let p = |n: &str| dir.join(n).display().to_string();
    run(Command::new("openssl").args([
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=sladesk test CA",
        "-keyout",
        &p("ca.key"),
        "-out",
        &p("ca.pem"),
    ]));
    run(Command::new("openssl").args([
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        &p("server.key"),
        "-out",
        &p("server.csr"),
    ]));
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(Command::new("openssl").args([
        "x509",
        "-req",
        "-in",
        &p("server.csr"),
        "-CA",
        &p("ca.pem"),
        "-CAkey",
        &p("ca.key"),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        &p("ext.cnf"),
        "-out",
        &p("server.pem"),
    ]));
}

/// The mailbox whose sign-in is an OAuth token (its user is the token's
/// client id, as the provider's introspection names it).
pub const OAUTH_USER: &str = "desk-mail";

impl Dovecot {
    pub fn start() -> Dovecot {
        Dovecot::start_with(None)
    }

    /// Dovecot that also takes XOAUTH2 and OAUTHBEARER, each token checked
    /// at `introspection` (an OAuth introspection endpoint, with the
    /// introspecting client's credentials in the address).
    pub fn start_with_oauth(introspection: &str) -> Dovecot {
        Dovecot::start_with(Some(introspection))
    }

    fn start_with(introspection: Option<&str>) -> Dovecot {
        let dovecot = Path::new("/usr/sbin/dovecot");
        assert!(
            dovecot.exists(),
            "Dovecot is not installed: run `bash tests/setup.sh` (it installs dovecot-imapd)"
        );
        let dir = std::env::temp_dir().join(format!("sladesk-dovecot-{}-{}", std::process::id(), crate::free_port()));
        for sub in ["run", "state", "home"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        certificates(&dir);
        // Dovecot refuses mail access as root; as root the mailbox belongs
        // to its own unprivileged user, otherwise to whoever runs the tests.
        let root = euid() == 0;
        let (uid, gid, extra) = if root {
            (id("-u", "dovecot"), id("-g", "dovecot"), String::new())
        } else {
            let me = std::env::var("USER").unwrap_or_else(|_| "nobody".into());
            (
                euid(),
                id("-g", &me),
                format!("default_internal_user = {me}\ndefault_login_user = {me}\ndefault_internal_group = {me}\n"),
            )
        };
        run(Command::new("chown").args([&format!("{uid}:{gid}"), &dir.join("home").display().to_string()]));
        std::fs::write(
            dir.join("passwd"),
            format!("{USER}:{{PLAIN}}{PASSWORD}::::::\n{OAUTH_USER}:{{PLAIN}}{PASSWORD}::::::\n"),
        )
        .unwrap();
        let oauth = match introspection {
            Some(url) => {
                std::fs::write(
                    dir.join("oauth2.conf.ext"),
                    format!(
                        "introspection_mode = post\nintrospection_url = {url}\nforce_introspection = yes\n\
                         username_attribute = client_id\nactive_attribute = active\nactive_value = true\n"
                    ),
                )
                .unwrap();
                format!(
                    "auth_mechanisms = plain login xoauth2 oauthbearer\nauth_cache_size = 0\n\
                     passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {}\n}}\n",
                    dir.join("oauth2.conf.ext").display()
                )
            }
            None => "auth_mechanisms = plain login\n".into(),
        };
        let (port, tls_port) = (crate::free_port(), crate::free_port());
        let d = dir.display();
        let conf = format!(
            "protocols = imap\nlisten = 127.0.0.1\nbase_dir = {d}/run\nstate_dir = {d}/state\n\
             log_path = {d}/dovecot.log\nssl = yes\nssl_cert = <{d}/server.pem\nssl_key = <{d}/server.key\n\
             disable_plaintext_auth = no\n{oauth}first_valid_uid = 1\n{extra}\
             passdb {{\n  driver = passwd-file\n  mechanisms = plain login\n  args = scheme=PLAIN username_format=%u {d}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid={uid} gid={gid} home={d}/home/%u\n}}\n\
             mail_location = maildir:~/Maildir\n\
             service imap-login {{\n  chroot =\n  inet_listener imap {{\n    port = {port}\n  }}\n  \
             inet_listener imaps {{\n    port = {tls_port}\n    ssl = yes\n  }}\n}}\n\
             service anvil {{\n  chroot =\n}}\n"
        );
        std::fs::write(dir.join("dovecot.conf"), conf).unwrap();
        let child = Command::new(dovecot)
            .args(["-F", "-c"])
            .arg(dir.join("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start dovecot");
        let d = Dovecot {
            port,
            tls_port,
            ca_file: dir.join("ca.pem"),
            dir,
            child,
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "dovecot did not start: {}",
                std::fs::read_to_string(d.dir.join("dovecot.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }

    /// A plain session of the test's own, to put mail in and look.
    pub fn session(&self) -> imap::Session<TcpStream> {
        self.session_of(USER)
    }

    pub fn session_of(&self, user: &str) -> imap::Session<TcpStream> {
        let tcp = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        let mut client = imap::Client::new(tcp);
        client.read_greeting().unwrap();
        client.login(user, PASSWORD).map_err(|(e, _)| e).unwrap()
    }

    pub fn append(&self, folder: &str, messages: &[Vec<u8>]) {
        self.append_as(USER, folder, messages)
    }

    pub fn append_as(&self, user: &str, folder: &str, messages: &[Vec<u8>]) {
        let mut s = self.session_of(user);
        if folder != "INBOX" {
            let _ = s.create(folder);
        }
        for m in messages {
            s.append(folder, m).finish().unwrap();
        }
        s.logout().unwrap();
    }

    /// (UID, seen, flagged) of each message in the folder.
    pub fn list(&self, folder: &str) -> Vec<(u32, bool, bool)> {
        let mut s = self.session();
        if s.select(folder).is_err() {
            return Vec::new();
        }
        let fetched = s.uid_fetch("1:*", "(UID FLAGS)");
        let mut out: Vec<(u32, bool, bool)> = match fetched {
            Ok(f) => f
                .iter()
                .map(|m| {
                    let flags = m.flags();
                    (
                        m.uid.unwrap(),
                        flags.contains(&imap::types::Flag::Seen),
                        flags.contains(&imap::types::Flag::Flagged),
                    )
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        out.sort_unstable();
        let _ = s.logout();
        out
    }

    pub fn settings(&self, processed: Option<&str>) -> sladesk::mail::imap::ImapSettings {
        toml::from_str(&format!(
            "host = '127.0.0.1'\nport = {}\nsecurity = 'none'\nuser = '{USER}'\npassword = '{PASSWORD}'\n{}",
            self.port,
            processed
                .map(|p| format!("processed_folder = '{p}'\n"))
                .unwrap_or_default()
        ))
        .unwrap()
    }
}

fn euid() -> u32 {
    let o = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // SIGTERM, so the master takes its login and mail processes with it.
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
