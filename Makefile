# Two commands matter: `make demo` (everything, on a fresh clone) and `make test`.
VENV     := .venv
BIN      := $(VENV)/bin
PY       := $(BIN)/python
SCENARIO ?= demo
STAMP    := $(VENV)/.installed

.PHONY: setup demo e2e stop test lint format bench debs

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

setup: $(STAMP)
	$(PY) -m local_stack setup

demo: $(STAMP)
	$(PY) -m local_stack demo --scenario $(SCENARIO)

e2e: $(STAMP)
	$(PY) -m local_stack e2e --scenario $(SCENARIO)

stop:
	$(PY) -m local_stack stop

debs:
	bash scripts/install-debian-packages.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: $(STAMP) debs lint
	$(BIN)/pytest -q

bench: $(STAMP)
	$(PY) -m benchmarks
