//! Outbound HTTP: the adapters through which the desk talks to web
//! services around it. `oidc` speaks OpenID Connect to identity
//! providers; `webhooks` posts the desk's events, signed. Like `mail/`, this layer calls `app`; `app` never calls it.

pub mod http;
pub mod oidc;
pub mod webhooks;
