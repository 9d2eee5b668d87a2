# Pacer: `make run` starts the whole system, `make test` checks it. Both install into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install lock run demo test test-lane-checks test-lane-systems lint test-unit test-integration test-e2e test-ops bench soak backfill format clean

install: $(STAMP)

# Exactly the versions (and files: hashes) of the lock, then Pacer itself, editable.
$(STAMP): pyproject.toml requirements-dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# After changing the dependencies in pyproject.toml: resolve requirements-dev.lock and
# requirements.lock again (this needs the package index), install them, commit both.
lock: install
	$(BIN)/python tools/dependency_lock.py write
	$(MAKE) install

run: install
	$(BIN)/pacer up

demo: install
	$(BIN)/pacer demo --start $(DEMO_ARGS)

# Two lanes at once: the end-to-end tier spends most of its time waiting on whole systems (a demo
# clock, a soak's faults, a failover), so it runs beside the unit, integration and ops tiers
# instead of after them. Each lane's output is printed when it ends; either failing fails the run.
test: lint
	@$(MAKE) --no-print-directory -j2 --output-sync=recurse test-lane-checks test-lane-systems

# Each lane takes its test servers' ports from its own range (tests/support/processes.py,
# PACER_TEST_PORTS), below the kernel's ephemeral ports: a port one lane found free is never
# handed to the other.
test-lane-checks: install
	PACER_TEST_PORTS=20000-25999 $(BIN)/pytest -q tests/unit
	PACER_TEST_PORTS=20000-25999 $(BIN)/pytest -q tests/integration
	PACER_TEST_PORTS=20000-25999 $(BIN)/pytest -q tests/ops

test-lane-systems: install
	PACER_TEST_PORTS=26000-31999 $(BIN)/pytest -q tests/e2e

lint: install
	$(BIN)/python tools/dependency_lock.py check
	$(BIN)/ruff check shared services tests deploy bench tools
	$(BIN)/ruff format --check shared services tests deploy bench tools
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy --strict deploy/grafana/build_dashboards.py tools/dependency_lock.py
	$(BIN)/python deploy/grafana/build_dashboards.py --check

test-unit: install
	$(BIN)/pytest -q tests/unit

test-integration: install
	$(BIN)/pytest -q tests/integration

test-e2e: install
	$(BIN)/pytest -q tests/e2e

test-ops: install
	$(BIN)/pytest -q tests/ops

# Not part of `make test`: minutes long, and their figures mean something only on a quiet machine.
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

soak: install
	$(BIN)/python -m tests.soak $(SOAK_ARGS)

# Past months for Grafana (README, "History and export"): Pacer's monthly history as OpenMetrics,
# made into TSDB blocks by the compose Prometheus's own promtool, as its own user, in its data
# volume, then a restart so it serves them. Its retention must reach back to 2024-01, or it
# deletes the blocks: PROMETHEUS_RETENTION (default 90d in docker-compose.yml) is 5y here unless
# set; keep it in .env so a later `docker compose up` does not shorten it again.
# Needs PACER_TOKEN (any role) and PACER_API_URL if the API is not on 127.0.0.1:8000.
BACKFILL_FILE ?= var/backfill.om
COMPOSE ?= docker compose
backfill: install
	mkdir -p $(dir $(BACKFILL_FILE))
	$(BIN)/pacer backfill --out $(BACKFILL_FILE) $(BACKFILL_ARGS)
	PROMETHEUS_RETENTION=$${PROMETHEUS_RETENTION:-5y} $(COMPOSE) up -d --no-deps prometheus
	docker cp $(BACKFILL_FILE) "$$($(COMPOSE) ps -q prometheus):/tmp/pacer-backfill.om"
	$(COMPOSE) exec -T prometheus promtool tsdb create-blocks-from openmetrics \
		/tmp/pacer-backfill.om /prometheus
	$(COMPOSE) restart prometheus

format: install
	$(BIN)/ruff format shared services tests deploy bench tools
	$(BIN)/ruff check --fix shared services tests deploy bench tools

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache bench/results/*.json
