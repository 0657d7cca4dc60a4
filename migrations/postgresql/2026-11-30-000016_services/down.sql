DROP TABLE outage_services;
DROP TABLE organisation_services;
DROP TABLE services;
