//! The admin pages: organisations, users, queues, services (and which
//! organisations take each) and tokens, and the loaded policies and
//! holidays, read-only.

use super::*;

#[derive(Deserialize)]
pub(super) struct AdminQuery {
    done: Option<String>,
}

pub(super) async fn admin(v: Viewer, app: State, q: web::Query<AdminQuery>) -> Result<HttpResponse, WebError> {
    admin_page(&v, app, q.done.clone(), None, None).await
}

pub(super) async fn admin_page(
    v: &Viewer,
    app: State,
    notice: Option<String>,
    error: Option<String>,
    new_token: Option<String>,
) -> Result<HttpResponse, WebError> {
    v.session.principal.require_admin()?;
    let app = app.get_ref().clone();
    let (who, tz) = (v.who(), v.tz());
    let ((orgs, networks, mailboxes), users, queues, tokens, tiers, services, subscriptions) = run(move || {
        let orgs = app.list_organisations(&who)?;
        let subscriptions = orgs
            .iter()
            .map(|o| {
                let slugs: Vec<String> = app
                    .organisation_services(&who, &o.slug)?
                    .into_iter()
                    .map(|s| s.slug)
                    .collect();
                Ok((o.slug.clone(), slugs))
            })
            .collect::<Result<Vec<_>, AppError>>()?;
        // The allow-lists: the staff's, then each organisation's.
        let mut networks = vec![(
            "staff".to_string(),
            "Staff".to_string(),
            app.networks(&who, &crate::app::admin::NetworkScope::Staff)?.networks,
        )];
        for o in &orgs {
            let scope = crate::app::admin::NetworkScope::Organisation(o.slug.clone());
            networks.push((o.slug.clone(), o.name.clone(), app.networks(&who, &scope)?.networks));
        }
        let mailboxes = (app.mailbox_health(&who)?, app.list_webhooks(&who)?);
        Ok((
            (orgs, networks, mailboxes),
            app.list_users(&who)?,
            app.list_queues(&who)?,
            app.list_tokens(&who)?,
            app.policies.names().iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            app.list_services(&who)?,
            subscriptions,
        ))
    })
    .await?;
    // Each service with who takes it; each organisation with a box per
    // service, ticked where its contract covers it.
    let services_shown: Vec<Value> = services
        .iter()
        .map(|s| {
            let takers: Vec<&str> = subscriptions
                .iter()
                .filter(|(_, slugs)| slugs.contains(&s.slug))
                .map(|(o, _)| o.as_str())
                .collect();
            json!({"slug": s.slug, "name": s.name, "group": s.group, "description": s.description,
                   "organisations": takers.join(", ")})
        })
        .collect();
    let coverage: Vec<Value> = subscriptions
        .iter()
        .map(|(org, slugs)| {
            let boxes: Vec<Value> = services
                .iter()
                .map(|s| json!({"slug": s.slug, "name": s.name, "on": slugs.contains(&s.slug)}))
                .collect();
            json!({"org": org, "services": boxes})
        })
        .collect();
    let orgs: Vec<Value> = orgs
        .iter()
        .map(|o| {
            json!({
                "slug": o.slug, "name": o.name, "tier": o.tier, "region": o.region,
                "domains": o.email_domains.join(", "), "status": o.status,
                "charge": crate::reports::render::pounds(o.monthly_charge_pence),
                "contract_start": o.contract_start, "contract_end": o.contract_end,
                "own": o.ticket_sharing == crate::app::tickets::TicketSharing::Own,
            })
        })
        .collect();
    let users: Vec<Value> = users
        .iter()
        .map(|u| {
            json!({"email": u.email, "name": u.name, "role": u.role, "organisation": u.organisation,
                   "disabled": u.disabled, "time_zone": u.time_zone})
        })
        .collect();
    let tokens: Vec<Value> = tokens
        .iter()
        .map(|t| {
            json!({"id": t.id, "name": t.name, "user": t.user, "scope": t.scope, "revoked": t.revoked,
                   "created": when(t.created_at, tz), "expires": when_opt(t.expires_at, tz),
                   "last_used": when_opt(t.last_used_at, tz)})
        })
        .collect();
    page_with_status(
        form_status(&error),
        Some(&v.session),
        "Administration",
        "admin",
        json!({
            "orgs": orgs, "users": users, "queues": queues, "tokens": tokens, "tiers": tiers,
            "services": services_shown, "coverage": coverage,
            "networks": networks.iter().map(|(scope, name, list)| json!({
                "scope": scope, "name": name, "list": list.join(", "), "lines": list.join("\n"),
            })).collect::<Vec<_>>(),
            "webhooks": mailboxes.1.iter().map(|w| json!({
                "name": w.name, "url": w.url, "format": w.format.as_str(), "events": w.events.join(", "),
                "scope": webhook_scope(w),
                "enabled": w.enabled, "failing_since": when_opt(w.failing_since, tz), "disabled_at": when_opt(w.disabled_at, tz),
                "last_success": when_opt(w.last_success_at, tz), "last_error": w.last_error,
            })).collect::<Vec<_>>(),
            "mailboxes": mailboxes.0.iter().map(|m| json!({
                "name": m.mailbox, "ok": m.failing_since.is_none(), "failures": m.consecutive_failures,
                "last_success": when_opt(m.last_success_at, tz), "failing_since": when_opt(m.failing_since, tz),
                "error": m.last_error, "notified": m.notified,
            })).collect::<Vec<_>>(),
            "regions": Region::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            "notice": notice, "error": error, "new_token": new_token,
        }),
    )
}

