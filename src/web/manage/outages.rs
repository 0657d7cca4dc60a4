//! Outages: the list, recording one in the viewer's time zone, ending one.

use super::*;

pub(super) async fn outages_page(
    v: &Viewer,
    app: State,
    error: Option<String>,
    form: Value,
    warnings: Vec<String>,
) -> Result<HttpResponse, WebError> {
    require_manager(v)?;
    let app = app.get_ref().clone();
    let (who, tz) = (v.who(), v.tz());
    let (list, orgs) = run(move || {
        let now = crate::app::now();
        Ok((app.list_outages(&who, None, None, now)?, app.list_organisations(&who)?))
    })
    .await?;
    let mut list = list;
    list.sort_by_key(|o| std::cmp::Reverse(o.start));
    let rows: Vec<Value> = list.iter().map(|o| outage_json(o, tz)).collect();
    // After a refusal the form comes back as it was sent: the kind, and
    // which organisations (never falling back to every organisation).
    let chosen: Vec<&str> = form["orgs"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let org_opts: Vec<Value> = orgs
        .iter()
        .map(|o| json!({"slug": o.slug, "name": o.name, "checked": chosen.contains(&o.slug.as_str())}))
        .collect();
    let kinds: Vec<Value> = [
        ("platform_issue", "platform issue (unplanned)"),
        ("emergency_maintenance", "emergency maintenance"),
        ("planned_maintenance", "planned maintenance"),
    ]
    .iter()
    .map(|(value, label)| json!({"value": value, "label": label, "selected": form["kind"] == *value}))
    .collect();
    let some = form["scope"] == "some";
    page_with_status(
        form_status(&error),
        Some(&v.session),
        "Outages",
        "outages",
        json!({"outages": rows, "orgs": org_opts, "kinds": kinds, "some": some, "error": error, "form": form, "time_zone": tz.name(), "warnings": warnings}),
    )
}

pub(super) async fn outages(v: Viewer, app: State) -> Result<HttpResponse, WebError> {
    outages_page(&v, app, None, json!({}), Vec::new()).await
}

/// The outage form as sent: `org` comes once per organisation ticked.
#[derive(Default)]
pub(super) struct OutageForm {
    kind: String,
    start: String,
    end: Option<String>,
    notified: Option<String>,
    /// `all`, or `some` with the organisations in `orgs`.
    scope: Option<String>,
    orgs: Vec<String>,
    description: String,
    public_description: Option<String>,
    csrf: String,
}

impl OutageForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> OutageForm {
        let mut f = OutageForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "kind" => f.kind = v,
                "start" => f.start = v,
                "end" => f.end = Some(v),
                "notified" => f.notified = Some(v),
                "scope" => f.scope = Some(v),
                "org" => f.orgs.push(v),
                "description" => f.description = v,
                "public_description" => f.public_description = Some(v),
                "csrf" => f.csrf = v,
                _ => {}
            }
        }
        f
    }
}

/// A `datetime-local` value read in the viewer's zone; a time that does not
/// exist (the spring gap) or is ambiguous (autumn) is refused, not guessed.
pub(super) fn local_instant(field: &str, s: &str, tz: chrono_tz::Tz) -> Result<Option<DateTime<Utc>>, AppError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| crate::app::invalid(field, format!("'{s}' is not a date and time")))?;
    use crate::domain::local_time::{Disambiguation, LocalTimeError, local_instant};
    match local_instant(tz, naive, Disambiguation::Reject) {
        Ok(t) => Ok(Some(t)),
        Err(LocalTimeError::Repeated) => Err(crate::app::invalid(
            field,
            format!(
                "{s} happens twice in {} (the clocks go back): give a time outside that hour",
                tz.name()
            ),
        )),
        Err(LocalTimeError::Skipped) => Err(crate::app::invalid(
            field,
            format!("{s} does not exist in {} (the clocks go forward)", tz.name()),
        )),
    }
}

