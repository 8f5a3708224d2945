"""``sitesim --scenario demo``: serve a scenario until Ctrl-C (or print its predictions).

One command reproduces an incident: write the scenario, run it, point the connections at the
printed URLs.

Exit status: 0 on success, 2 for an invalid scenario file (or a port it cannot listen on), 3 when
``--predict`` meets a valid scenario whose outcome the model does not determine ("cannot predict").
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from datetime import date

from sitesim.predict import CHAINS, CannotPredict
from sitesim.scenario import ScenarioError, bundled, load
from sitesim.server import SiteSimulator

INVALID = 2
CANNOT_PREDICT = 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="sitesim", description="Serve simulated Cinema City, Kino Krakow and TMDB sites from a scenario."
    )
    parser.add_argument(
        "--scenario", default="demo", help=f"bundled name ({', '.join(bundled())}) or a YAML path"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port (default: %(default)s)")
    parser.add_argument(
        "--anchor-date",
        type=date.fromisoformat,
        help="day 0 of the data (default: today in the scenario's time zone, Europe/Warsaw)",
    )
    parser.add_argument(
        "--predict", action="store_true", help="print what a correct scraper reports, as JSON"
    )
    parser.add_argument(
        "--city",
        default="Kraków",
        help="the city --predict predicts: Cinema City's city name; Kino Krakow's site is its slug"
        " (Wrocław -> wroclaw) (default: %(default)s)",
    )
    parser.add_argument("--days-ahead", type=int, default=7, help="days_ahead for --predict (default: 7)")
    args = parser.parse_args(argv)

    try:
        scenario = load(args.scenario)
        if args.predict:
            predictions = {
                chain: scenario.predict(
                    chain, city_name=args.city, days_ahead=args.days_ahead, anchor_date=args.anchor_date
                )
                for chain in CHAINS
            }
            print(json.dumps(predictions, indent=2))
            return 0
        simulator = SiteSimulator(
            scenario, host=args.host, port=args.port, anchor_date=args.anchor_date
        ).start()
    except CannotPredict as exc:
        print(f"sitesim: {exc}", file=sys.stderr)
        return CANNOT_PREDICT
    except ScenarioError as exc:
        print(f"sitesim: {exc}", file=sys.stderr)
        return INVALID
    except OSError as exc:
        print(f"sitesim: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return INVALID

    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # one line per request, live
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    print(f"sitesim: scenario {scenario.name!r}, anchor date {simulator.anchor.isoformat()}")
    for site, url in simulator.base_urls.items():
        print(f"  {site:<12} {url}")
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
