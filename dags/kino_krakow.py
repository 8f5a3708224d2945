"""Kino Krakow: program page -> day pages (one session each) -> films (TMDB) -> showtime batches."""

from airflow.sdk import Param

from scraper_airflow.chain_dag import ChainSpec, build_chain_dag
from scraper_airflow.connections import kino_krakow_site
from scraper_monitor.silent import BelowMedian, Consistent, Equal, NonZero
from scrapers.kino_krakow import steps
from scrapers.kino_krakow.cities import CITY_SLUG_MAX, CITY_SLUG_PATTERN, DEFAULT_CITY

dag = build_chain_dag(
    ChainSpec(
        dag_id="kino_krakow",
        description="Kino Krakow showtimes of one city (Rails HTML site family, a session per day)",
        site_conn_id="kino_krakow_site",
        unit_group="day",
        unit_task="day_pages",
        sync=lambda c: steps.sync(c.site, days_ahead=c.params["days_ahead"], scrape_date=c.scrape_date),
        unit=lambda c, unit: steps.day_page(c.site, unit, c.scrape_date),
        movie_details=lambda c, film: steps.movie_details(c.site, c.tmdb, film, c.scrape_date),
        showtimes=lambda c, unit_result, matches: steps.showtimes(unit_result, matches, c.sink),
        unit_label=lambda u: f"day {u.get('day')} ({u.get('date')})",
        film_label=lambda f: str(f.get("title") or f.get("film_key")),
        params={
            "city": Param(
                DEFAULT_CITY,
                type="string",
                pattern=CITY_SLUG_PATTERN,
                maxLength=CITY_SLUG_MAX,
                description="City slug (krakow, warszawa, wroclaw, ...); the kino_krakow_site connection"
                " places its site",
            ),
            "days_ahead": Param(
                7, type="integer", minimum=1, maximum=7, description="Day offsets 0..6 the site offers"
            ),
        },
        expect={
            "sync": [NonZero("films")],
            "day_pages": [
                NonZero("showtimes"),
                BelowMedian("showtimes", fraction=0.3),
                # Seed 000's "showtimes found but no movies scheduled": hour rows were read but not the
                # film rows above them, so nothing downstream knows which film they belong to.
                Consistent(
                    "showtimes",
                    ("films",),
                    reason="{showtimes} showtimes found but no movies scheduled: the day page's film rows"
                    " were not read (the site may have changed its film links)",
                ),
            ],
            # The film page lists the film's screenings too: a day page that lost rows (or showed
            # another day) leaves its films disagreeing with their pages, though it looks fine itself.
            "movie_details": [
                Equal(
                    "film_page_showtimes",
                    "listed_showtimes",
                    reason="the day pages list {listed_showtimes} showtimes of this film on the scraped"
                    " days, its film page {film_page_showtimes} (days that differ: {days_disagreeing}): a"
                    " day page may have shown another day or lost rows",
                )
            ],
            "showtimes": [Consistent("showtimes", ("created", "updated", "skipped", "failed"))],
        },
        tags=("kino_krakow",),
        site_factory=kino_krakow_site,
    )
)
