PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VNU_JAR := node_modules/vnu-jar/build/dist/vnu.jar
AXE_JS := node_modules/axe-core/axe.min.js
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run serve test test-browser html-checker lint format bench superuser clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,browser]"
	@touch $@

## The Nu Html Checker the browser tests run with Java, and the axe-core they inject into
## pages (both pinned in package-lock.json, installed together; vnu.jar is the stamp).
## Without npm these checks are skipped, except when EVR_REQUIRE_BROWSER is set (CI).
html-checker: $(VNU_JAR)

# No recipe: a missing axe.min.js counts as changed, so npm ci runs again.
$(AXE_JS): ;

$(VNU_JAR): package.json package-lock.json $(AXE_JS)
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && touch $@ && exit 0; \
	  problem="npm ci failed"; \
	else \
	  problem="npm is missing (apt-get install -y npm)"; \
	fi; \
	if [ -n "$$EVR_REQUIRE_BROWSER" ] && [ "$$EVR_REQUIRE_BROWSER" != 0 ]; then \
	  echo "$$problem: the browser tests need the HTML checker and axe-core" >&2; exit 1; \
	fi

## Run the site with the article loaded at http://127.0.0.1:8000/ (development settings).
run: $(STAMP)
	DJANGO_DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DJANGO_DEBUG=1 $(BIN)/python manage.py load_seed
	DJANGO_DEBUG=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)

## Run the site under gunicorn with production settings (plain HTTP on this machine).
## Threaded workers (gthread, 3 processes x 4 threads): a request waiting on the database
## (a write queued behind a lock, up to EVR_SQLITE_BUSY_TIMEOUT seconds, then a 503) holds
## one thread, not a whole process, so pages keep being served meanwhile; with sync workers
## a few stuck writes left every reader waiting behind them. A worker takes only as many
## connections as it has threads (--worker-connections 4, no keep-alive), so a request never
## queues behind a stuck one in a busy worker while another worker has a thread free.
## The access log has no client address (no %(h)s, no X-Forwarded-For): time, request line,
## status, size and duration only, as the README promises.
serve: $(STAMP)
	@mkdir -p var && test -s var/secret-key || $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(50))" > var/secret-key
	DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-$$(cat var/secret-key)} DJANGO_SECURE_SSL_REDIRECT=0 DJANGO_SECURE_COOKIES=0 sh -c '\
	  $(BIN)/python manage.py migrate --noinput && \
	  $(BIN)/python manage.py load_seed && \
	  $(BIN)/python manage.py collectstatic --noinput --verbosity 0 && \
	  $(BIN)/gunicorn evsite.wsgi --worker-class gthread --workers 3 --threads 4 \
	    --worker-connections 4 --keep-alive 0 --bind $(HOST):$(PORT) --access-logfile - \
	    --access-logformat "%(t)s \"%(r)s\" %(s)s %(b)s %(M)sms"'

## Lint, then run the whole test suite (browser tests are skipped when Chromium is missing).
test: $(STAMP) lint $(VNU_JAR)
	DJANGO_SECRET_KEY=makemigrations-check $(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest

## Only the browser tests (needs Debian's chromium: apt-get install -y chromium).
test-browser: $(STAMP) $(VNU_JAR)
	$(BIN)/pytest -m browser --screenshot only-on-failure --output test-results tests/browser

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Load under gunicorn against a ceiling (bench/load.py; LOAD_ARGS="--db postgres" etc.);
## then page speed, memory and queries; then exact counting of concurrent votes.
bench: $(STAMP)
	$(BIN)/python bench/load.py $(LOAD_ARGS)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/poll_votes.py

## A load run: 200 readers post, reply, mark and vote under gunicorn while a worker is killed
## (and Redis restarted, with --db postgres); then every accepted write is checked in the
## database (bench/loadrun.py; LOADRUN_ARGS="--db postgres --readers 250 --seconds 90").
.PHONY: loadrun
loadrun: $(STAMP)
	$(BIN)/python bench/loadrun.py $(LOADRUN_ARGS)

superuser: $(STAMP)
	DJANGO_DEBUG=1 $(BIN)/python manage.py createsuperuser

clean:
	rm -rf $(VENV) var staticfiles test-results screenshots
