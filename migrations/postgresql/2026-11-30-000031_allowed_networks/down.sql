DROP TABLE allowed_networks;
