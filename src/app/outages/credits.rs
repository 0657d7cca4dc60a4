//! Credits received from the platform provider, passed on to the
//! organisations they concern (split evenly, or in given shares) in the
//! month they name; each marks that month's kept reports revised.

use super::*;

/// What a manager gives to record a credit from an upstream supplier.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUpstreamCreditRequest {
    /// The provider's reference; unique.
    pub reference: String,
    /// The month it is passed on in, YYYY-MM.
    pub month: String,
    pub amount_pence: i64,
    pub description: String,
    /// `"all"` (every organisation active in the month) or slugs. Split
    /// evenly unless `shares` says how.
    #[schema(value_type = Object)]
    pub organisations: Option<Affected>,
    /// Each organisation's share in pence; must add up to `amount_pence`.
    pub shares: Option<Vec<ShareRequest>>,
}

/// One organisation's share of an upstream credit.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareRequest {
    pub organisation: String,
    pub amount_pence: i64,
}

/// An upstream credit as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UpstreamCreditView {
    pub reference: String,
    pub month: String,
    pub amount_pence: i64,
    pub description: String,
    pub shares: Vec<ShareRequest>,
}

impl App {
    /// Records a credit from an upstream supplier and its shares (managers
    /// only), audited.
    pub fn create_upstream_credit(
        &self,
        who: &Principal,
        req: NewUpstreamCreditRequest,
        now: DateTime<Utc>,
    ) -> Result<UpstreamCreditView, AppError> {
        who.require_manager()?;
        let reference = text("reference", &req.reference, 200)?;
        let description = text("description", &req.description, 2000)?;
        let month: Month = req
            .month
            .parse()
            .map_err(|e: crate::domain::availability::MonthSyntax| invalid("month", e.to_string()))?;
        if req.amount_pence <= 0 {
            return Err(invalid("amount_pence", "must be a positive number of pence"));
        }
        let mut conn = self.conn()?;
        conn.write(|c| {
            let taken: i64 = upstream_credits::table
                .filter(upstream_credits::reference.eq(&reference))
                .count()
                .get_result(c)?;
            if taken > 0 {
                return Err(AppError::Conflict(format!(
                    "upstream credit '{reference}' is already recorded"
                )));
            }
            let shares: Vec<(i64, i64)> = match (&req.shares, &req.organisations) {
                (Some(_), Some(_)) => {
                    return Err(invalid("shares", "give shares or organisations, not both"));
                }
                (Some(list), None) => {
                    let mut out = Vec::new();
                    for s in list {
                        if s.amount_pence < 0 {
                            return Err(invalid("shares", "a share must not be negative"));
                        }
                        let ids = resolve_affected(c, "shares", &Affected::Some(vec![s.organisation.clone()]))?
                            .unwrap_or_default();
                        out.push((ids[0], s.amount_pence));
                    }
                    let sum: i64 = out.iter().map(|s| s.1).sum();
                    if sum != req.amount_pence {
                        return Err(invalid(
                            "shares",
                            format!("add up to {sum} pence, not amount_pence {}", req.amount_pence),
                        ));
                    }
                    out
                }
                (None, affected) => {
                    let ids = match resolve_affected(
                        c,
                        "organisations",
                        affected.as_ref().unwrap_or(&Affected::All("all".into())),
                    )? {
                        Some(ids) => ids,
                        None => organisations::table
                            .filter(organisations::status.eq("active"))
                            .order(organisations::slug)
                            .select(organisations::id)
                            .load(c)?,
                    };
                    if ids.is_empty() {
                        return Err(invalid("organisations", "there is no organisation to pass it on to"));
                    }
                    // Evenly, the odd pennies to the first in slug order.
                    let mut by_slug: Vec<(String, i64)> = organisations::table
                        .filter(organisations::id.eq_any(&ids))
                        .select((organisations::slug, organisations::id))
                        .load(c)?;
                    by_slug.sort();
                    by_slug
                        .into_iter()
                        .zip(split_evenly(req.amount_pence, ids.len()))
                        .map(|((_, id), amount)| (id, amount))
                        .collect()
                }
            };
            diesel::insert_into(upstream_credits::table)
                .values((
                    upstream_credits::reference.eq(&reference),
                    upstream_credits::month.eq(month.to_string()),
                    upstream_credits::amount_pence.eq(req.amount_pence),
                    upstream_credits::description.eq(&description),
                    upstream_credits::created_by.eq((who.user_id > 0).then_some(who.user_id)),
                    upstream_credits::created_at.eq(naive(now)),
                ))
                .execute(c)?;
            let id: i64 = upstream_credits::table
                .filter(upstream_credits::reference.eq(&reference))
                .select(upstream_credits::id)
                .first(c)?;
            for (org, amount) in &shares {
                diesel::insert_into(upstream_credit_shares::table)
                    .values((
                        upstream_credit_shares::upstream_credit_id.eq(id),
                        upstream_credit_shares::organisation_id.eq(org),
                        upstream_credit_shares::amount_pence.eq(amount),
                    ))
                    .execute(c)?;
            }
            let orgs: Vec<i64> = shares.iter().map(|s| s.0).collect();
            let what = format!("upstream credit {reference} recorded");
            mark_revised(c, Some(&orgs), month.start(), month.start(), &what, now)?;
            audit(
                c,
                who,
                "upstream_credit.create",
                &format!("upstream_credit:{reference}"),
                Some(&format!("{} pence for {month}", req.amount_pence)),
                now,
            )?;
            Ok(self.upstream_credit_views(c, Some(&reference), None)?.remove(0))
        })
    }

