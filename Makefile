PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VNU_JAR := node_modules/vnu-jar/build/dist/vnu.jar
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run serve test test-browser html-checker lint format bench superuser clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,browser]"
	@touch $@

## The Nu Html Checker the browser tests run with Java (pinned in package-lock.json).
## Without npm the HTML check is skipped, except when EVR_REQUIRE_BROWSER is set (CI).
html-checker: $(VNU_JAR)

$(VNU_JAR): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && touch $@ && exit 0; \
	  problem="npm ci failed"; \
	else \
	  problem="npm is missing (apt-get install -y npm)"; \
	fi; \
	if [ -n "$$EVR_REQUIRE_BROWSER" ] && [ "$$EVR_REQUIRE_BROWSER" != 0 ]; then \
	  echo "$$problem: the browser tests need the HTML checker" >&2; exit 1; \
	fi

## Run the site with the article loaded at http://127.0.0.1:8000/ (development settings).
run: $(STAMP)
	DJANGO_DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DJANGO_DEBUG=1 $(BIN)/python manage.py load_seed
	DJANGO_DEBUG=1 $(BIN)/python manage.py runserver $(HOST):$(PORT)

## Run the site under gunicorn with production settings (plain HTTP on this machine).
serve: $(STAMP)
	@mkdir -p var && test -s var/secret-key || $(BIN)/python -c "import secrets; print(secrets.token_urlsafe(50))" > var/secret-key
	DJANGO_SECRET_KEY=$${DJANGO_SECRET_KEY:-$$(cat var/secret-key)} DJANGO_SECURE_SSL_REDIRECT=0 DJANGO_SECURE_COOKIES=0 sh -c '\
	  $(BIN)/python manage.py migrate --noinput && \
	  $(BIN)/python manage.py load_seed && \
	  $(BIN)/python manage.py collectstatic --noinput --verbosity 0 && \
	  $(BIN)/gunicorn evsite.wsgi --workers 3 --bind $(HOST):$(PORT) --access-logfile -'

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

## Page speed, memory and queries; then exact counting of concurrent votes under gunicorn.
bench: $(STAMP)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/poll_votes.py

superuser: $(STAMP)
	DJANGO_DEBUG=1 $(BIN)/python manage.py createsuperuser

clean:
	rm -rf $(VENV) var staticfiles test-results screenshots
