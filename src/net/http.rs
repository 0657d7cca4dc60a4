//! The one HTTP client the desk calls out with, blocking (its callers run
//! on blocking threads, as every use case does): rustls with the same
//! ring provider and web roots as mail, short timeouts, and no redirects
//! followed, so an answer always comes from the address asked.

use std::sync::OnceLock;
use std::time::Duration;

/// How long a call may take in all.
pub const TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) fn tls() -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// Makes ring the process's rustls provider (the one mail already uses),
/// for any HTTP client built without a TLS configuration of its own. A
/// second call, or a provider installed before, changes nothing.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The client for services the operator named in the settings (identity
/// providers, token endpoints). Made once and never dropped: a blocking
/// client owns a runtime, which must not be dropped on an async thread.
pub fn client() -> &'static reqwest::blocking::Client {
    static CLIENT: OnceLock<reqwest::blocking::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        // Built on a thread of its own: building a blocking client inside
        // an async runtime's thread is refused by reqwest.
        std::thread::spawn(|| {
            reqwest::blocking::Client::builder()
                .tls_backend_preconfigured(tls())
                .redirect(reqwest::redirect::Policy::none())
                .timeout(TIMEOUT)
                .connect_timeout(Duration::from_secs(5))
                .user_agent(concat!("sladesk/", env!("CARGO_PKG_VERSION")))
                .build()
                .expect("the HTTP client's settings are fixed")
        })
        .join()
        .expect("building the HTTP client")
    })
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpFail(String);

/// The `oauth2` and `openidconnect` crates' HTTP calls, made with the
/// desk's client.
pub struct OAuthHttp;

impl oauth2::SyncHttpClient for OAuthHttp {
    type Error = HttpFail;

    fn call(&self, request: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, HttpFail> {
        let (parts, body) = request.into_parts();
        let mut req = client().request(parts.method, parts.uri.to_string()).body(body);
        for (name, value) in &parts.headers {
            req = req.header(name, value);
        }
        let resp = req.send().map_err(|e| HttpFail(e.to_string()))?;
        let mut out = oauth2::http::Response::builder().status(resp.status());
        for (name, value) in resp.headers() {
            out = out.header(name, value);
        }
        let body = resp.bytes().map_err(|e| HttpFail(e.to_string()))?;
        out.body(body.to_vec()).map_err(|e| HttpFail(e.to_string()))
    }
}
