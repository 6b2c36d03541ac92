# Shopdesk: `make run` to try it, `make test` to test it. `make help` lists everything.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_DATABASE_URL ?= mysql://root@127.0.0.1:3306/shopdesk
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
# Values that make `check --deploy` judge the settings as production would have them.
PROD_ENV := DEBUG=0 SECRET_KEY=check-deploy-$$(head -c 32 /dev/urandom | base64 | tr -dc a-zA-Z0-9) \
	ALLOWED_HOSTS=shop.example.com SECURE_SSL_REDIRECT=1 SECURE_HSTS_SECONDS=31536000 \
	SECURE_HSTS_INCLUDE_SUBDOMAINS=1 SECURE_HSTS_PRELOAD=1 SESSION_COOKIE_SECURE=1 CSRF_COOKIE_SECURE=1

.DEFAULT_GOAL := help
.PHONY: help install run run-prod test test-sqlite lint fmt schema check migrate seed superuser clean migrations-roundtrip bench bench-ws

help: ## List every target
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed ## Create .venv and install the pinned requirements

migrate: install ## Apply database migrations (DATABASE_URL, default SQLite)
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --noinput

seed: migrate ## Seed a small demo store if the database is empty
	DEBUG=$${DEBUG:-1} $(PY) manage.py seed_demo --if-empty

superuser: migrate ## Create the demo superuser (DEBUG only) and print its credentials
	DEBUG=$${DEBUG:-1} $(PY) manage.py demo_superuser

run: seed superuser ## Install, migrate, seed on first run and serve everything with daphne on :8000
	DEBUG=$${DEBUG:-1} $(PY) manage.py collectstatic --noinput -v0
	@echo "Shopdesk on http://$(HOST):$(PORT)/  admin /admin/  API docs /api/docs/  dashboard /dashboard/"
	@# A listen backlog of 2048 (daphne's default is 50) lets a thousand dashboards connect at once.
	DEBUG=$${DEBUG:-1} $(VENV)/bin/daphne -e tcp:port=$(PORT):interface=$(HOST):backlog=2048 \
		ecommerce_admin.asgi:application

WS_PORT ?= 8001
run-prod: install ## Production layout: granian (API, admin) on :8000 and daphne (WebSockets) on :8001 (needs SECRET_KEY)
	@test -n "$$SECRET_KEY" || { echo "make run-prod: set SECRET_KEY (and DATABASE_URL, REDIS_URL, ALLOWED_HOSTS)"; exit 1; }
	DEBUG=0 $(PY) manage.py migrate --noinput
	DEBUG=0 $(PY) manage.py collectstatic --noinput -v0
	DEBUG=0 DASHBOARD_WEBSOCKET_ORIGIN=$${DASHBOARD_WEBSOCKET_ORIGIN:-ws://$(HOST):$(WS_PORT)} bash -c 'trap "kill 0" EXIT; \
		$(PY) -m ecommerce_admin.web --bind $(HOST):$(PORT) & \
		$(VENV)/bin/daphne -e tcp:port=$(WS_PORT):interface=$(HOST):backlog=2048 ecommerce_admin.asgi:application & \
		wait'

test: install ## Run the whole suite against MariaDB and Redis
	@$(PY) -c "import MySQLdb; MySQLdb.connect(host='127.0.0.1', port=3306, user='root')" 2>/dev/null || \
		{ echo "make test: MariaDB is not reachable on 127.0.0.1:3306 as root (start it: see README)."; exit 1; }
	@$(VENV)/bin/python -c "import redis; redis.Redis.from_url('$(TEST_REDIS_URL)').ping()" 2>/dev/null || \
		{ echo "make test: Redis is not reachable at $(TEST_REDIS_URL) (start it: see README)."; exit 1; }
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} TEST_REDIS_URL=$(TEST_REDIS_URL) \
		$(VENV)/bin/pytest --create-db $(PYTEST_ARGS)

test-sqlite: install ## Run the suite on SQLite (tests marked mysql are skipped)
	DATABASE_URL=sqlite:///$(CURDIR)/var/test.sqlite3 TEST_REDIS_URL=$(TEST_REDIS_URL) \
		$(VENV)/bin/pytest --create-db $(PYTEST_ARGS)

lint: install ## ruff check, ruff format --check and the import layers contract
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

fmt: install ## Format and autofix with ruff
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

schema: install ## Write and validate the OpenAPI schema (docs/openapi.yaml), failing on any warning
	DEBUG=1 $(PY) manage.py spectacular --file docs/openapi.yaml --validate --fail-on-warn

check: install ## Django checks under production settings, and no missing migration
	$(PROD_ENV) $(PY) manage.py check --deploy --fail-level WARNING
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run

bench: install ## HTTP benchmark of every hot and analytics endpoint at BENCH_LINES sale lines (wrk, MariaDB)
	@command -v wrk >/dev/null || { echo "make bench: wrk is missing (apt-get install wrk)"; exit 1; }
	$(PY) bench/http_bench.py --lines $${BENCH_LINES:-1000000} $(BENCH_ARGS)

bench-ws: install ## WebSocket benchmark: 1,000 connecting at once, commit-to-update latency at 100/1,000/5,000 clients, idle RSS
	$(PY) bench/ws_fanout.py $(BENCH_WS_ARGS)

migrations-roundtrip: install ## Migrate a fresh MariaDB database up, to zero and up again (its own database)
	ROUNDTRIP_DATABASE_URL=$${ROUNDTRIP_DATABASE_URL:-mysql://root@127.0.0.1:3306/shopdesk_migrations_roundtrip} \
		$(PY) .ci/migrations_roundtrip.py

clean: ## Remove the venv, caches and the SQLite database
	rm -rf $(VENV) var .pytest_cache .ruff_cache staticfiles