    /// The upstream credits of a month (managers and admins).
    pub fn list_upstream_credits(
        &self,
        who: &Principal,
        month: Option<Month>,
    ) -> Result<Vec<UpstreamCreditView>, AppError> {
        who.require_manager()?;
        let mut conn = self.conn()?;
        self.upstream_credit_views(&mut conn, None, month)
    }

    fn upstream_credit_views(
        &self,
        c: &mut DbConnection,
        reference: Option<&str>,
        month: Option<Month>,
    ) -> Result<Vec<UpstreamCreditView>, AppError> {
        let mut q = upstream_credits::table
            .select((
                upstream_credits::id,
                upstream_credits::reference,
                upstream_credits::month,
                upstream_credits::amount_pence,
                upstream_credits::description,
            ))
            .order((upstream_credits::month.desc(), upstream_credits::reference))
            .into_boxed();
        if let Some(r) = reference {
            q = q.filter(upstream_credits::reference.eq(r));
        }
        if let Some(m) = month {
            q = q.filter(upstream_credits::month.eq(m.to_string()));
        }
        let rows: Vec<(i64, String, String, i64, String)> = q.load(c)?;
        let mut out = Vec::new();
        for (id, reference, month, amount_pence, description) in rows {
            let shares = upstream_credit_shares::table
                .inner_join(organisations::table)
                .filter(upstream_credit_shares::upstream_credit_id.eq(id))
                .order(organisations::slug)
                .select((organisations::slug, upstream_credit_shares::amount_pence))
                .load::<(String, i64)>(c)?
                .into_iter()
                .map(|(organisation, amount_pence)| ShareRequest {
                    organisation,
                    amount_pence,
                })
                .collect();
            out.push(UpstreamCreditView {
                reference,
                month,
                amount_pence,
                description,
                shares,
            });
        }
        Ok(out)
    }

    /// One organisation's shares of upstream credits passed on in `month`.
    pub(crate) fn upstream_shares_for(
        &self,
        c: &mut DbConnection,
        organisation_id: i64,
        month: Month,
    ) -> Result<Vec<crate::domain::credits::UpstreamShare>, AppError> {
        Ok(upstream_credit_shares::table
            .inner_join(upstream_credits::table)
            .filter(upstream_credit_shares::organisation_id.eq(organisation_id))
            .filter(upstream_credits::month.eq(month.to_string()))
            .order(upstream_credits::reference)
            .select((
                upstream_credits::reference,
                upstream_credits::description,
                upstream_credit_shares::amount_pence,
            ))
            .load::<(String, String, i64)>(c)?
            .into_iter()
            .map(
                |(reference, description, amount_pence)| crate::domain::credits::UpstreamShare {
                    reference,
                    description,
                    amount_pence,
                },
            )
            .collect())
    }
}
