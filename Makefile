# ParkMind: every command a newcomer or operator needs. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app:create_app
HOST ?= 127.0.0.1
PORT ?= 5000


help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installs come from the lock files: every package, transitive ones too, pinned with its hashes.
$(VENV)/.runtime: requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	touch $@

$(VENV)/.dev: requirements.lock requirements-dev.lock | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	touch $(VENV)/.runtime $@

install: $(VENV)/.runtime  ## create .venv and install the runtime requirements

install-dev: $(VENV)/.dev  ## install runtime and test/lint tools

UV_COMPILE = $(BIN)/uv pip compile --quiet --generate-hashes --python-version 3.11 \
	--custom-compile-command "make lock"

lock: install-dev  ## re-pin requirements.lock and requirements-dev.lock after editing requirements*.txt
	$(UV_COMPILE) requirements.txt -o requirements.lock
	$(UV_COMPILE) requirements-dev.txt -c requirements.lock -o requirements-dev.lock

migrate: install  ## apply database migrations (flask db upgrade)
	$(FLASK) db upgrade

run: install migrate  ## set up and serve the API on 127.0.0.1:5000 (SQLite, no Redis needed)
	@if [ ! -f instance/.demo-seeded ]; then \
		$(FLASK) seed run --demo && mkdir -p instance && touch instance/.demo-seeded; \
	fi
	$(FLASK) run --host $(HOST) --port $(PORT)

SPEC_TOOLS := tools/spec/node_modules/.package-lock.json

$(SPEC_TOOLS): tools/spec/package.json tools/spec/package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --prefix tools/spec --no-audit --no-fund --loglevel=error; \
	else \
		echo "npm not found: the spec-tool tests skip (and fail under CI=true)"; \
	fi

spec-tools: $(SPEC_TOOLS)  ## install the OpenAPI tools clients use (Spectral, openapi-typescript, newman)

response-examples: install-dev spec-tools  ## record a live run's answers as the document's examples
	PARKMIND_RECORD_EXAMPLES=1 $(BIN)/pytest -q -m system tests/system/test_postman.py -k newman

postman: install spec-tools  ## rebuild docs/postman from the OpenAPI document
	$(FLASK) openapi write --format=json /tmp/parkmind-openapi.json
	$(BIN)/python tools/spec/build_postman.py /tmp/parkmind-openapi.json docs/postman

test: install-dev spec-tools  ## set up and run the whole test suite: in-process tests, then real processes
	@status=0; \
	$(BIN)/pytest -m "not system" || status=$$?; \
	$(BIN)/pytest -m system || status=$$((status ? status : $$?)); \
	exit $$status

lint: install-dev  ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev  ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

translations: install  ## extract messages, update every language's catalog, compile them (.mo)
	$(BIN)/pybabel extract -F babel.cfg -c TRANSLATORS: --add-location=file --sort-output \
		--project ParkMind --copyright-holder ParkMind --msgid-bugs-address "" \
		-o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations -w 100 \
		--ignore-obsolete --previous
	$(BIN)/pybabel compile -d app/translations --statistics

worker: install  ## run a Celery worker (needs REDIS_URL or CELERY_BROKER_URL)
	$(BIN)/celery -A celery_worker worker --loglevel=INFO

beat: install  ## run the Celery beat scheduler (exactly one per deployment)
	$(BIN)/celery -A celery_worker beat --loglevel=INFO

# The data set of `make bench`: SCALE=10 seeds 2,000,000 past bookings and 500,000 spots (MariaDB
# with the buffer pool below).
SCALE ?= 1

bench: install-dev  ## benchmark against side-by-side baselines on SQLite and MariaDB (< 15 min at SCALE=1); DB=postgres|all
	$(BIN)/python -m bench --scale $(SCALE) $(if $(DB),--db $(DB)) $(if $(filter-out 1 0.1,$(SCALE)),$(if $(BENCH_MARIADB_BUFFER_POOL),--mariadb-buffer-pool $(BENCH_MARIADB_BUFFER_POOL)))

bench-quick: install-dev  ## short benchmark on SQLite (< 5 min)
	$(BIN)/python -m bench --quick

# MariaDB's buffer pool during the growth run and a bench above scale 1 (restored after); empty
# leaves the server's own.
BENCH_MARIADB_BUFFER_POOL ?= 2G

bench-growth: install-dev  ## request time at scale 10 against scale 0.1, no cache, SQLite and MariaDB (~25 min); DB=postgres|all
	$(BIN)/python -m bench --growth $(if $(DB),--db $(DB)) $(if $(BENCH_MARIADB_BUFFER_POOL),--mariadb-buffer-pool $(BENCH_MARIADB_BUFFER_POOL))

fuzz: install-dev  ## longer schema-fuzzing pass (schemathesis against a real gunicorn)
	FUZZ_MAX_EXAMPLES=$${FUZZ_MAX_EXAMPLES:-100} $(BIN)/pytest -q tests/system/test_fuzz.py

clean:  ## remove the virtualenv and caches (keeps instance/ data)
	rm -rf $(VENV) .pytest_cache .ruff_cache
