//! Outages: the list, recording one in the viewer's time zone, ending one.

use super::*;

pub(super) async fn outages_page(
    v: &Viewer,
    app: State,
    error: Option<String>,
    form: Value,
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
    let org_opts: Vec<Value> = orgs.iter().map(|o| json!({"slug": o.slug, "name": o.name})).collect();
    page_with_status(
        form_status(&error),
        Some(&v.session),
        "Outages",
        "outages",
        json!({"outages": rows, "orgs": org_opts, "error": error, "form": form, "time_zone": tz.name()}),
    )
}

pub(super) async fn outages(v: Viewer, app: State) -> Result<HttpResponse, WebError> {
    outages_page(&v, app, None, json!({})).await
}

#[derive(Deserialize, serde::Serialize)]
pub(super) struct OutageForm {
    kind: String,
    start: String,
    end: Option<String>,
    notified: Option<String>,
    scope: Option<String>,
    description: String,
    public_description: Option<String>,
    csrf: String,
}

/// A `datetime-local` value read in the viewer's zone; a time that does not
/// exist (the spring gap) or is ambiguous (autumn) is refused, not guessed.
pub(super) fn local_instant(field: &str, s: &str, tz: chrono_tz::Tz) -> Result<Option<DateTime<Utc>>, AppError> {
    use chrono::TimeZone;
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| crate::app::invalid(field, format!("'{s}' is not a date and time")))?;
    match tz.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) => Ok(Some(t.with_timezone(&Utc))),
        chrono::LocalResult::Ambiguous(..) => Err(crate::app::invalid(
            field,
            format!(
                "{s} happens twice in {} (the clocks go back): give a time outside that hour",
                tz.name()
            ),
        )),
        chrono::LocalResult::None => Err(crate::app::invalid(
            field,
            format!("{s} does not exist in {} (the clocks go forward)", tz.name()),
        )),
    }
}

pub(super) async fn add_outage(v: Viewer, app: State, form: web::Form<OutageForm>) -> Result<HttpResponse, WebError> {
    v.check_csrf(&form.csrf)?;
    require_manager(&v)?;
    let f = form.into_inner();
    let tz = v.tz();
    let echo = json!({"kind": f.kind, "start": f.start, "end": f.end, "notified": f.notified, "description": f.description, "public_description": f.public_description});
    let a = app.get_ref().clone();
    let who = v.who();
    let outcome = run_form(move || {
        let req = (|| {
            Ok::<_, AppError>(NewOutageRequest {
                kind: f.kind.clone(),
                start: local_instant("start", &f.start, tz)?.ok_or_else(|| crate::app::invalid("start", "required"))?,
                end: local_instant("end", f.end.as_deref().unwrap_or(""), tz)?,
                notified_at: local_instant("notified", f.notified.as_deref().unwrap_or(""), tz)?,
                organisations: match f.scope.as_deref().unwrap_or("all") {
                    "all" | "" => Affected::All("all".into()),
                    slug => Affected::Some(vec![slug.to_string()]),
                },
                description: f.description.clone(),
                public_description: f.public_description.clone(),
            })
        })();
        req.and_then(|r| a.create_outage(&who, r, crate::app::now()))
    })
    .await?;
    match outcome {
        Ok(_) => Ok(redirect("/outages")),
        Err(r) => outages_page(&v, app, Some(r.to_string()), echo).await,
    }
}

#[derive(Deserialize)]
pub(super) struct CsrfOnly {
    csrf: String,
}

pub(super) async fn end_outage(
    v: Viewer,
    app: State,
    path: web::Path<i64>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, WebError> {
    v.check_csrf(&form.csrf)?;
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