pub(super) async fn add_outage(
    v: Viewer,
    app: State,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, WebError> {
    let f = OutageForm::from_pairs(form.into_inner());
    v.check_csrf(&f.csrf)?;
    require_manager(&v)?;
    let tz = v.tz();
    let echo = json!({"kind": f.kind, "start": f.start, "end": f.end, "notified": f.notified,
        "scope": f.scope, "orgs": f.orgs, "description": f.description, "public_description": f.public_description});
    let a = app.get_ref().clone();
    let who = v.who();
    let outcome = run_form(move || {
        let req = (|| {
            Ok::<_, AppError>(NewOutageRequest {
                kind: f.kind.clone(),
                start: local_instant("start", &f.start, tz)?.ok_or_else(|| crate::app::invalid("start", "required"))?,
                end: local_instant("end", f.end.as_deref().unwrap_or(""), tz)?,
                notified_at: local_instant("notified", f.notified.as_deref().unwrap_or(""), tz)?,
                organisations: match f.scope.as_deref().unwrap_or("") {
                    "all" => Some(Affected::All("all".into())),
                    "some" if !f.orgs.is_empty() => Some(Affected::Some(f.orgs.clone())),
                    "some" => return Err(crate::app::invalid("organisations", "tick at least one organisation")),
                    _ => return Err(crate::app::invalid("organisations", "say whom it affects")),
                },
                services: Vec::new(),
                description: f.description.clone(),
                public_description: f.public_description.clone(),
            })
        })();
        req.and_then(|r| a.create_outage(&who, r, crate::app::now()))
    })
    .await?;
    match outcome {
        // Recorded, but with something to know (short notice): said on
        // the page, not lost in a redirect.
        Ok(o) if !o.warnings.is_empty() => outages_page(&v, app, None, json!({}), o.warnings).await,
        Ok(_) => Ok(redirect("/outages")),
        Err(r) => outages_page(&v, app, Some(r.to_string()), echo, Vec::new()).await,
    }
}

#[derive(Deserialize)]
pub(super) struct EndForm {
    csrf: String,
    /// The box that says the outage is over: ending one is not undone by a click.
    confirm: Option<String>,
}

pub(super) async fn end_outage(
    v: Viewer,
    app: State,
    path: web::Path<i64>,
    form: web::Form<EndForm>,
) -> Result<HttpResponse, WebError> {
    v.check_csrf(&form.csrf)?;
    if form.confirm.as_deref() != Some("yes") {
        return Err(WebError::from(crate::app::invalid(
            "confirm",
            "tick the box to confirm the outage is over",
        )));
    }
    let app = app.get_ref().clone();
    let who = v.who();
    let id = path.into_inner();
    run(move || {
        let now = crate::app::now();
        let patch = OutagePatch {
            kind: None,
            start: None,
            end: Some(now),
            notified_at: None,
            description: None,
            public_description: None,
        };
        app.patch_outage(&who, id, patch, now)
    })
    .await?;
    Ok(redirect("/outages"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outage_times_are_read_in_the_viewers_zone_and_clock_changes_are_not_guessed() {
        let london = chrono_tz::Europe::London;
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            local_instant("start", "2026-07-01T09:00", london).unwrap(),
            Some(t("2026-07-01T08:00:00Z"))
        );
        assert_eq!(
            local_instant("start", "2026-12-01T09:00", london).unwrap(),
            Some(t("2026-12-01T09:00:00Z"))
        );
        assert_eq!(local_instant("end", "", london).unwrap(), None);
        let gap = local_instant("start", "2026-03-29T01:30", london).unwrap_err();
        assert!(gap.to_string().contains("does not exist"), "{gap}");
        let twice = local_instant("start", "2026-10-25T01:30", london).unwrap_err();
        assert!(twice.to_string().contains("happens twice"), "{twice}");
        assert!(local_instant("start", "yesterday", london).is_err());
    }

    #[test]
    fn pounds_as_typed_become_pence() {
        assert_eq!(pence("1250").unwrap(), 125_000);
        assert_eq!(pence("£1,250.5").unwrap(), 125_050);
        assert_eq!(pence("0.07").unwrap(), 7);
        assert_eq!(pence("").unwrap(), 0);
        for bad in ["12.345", "-5", "1e3", "ten"] {
            assert!(pence(bad).is_err(), "{bad}");
        }
    }
}
