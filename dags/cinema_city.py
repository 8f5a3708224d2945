"""Cinema City: cinemas of a city -> cinema-days -> films (TMDB) -> showtime batches."""

from airflow.sdk import Param

from scraper_airflow.chain_dag import ChainSpec, build_chain_dag
from scraper_airflow.connections import cinema_city_site
from scraper_monitor.silent import BelowMedian, Consistent, NonZero
from scrapers.cinema_city import steps

dag = build_chain_dag(
    ChainSpec(
        dag_id="cinema_city",
        description="Cinema City showtimes for one city (JSON API)",
        site_conn_id="cinema_city_api",
        unit_group="cinema_day",
        unit_task="cinema_dates",
        sync=lambda c: steps.sync(
            c.site,
            city_name=c.params["city_name"],
            days_ahead=c.params["days_ahead"],
            scrape_date=c.scrape_date,
        ),
        unit=lambda c, unit: steps.cinema_date(c.site, unit),
        movie_details=lambda c, film: steps.movie_details(c.tmdb, film),
        showtimes=lambda c, unit_result, matches: steps.showtimes(unit_result, matches, c.sink),
        unit_label=lambda u: f"{u.get('cinema_name', u.get('cinema_id'))} {u.get('date')}",
        film_label=lambda f: str(f.get("title") or f.get("film_key")),
        params={
            "city_name": Param("Kraków", type="string", minLength=1, description="City as the API spells it"),
            "days_ahead": Param(7, type="integer", minimum=1, maximum=14, description="Days to scrape"),
        },
        expect={
            "sync": [NonZero("cinemas"), NonZero("units")],
            "cinema_dates": [NonZero("showtimes"), BelowMedian("showtimes", fraction=0.3)],
            "showtimes": [Consistent("showtimes", ("created", "updated", "skipped", "failed"))],
        },
        tags=("cinema_city",),
        site_factory=lambda conn_id, params: cinema_city_site(conn_id),
    )
)
