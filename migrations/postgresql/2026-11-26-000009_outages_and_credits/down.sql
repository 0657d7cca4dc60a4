DROP TABLE monthly_reports;
DROP INDEX upstream_credit_shares_organisation;
DROP TABLE upstream_credit_shares;
DROP TABLE upstream_credits;
DROP TABLE outage_organisations;
DROP INDEX outages_starts_at;
DROP TABLE outages;
