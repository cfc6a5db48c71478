# The two commands: `make demo` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PG_URL := postgresql://postgres@127.0.0.1:5432/test

.PHONY: demo example test lint typecheck unit bench reliability deploy-test deploy-bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

## demo: load a realistic portfolio into ./socieux.db (SQLite) by sending real commands
demo: $(STAMP)
	$(BIN)/socieux demo
	@echo "Open the console (read-only, on 127.0.0.1): $(BIN)/socieux serve  -> http://127.0.0.1:8000/"

## example: serve the example host app (examples/host_app) on http://127.0.0.1:8000/docs
example: $(STAMP)
	SOCIEUX_DB=$${SOCIEUX_DB:-sqlite:///socieux.db} OUTBOX_PATH=$${OUTBOX_PATH:-outbox.db} \
		$(BIN)/uvicorn examples.host_app.app:create_app --factory --host 127.0.0.1 --port 8000

## test: ruff, mypy --strict and pytest (PostgreSQL tests run when the server answers)
test: $(STAMP) lint typecheck
	@if ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 && command -v pg_createcluster >/dev/null && [ "$$(id -u)" = 0 ]; then \
		echo "PostgreSQL binaries found: tests/replication makes a primary and two replicas (short run)"; \
	else \
		echo "No PostgreSQL binaries, pg_createcluster or root: tests/replication will be skipped"; \
	fi
	@if $(BIN)/python -c "import psycopg; psycopg.connect('$(PG_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		echo "PostgreSQL answers at 127.0.0.1:5432: PostgreSQL tests will run"; \
		SOCIEUX_TEST_POSTGRES=$(PG_URL) $(BIN)/pytest -q $(PYTEST_ARGS); \
	else \
		echo "PostgreSQL does not answer at 127.0.0.1:5432: PostgreSQL tests will be skipped"; \
		$(BIN)/pytest -q $(PYTEST_ARGS); \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

## reliability: the long reliability suite (SQLite and PostgreSQL; prints its figures)
reliability: $(STAMP)
	@if $(BIN)/python -c "import psycopg; psycopg.connect('$(PG_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		echo "PostgreSQL answers at 127.0.0.1:5432: PostgreSQL tests will run"; \
	else \
		echo "PostgreSQL does not answer at 127.0.0.1:5432: start it first (see README)"; exit 1; \
	fi
	SOCIEUX_RELIABILITY=long SOCIEUX_REQUIRE_POSTGRES=1 SOCIEUX_TEST_POSTGRES=$(PG_URL) \
		$(BIN)/pytest -q -s tests/reliability tests/replication $(PYTEST_ARGS)

## deploy-test: the replica and failover tests on a primary and two replicas made with
## pg_createcluster (deploy/pg_replicas.sh; root), removed afterwards; prints the figures
deploy-test: $(STAMP)
	SOCIEUX_REQUIRE_REPLICAS=1 $(BIN)/pytest -q -s tests/replication $(PYTEST_ARGS)

## deploy-bench: python -m bench --only replicas on a deployment made and removed around it
deploy-bench: $(STAMP)
	deploy/pg_replicas.sh run $(BIN)/python -m bench --only replicas $(BENCH_ARGS)

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -r bench/requirements.txt
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis socieux.db socieux.db-*
