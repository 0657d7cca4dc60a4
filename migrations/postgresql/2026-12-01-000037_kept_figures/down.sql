DROP TABLE kept_figures;
