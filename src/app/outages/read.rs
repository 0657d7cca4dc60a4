//! Reading outages: the list and one, as the caller may see them (a
//! customer those that concern their organisation, never a draft).

use super::*;

impl App {
    /// Outages overlapping `month` (all of them without one), newest first;
    /// a customer sees those that concerned their organisation.
    pub fn list_outages(
        &self,
        who: &Principal,
        month: Option<Month>,
        organisation: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<OutageView>, AppError> {
        let mut conn = self.conn()?;
        let c = &mut *conn;
        let org_id = match (who.role, organisation) {
            (Role::Customer, _) => who.organisation_id,
            (_, Some(slug)) => Some(self.organisation_by_slug(c, slug)?.id),
            (_, None) => None,
        };
        let mut q = outages::table.select(outages::id).into_boxed();
        if who.role == Role::Customer {
            q = q.filter(outages::draft.eq(false));
        }
        if let Some(m) = month {
            q = q
                .filter(outages::starts_at.lt(naive(m.end())))
                .filter(outages::ends_at.is_null().or(outages::ends_at.gt(naive(m.start()))));
        }
        if let Some(o) = org_id {
            let named = outage_organisations::table
                .filter(outage_organisations::organisation_id.eq(o))
                .select(outage_organisations::outage_id);
            q = q.filter(outages::all_organisations.eq(true).or(outages::id.eq_any(named)));
        }
        let ids: Vec<i64> = q.order((outages::starts_at.desc(), outages::id.desc())).load(c)?;
        let views: Vec<OutageView> = ids
            .into_iter()
            .map(|id| self.outage_view(c, id, now))
            .collect::<Result<_, _>>()?;
        match who.role {
            Role::Customer => {
                let own = own_slug(c, who)?;
                let own_services = own_service_slugs(c, who)?;
                Ok(views.into_iter().map(|v| v.for_customer(&own, &own_services)).collect())
            }
            _ => Ok(views),
        }
    }

    /// One outage, as the caller may see it.
    pub fn get_outage(&self, who: &Principal, id: i64, now: DateTime<Utc>) -> Result<OutageView, AppError> {
        let mut conn = self.conn()?;
        let view = self.outage_view(&mut conn, id, now)?;
        if who.role == Role::Customer {
            let own = own_slug(&mut conn, who)?;
            if view.draft {
                return Err(AppError::NotFound(format!("outage {id}")));
            }
            let mine = match &view.organisations {
                Affected::All(_) => true,
                Affected::Some(slugs) => slugs.contains(&own),
            };
            if !mine {
                return Err(AppError::NotFound(format!("outage {id}")));
            }
            let own_services = own_service_slugs(&mut conn, who)?;
            return Ok(view.for_customer(&own, &own_services));
        }
        Ok(view)
    }
}

impl App {
    /// The outages under way (begun, not ended), newest first, at most 50,
    /// as (id, a label for a menu): what a ticket may be linked to (staff).
    pub fn ongoing_outages(&self, who: &Principal, now: DateTime<Utc>) -> Result<Vec<(i64, String)>, AppError> {
        who.staff_only()?;
        let mut conn = self.conn()?;
        let rows: Vec<(i64, String, String)> = outages::table
            .filter(outages::starts_at.le(naive(now)))
            .filter(outages::ends_at.is_null().or(outages::ends_at.gt(naive(now))))
            .order((outages::starts_at.desc(), outages::id.desc()))
            .limit(50)
            .select((outages::id, outages::kind, outages::description))
            .load(&mut *conn)?;
        Ok(rows
            .into_iter()
            .map(|(id, kind, description)| {
                let short: String = description.chars().take(80).collect();
                (id, format!("{} {id}: {short}", kind.replace('_', " ")))
            })
            .collect())
    }
}
