"""Site clients, parsers and TMDB matching for the scraper chains. Plain Python: no Airflow import."""
