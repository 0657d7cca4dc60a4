DROP TABLE dispute_files;
DROP TABLE disputes;
