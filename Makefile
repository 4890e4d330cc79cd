# Two set-up commands (README): `make run` and `make test`. Both create .venv and install on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-graphql-core lint schema bench clean

# The gateway tests on graphql-core's executor (GATEWAY_COMPILED_EXECUTION=false): both execution modes must
# pass. The files that already run every case on both executors are not repeated.
GRAPHQL_CORE_TESTS := GATEWAY_COMPILED_EXECUTION=false $(PY) -m pytest -q -p no:cacheprovider tests/gateway \
	--ignore=tests/gateway/test_compiled_execution.py --ignore=tests/gateway/test_execution_modes.py \
	--ignore=tests/gateway/test_request_memory.py

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

# The graphql-core run goes beside the main one (the suite runs on one core; CI has two), its output after it.
test: lint
	@log=$$(mktemp); \
	$(GRAPHQL_CORE_TESTS) >"$$log" 2>&1 & other=$$!; \
	$(PY) -m pytest; status=$$?; \
	wait $$other; other_status=$$?; \
	echo "== tests/gateway on graphql-core's executor (GATEWAY_COMPILED_EXECUTION=false) =="; \
	if [ $$other_status -ne 0 ]; then cat "$$log"; else tail -n 1 "$$log"; fi; \
	rm -f "$$log"; \
	[ $$status -eq 0 ] && [ $$other_status -eq 0 ]

test-graphql-core: $(STAMP)
	$(GRAPHQL_CORE_TESTS)

schema: $(STAMP)
	$(PY) -m app.schema.export > graphql_schema.graphql

bench: $(STAMP)
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
