"""Reports: one module per question users ask of the monitor store, holding the read SQL.

The web panels and the JSON API, the CLI, the alert checks and the Prometheus metrics only render
what these return, so a number means the same thing on every face. The write side and the upkeep
(upsert, spool, rollups, retention, snapshots) live in ``scraper_monitor.store``.

Questions: ``overview`` (per-scraper stats, SLO column), ``executions`` (tries, one try's detail,
a run's rows), ``errors`` (categories and fingerprints), ``silent`` (silent failures), ``runs``
(recent runs, failed runs), ``chain`` (one run as stages and incidents), ``trends`` (daily
rollups, week over week), ``slo`` (SLO statuses), ``metrics`` (the Prometheus numbers),
``history`` (a task's recent counts, for the silent rule). Shared conventions: ``base``.

Definitions (every module counts this way):

- Time windows ("last N hours", ``since``/``until``) apply to ``started_at`` (indexed), so a row
  without one (a task that never started) is in no window. Trends read the daily rollups, whose
  day is the UTC date of ``started_at`` (else ``recorded_at``).
- Every row is one try. A *final* try is one in state ``success`` or ``failed`` (``failed`` means no
  tries were left); a ``retrying`` try is followed by another try of the same task instance.
- success rate = success / (success + failed), over final tries only. ``retrying`` tries, ``skipped``
  tasks (they had nothing to do: expected, not an error) and ``upstream_failed`` tasks (they never
  ran) are left out. Silent successes count as successes here and are reported separately in
  ``silent``. With no final tries the rate is None ("no data"), never 0 or 100 %.
- Durations (average and 95th percentile, continuous) cover every try that ran, i.e. every state
  but ``upstream_failed``, that has a duration.
- Failures are tries in ``failed`` or ``retrying`` (``scraper_monitor.state.ERROR_STATES``).

State names come only from ``scraper_monitor.state`` and reach SQL as parameters. Every function
takes an open psycopg connection (``scraper_monitor.store.db.connect`` gives one with short
timeouts). Answers that the JSON API returns are pydantic models (the API's response models, and
what ``--json`` prints); the rest are dataclasses.
"""
