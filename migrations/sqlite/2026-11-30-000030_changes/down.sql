DROP TABLE change_services;
DROP TABLE change_freezes;
