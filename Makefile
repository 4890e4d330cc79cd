# Two set-up commands (README): `make run` and `make test`. Both create .venv and install on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-graphql-core lint schema bench clean native

# The gateway tests on graphql-core's executor (GATEWAY_COMPILED_EXECUTION=false), with every module run from its
# source (GATEWAY_NATIVE=false): both execution modes, and the compiled modules against their sources, must pass.
# The files that already run every case on both executors are not repeated.
GRAPHQL_CORE_TESTS := GATEWAY_COMPILED_EXECUTION=false GATEWAY_NATIVE=false $(PY) -m pytest -q -p no:cacheprovider tests/gateway \
	--ignore=tests/gateway/test_compiled_execution.py --ignore=tests/gateway/test_execution_modes.py \
	--ignore=tests/gateway/test_request_memory.py
# Tests that replace a name inside a module that may be compiled (marked ``interpreted``, tests/conftest.py): the
# main run deselects them while the compiled modules are in use; they run here, on the sources.
INTERPRETED_TESTS := GATEWAY_NATIVE=false $(PY) -m pytest -q -p no:cacheprovider -m interpreted

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The hot modules compiled with mypyc (app/native.py), rebuilt only when a source changed; without a C compiler
# the gateway runs interpreted. NATIVE_REQUIRED=1 (CI) makes a failed build fail.
native: $(STAMP)
	@$(PY) -m app.native_build status | grep -q ': on' || $(PY) -m app.native_build || [ -z "$(NATIVE_REQUIRED)" ]

# The embedded server's demo traffic is on here (the demo keys keep spending); EMBEDDED_BIFROST_DEMO_TRAFFIC=false stops it.
run: native
	EMBEDDED_BIFROST_DEMO_TRAFFIC="$${EMBEDDED_BIFROST_DEMO_TRAFFIC:-true}" $(PY) -m app

lint: native
	$(VENV)/bin/ruff check app tests bench
	$(VENV)/bin/ruff format --check app tests bench
	$(VENV)/bin/mypy

# The graphql-core run goes beside the main one (the suite runs on one core; CI has two), its output after it.
test: lint
	@log=$$(mktemp); \
	{ $(GRAPHQL_CORE_TESTS); a=$$?; $(INTERPRETED_TESTS); b=$$?; [ $$a -eq 0 ] && [ $$b -eq 0 ]; } >"$$log" 2>&1 & \
	other=$$!; \
	$(PY) -m pytest; status=$$?; \
	wait $$other; other_status=$$?; \
	echo "== interpreted (GATEWAY_NATIVE=false): tests/gateway on graphql-core's executor, then -m interpreted =="; \
	if [ $$other_status -ne 0 ]; then cat "$$log"; else grep -E '^=*.*(passed|failed)' "$$log"; fi; \
	rm -f "$$log"; \
	[ $$status -eq 0 ] && [ $$other_status -eq 0 ]

test-graphql-core: native
	$(GRAPHQL_CORE_TESTS)

schema: $(STAMP)
	$(PY) -m app.schema.export > graphql_schema.graphql

bench: native
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) .native .pytest_cache .mypy_cache .ruff_cache
