"""The site simulator: Cinema City, Kino Krakow and TMDB on loopback, driven by scenario files.

``SiteSimulator(load("demo")).start()`` serves a scenario; ``load("demo").predict("cinema_city")``
says what a correct scraper must report for it. Format and semantics: docs/scenarios.md.
"""

from sitesim.scenario import Scenario, ScenarioError, load
from sitesim.server import RequestRecord, SiteSimulator

__all__ = ["RequestRecord", "Scenario", "ScenarioError", "SiteSimulator", "load"]
