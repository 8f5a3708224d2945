# Two commands matter: `make demo` (everything, on a fresh clone) and `make test`.
VENV     := .venv
BIN      := $(VENV)/bin
PY       := $(BIN)/python
SCENARIO ?= demo
# local (LocalExecutor) or celery (a Redis broker and two Celery workers): make e2e EXECUTOR=celery
EXECUTOR ?= local
STAMP    := $(VENV)/.installed

.PHONY: setup demo e2e stop slack test test-clock lint format bench drills debs

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

setup: $(STAMP)
	$(PY) -m local_stack setup

demo: $(STAMP)
	$(PY) -m local_stack demo --scenario $(SCENARIO) --executor $(EXECUTOR)

e2e: $(STAMP)
	$(PY) -m local_stack e2e --scenario $(SCENARIO) --executor $(EXECUTOR)

stop:
	$(PY) -m local_stack stop

# What the demo's alerts posted to the local Slack receiver (.local/slack/messages.jsonl), one line each.
slack:
	$(PY) -m local_stack slack

debs:
	bash scripts/install-debian-packages.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The modules whose answers depend on the day, the week or "the last 24 hours": `make test` runs them
# once more with the clock just after and just before midnight UTC (scripts/test-clock.sh).
CLOCK_TESTS := tests/scraper_monitor/web/test_api.py tests/scraper_monitor/web/test_panels.py \
	tests/scraper_monitor/reports tests/scraper_monitor/store/test_rollup_and_retention.py \
	tests/scraper_monitor/test_precompute.py tests/scraper_monitor/cli/test_jobs.py \
	tests/scraper_monitor/cli/test_maintenance.py tests/scraper_monitor/test_slo.py \
	tests/scraper_monitor/test_metrics.py tests/scraper_monitor/alerts/test_checks.py \
	tests/scraper_monitor/alerts/test_evaluator.py

test: $(STAMP) debs lint
	$(BIN)/pytest -q
	CLOCK_PARALLEL=1 CLOCKS="00:05|23:55" bash scripts/test-clock.sh -q $(CLOCK_TESTS)

# The whole suite at 00:05, 23:55 and Monday 00:05 UTC (about 25 minutes); CLOCKS=... to choose.
test-clock: $(STAMP) debs
	bash scripts/test-clock.sh -q

bench: $(STAMP)
	$(PY) -m benchmarks

# Fault drills on a private stack and the real writer/evaluator -> docs/RELIABILITY.md (about 10 minutes);
# exit 1 when anything was lost or duplicated. `make drills DRILLS="slack_faults burst"` runs some.
drills: $(STAMP)
	$(PY) -m drills $(DRILLS)