/// Whose events a webhook takes: its organisation, queue and severities,
/// or all.
fn webhook_scope(w: &crate::app::webhooks::WebhookView) -> String {
    let severities = w
        .severities
        .as_ref()
        .map(|s| s.iter().map(|x| format!("S{x}")).collect::<Vec<_>>().join(","));
    let parts: Vec<String> = [w.organisation.clone(), w.queue.clone(), severities]
        .into_iter()
        .flatten()
        .collect();
    if parts.is_empty() {
        "everything".into()
    } else {
        parts.join(" · ")
    }
}

pub(super) fn opt(form: &std::collections::HashMap<String, String>, k: &str) -> Option<String> {
    form.get(k).map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

pub(super) fn list(form: &std::collections::HashMap<String, String>, k: &str) -> Vec<String> {
    opt(form, k)
        .map(|s| {
            s.split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Pounds as typed (`1250`, `1,250.50`) to pence.
pub(super) fn pence(s: &str) -> Result<i64, AppError> {
    crate::domain::money::Pence::from_pounds(s)
        .map(|p| p.0)
        .map_err(|e| crate::app::invalid("monthly_charge", e.to_string()))
}

pub(super) fn date(form: &std::collections::HashMap<String, String>, k: &str) -> Result<Option<NaiveDate>, AppError> {
    opt(form, k)
        .map(|s| {
            s.parse::<NaiveDate>()
                .map_err(|_| crate::app::invalid(k, format!("'{s}' is not a date")))
        })
        .transpose()
}

/// The admin forms: organisation, user, queue, token, token revocation,
/// user enable/disable. Each goes through the API's use case.
pub(super) async fn admin_post(
    v: Viewer,
    app: State,
    path: web::Path<String>,
    form: web::Form<std::collections::HashMap<String, String>>,
) -> Result<HttpResponse, WebError> {
    v.check_csrf(form.get("csrf").map(String::as_str).unwrap_or(""))?;
    v.session.principal.require_admin()?;
    let what = path.into_inner();
    let form = form.into_inner();
    let a = app.get_ref().clone();
    let who = v.who();
    let w = what.clone();
    let outcome = run_form(move || {
        let now = crate::app::now();
        let f = &form;
        let done: Result<(String, Option<String>), AppError> = (|| match w.as_str() {
            "organisations" => {
                let req = NewOrganisationRequest {
                    slug: opt(f, "slug").unwrap_or_default(),
                    name: opt(f, "name").unwrap_or_default(),
                    tier: opt(f, "tier").unwrap_or_default(),
                    region: opt(f, "region").unwrap_or_default(),
                    email_domains: list(f, "email_domains"),
                    monthly_charge_pence: pence(f.get("monthly_charge").map(String::as_str).unwrap_or(""))?,
                    contract_start: date(f, "contract_start")?,
                    contract_end: date(f, "contract_end")?,
                    may_declare_severity: f.contains_key("may_declare_severity"),
                    account_contact: opt(f, "account_contact"),
                    ticket_sharing: opt(f, "ticket_sharing")
                        .map(|s| s.parse().map_err(|e: String| crate::app::invalid("ticket_sharing", e)))
                        .transpose()?
                        .unwrap_or_default(),
                };
                let o = a.create_organisation(&who, req, now)?;
                Ok((format!("Organisation {} added.", o.slug), None))
            }
            "users" => {
                let role = opt(f, "role").unwrap_or_default();
                let req = NewUserRequest {
                    email: opt(f, "email").unwrap_or_default(),
                    name: opt(f, "name"),
                    role: role.parse().map_err(|e: String| crate::app::invalid("role", e))?,
                    organisation: opt(f, "organisation"),
                    password: opt(f, "password"),
                };
                let u = a.create_user(&who, req, now)?;
                Ok((format!("User {} added.", u.email), None))
            }
            "queues" => {
                let req = NewQueueRequest {
                    slug: opt(f, "slug").unwrap_or_default(),
                    name: opt(f, "name").unwrap_or_default(),
                    inbound_address: opt(f, "inbound_address"),
                    lead: opt(f, "lead"),
                    members: list(f, "members"),
                    default_severity: opt(f, "default_severity").and_then(|s| s.parse().ok()),
                    customer_selectable: opt(f, "customer_selectable").is_some(),
                };
                let q = a.create_queue(&who, req, now)?;
                Ok((format!("Queue {} added.", q.slug), None))
            }
            "services" => {
                let req = crate::app::services::NewServiceRequest {
                    slug: opt(f, "slug").unwrap_or_default(),
                    name: opt(f, "name").unwrap_or_default(),
                    group: opt(f, "group"),
                    description: opt(f, "description"),
                };
                let s = a.create_service(&who, req, now)?;
                Ok((format!("Service {} added.", s.slug), None))
            }
            "subscriptions" => {
                // One box per service, named `service:<slug>`; ticked ones arrive.
                let org = opt(f, "organisation").unwrap_or_default();
                let services: Vec<String> = f
                    .keys()
                    .filter_map(|k| k.strip_prefix("service:"))
                    .map(str::to_string)
                    .collect();
                let now_covered = a.set_organisation_services(
                    &who,
                    &org,
                    crate::app::services::SubscriptionsRequest { services },
                    now,
                )?;
                Ok((format!("{org} now takes {} service(s).", now_covered.len()), None))
            }
            "tokens" => {
                let email = opt(f, "user").unwrap_or_default();
                let days = opt(f, "days")
                    .map(|d| {
                        d.parse::<i64>()
                            .map_err(|_| crate::app::invalid("days", "expected a whole number of days"))
                    })
                    .transpose()?;
                let t = a.create_token(
                    &who,
                    &email,
                    &opt(f, "name").unwrap_or_default(),
                    &opt(f, "scope").unwrap_or_else(|| "full".into()),
                    days.map(chrono::Duration::days),
                    now,
                )?;
                Ok((
                    format!("Token made for {email}: copy it now, it is not shown again."),
                    Some(t),
                ))
            }
            "revoke-token" => {
                let id = opt(f, "id").and_then(|s| s.parse().ok()).unwrap_or(-1);
                a.revoke_token(&who, id, now)?;
                Ok(("Token revoked.".to_string(), None))
            }
            "user-disabled" => {
                let email = opt(f, "email").unwrap_or_default();
                let disabled = opt(f, "disabled").as_deref() == Some("true");
                a.update_user(
                    &who,
                    &email,
                    UserPatch {
                        name: None,
                        disabled: Some(disabled),
                        time_zone: None,
                    },
                    now,
                )?;
                Ok((
                    format!("{email} {}.", if disabled { "disabled" } else { "enabled" }),
                    None,
                ))
            }
            "organisation-sharing" => {
                let slug = opt(f, "slug").unwrap_or_default();
                let sharing = opt(f, "ticket_sharing")
                    .unwrap_or_default()
                    .parse()
                    .map_err(|e: String| crate::app::invalid("ticket_sharing", e))?;
                let patch = crate::app::admin::OrganisationPatch {
                    ticket_sharing: Some(sharing),
                    may_declare_severity: None,
                };
                a.update_organisation(&who, &slug, patch, now)?;
                Ok((format!("{slug} now shares tickets: {}.", sharing_text(sharing)), None))
            }
            "networks" => {
                let scope = match opt(f, "scope").as_deref() {
                    Some("staff") | None => crate::app::admin::NetworkScope::Staff,
                    Some(slug) => crate::app::admin::NetworkScope::Organisation(slug.to_string()),
                };
                let networks: Vec<String> = f
                    .get("networks")
                    .map(|t| {
                        t.split(|c: char| c == ',' || c.is_whitespace())
                            .filter(|x| !x.is_empty())
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                let set = a.set_networks(&who, &scope, &crate::app::admin::Networks { networks }, now)?;
                let whose = opt(f, "scope").unwrap_or_else(|| "staff".into());
                let what = if set.networks.is_empty() {
                    "any address".to_string()
                } else {
                    set.networks.join(", ")
                };
                Ok((format!("Allowed networks for {whose}: {what}."), None))
            }
            "sign-in-reset" => {
                let email = opt(f, "email").unwrap_or_default();
                let clear = f.contains_key("clear_totp");
                a.reset_sign_in(&who, &email, opt(f, "password").as_deref(), clear, now)?;
                Ok((format!("Sign-in reset for {email}; their sessions have ended."), None))
            }
            other => Err(AppError::NotFound(format!("admin form {other}"))),
        })();
        done
    })
    .await?;
    match outcome {
        Ok((notice, token)) => admin_page(&v, app, Some(notice), None, token).await,
        Err(r) => admin_page(&v, app, None, Some(r.to_string()), None).await,
    }
}

/// The loaded SLA policies and this year's and next year's holidays, read-only.
pub(super) async fn policies(v: Viewer, app: State) -> Result<HttpResponse, WebError> {
    v.session.principal.require_admin()?;
    let year = crate::app::now().year();
    let policies: Vec<Value> = app
        .policies
        .iter()
        .map(|(p, file)| {
            json!({
                "name": p.name,
                "description": p.description,
                "version": p.version,
                "effective_from": p.effective_from,
                "file": file.file_name().map(|f| f.to_string_lossy().to_string()),
                "source": app.policies.source(&p.version),
            })
        })
        .collect();
    let calendars: Vec<Value> = Region::ALL
        .iter()
        .map(|r| {
            let days: Vec<Value> = app
                .holidays
                .list(*r, year, year + 1)
                .into_iter()
                .map(|h| json!({"date": h.date.format("%a %-d %b %Y").to_string(), "title": h.title}))
                .collect();
            json!({"region": r.as_str(), "days": days})
        })
        .collect();
    page(
        Some(&v.session),
        "Policies and holidays",
        "policies",
        json!({"policies": policies, "calendars": calendars, "from": year, "to": year + 1, "holiday_set": app.holiday_set}),
    )
}

/// An organisation's ticket sharing, as the admin page says it.
fn sharing_text(s: crate::app::tickets::TicketSharing) -> &'static str {
    match s {
        crate::app::tickets::TicketSharing::Organisation => "every contact sees every ticket",
        crate::app::tickets::TicketSharing::Own => "each contact sees their own and the ones they watch",
    }
}
