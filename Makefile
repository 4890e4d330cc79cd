# Two set-up commands (README): `make run` and `make test`. Both create .venv and install on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint schema bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The embedded server's demo traffic is on here (the demo keys keep spending); EMBEDDED_BIFROST_DEMO_TRAFFIC=false stops it.
run: $(STAMP)
	EMBEDDED_BIFROST_DEMO_TRAFFIC="$${EMBEDDED_BIFROST_DEMO_TRAFFIC:-true}" $(PY) -m app

lint: $(STAMP)
	$(VENV)/bin/ruff check app tests bench
	$(VENV)/bin/ruff format --check app tests bench
	$(VENV)/bin/mypy

test: lint
	$(PY) -m pytest

schema: $(STAMP)
	$(PY) -m app.schema.export > graphql_schema.graphql

bench: $(STAMP)
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
