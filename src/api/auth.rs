//! Who is calling: the bearer token of a request, checked against the
//! store (with a short cache), as an extractor every handler takes.

use super::*;

/// The authenticated caller.
pub struct Caller(pub Principal);

impl FromRequest for Caller {
    type Error = Problem;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, Problem>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let app = req.app_data::<State>().cloned();
        let token = bearer_token(req);
        // X-Forwarded-For only from a trusted proxy: a client can write any header it likes.
        let remote = client::Client::of(req).addr_text();
        Box::pin(async move {
            let app = app.ok_or_else(|| Problem::bad_request("server misconfigured"))?;
            let token = token?;
            let now = crate::app::now();
            if let Some(p) = app.cached_principal(&token, remote.clone(), now) {
                return Ok(Caller(p));
            }
            let p = web::block(move || app.authenticate(&token, remote, now)).await??;
            Ok(Caller(p))
        })
    }
}

/// The bearer token of a request, or why there is none.
pub(crate) fn bearer_token(req: &HttpRequest) -> Result<String, Problem> {
    let unauthenticated = |why: &str| Problem::from(AppError::Unauthenticated(why.into()));
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthenticated("send Authorization: Bearer <token>"))?;
    let h = header
        .to_str()
        .map_err(|_| unauthenticated("the Authorization header is not text"))?;
    match h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")) {
        Some(t) if !t.trim().is_empty() => Ok(t.trim().to_string()),
        _ => Err(unauthenticated("expected Authorization: Bearer <token>")),
    }
}
