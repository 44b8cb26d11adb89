# Two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export CLINIC_ENV ?= development

WORKERS ?= 2

.PHONY: run test install install-dev db seed clean flask reset-demo worker translations translations-extract translations-update

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 or newer is needed (set PYTHON=python3.x)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

db: install
	$(BIN)/flask --app wsgi db upgrade

seed: db
	$(BIN)/flask --app wsgi seed --demo

# The fictional demo signs in with a password alone; production requires two-factor sign-in for admins.
run: export CLINIC_REQUIRE_2FA ?= none
run: seed
	@echo ""
	@echo "The demo clinic is at http://$(HOST):$(PORT)/ (log in with one of the accounts above)."
	@echo "Two-factor sign-in is optional in this demo (CLINIC_REQUIRE_2FA=$$CLINIC_REQUIRE_2FA); enrol at 'Two-factor sign-in' in the menu."
	@echo "A print worker ($(WORKERS) processes, queue $${CLINIC_JOB_QUEUE:-sqlite: instance/jobs.sqlite}) runs alongside for batch prints; it stops with the server (log: instance/worker.log)."
	@$(BIN)/flask --app wsgi jobs worker --workers $(WORKERS) > instance/worker.log 2>&1 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/flask --app wsgi run --host $(HOST) --port $(PORT)

# The background print worker alone (e.g. on another machine, with CLINIC_JOB_QUEUE=redis://...).
worker: install
	$(BIN)/flask --app wsgi jobs worker --workers $(WORKERS)

test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Any flask command with the settings `make run` uses: make flask ARGS="user create lee@clinic.example --role admin"
flask: install
	$(BIN)/flask --app wsgi $(ARGS)

# Start the demo afresh: delete the development SQLite database, then migrate and seed again.
# Stop `make run` first. Only the default development database is ever deleted.
reset-demo: install
	@if [ -n "$$DATABASE_URL" ]; then echo "reset-demo deletes only the development database in instance/; DATABASE_URL is set, so nothing was deleted."; exit 1; fi
	@if [ "$$CLINIC_ENV" = production ]; then echo "reset-demo never runs with CLINIC_ENV=production; nothing was deleted."; exit 1; fi
	rm -f instance/clinic.sqlite
	$(MAKE) --no-print-directory seed

# The catalogues of printed patient paper (translations/, see the README's "Languages").
# The app compiles a missing or stale .mo when it starts; this compiles them all now.
translations: install
	$(BIN)/pybabel compile -d translations

# After changing a printed template's words: extract them, then merge into every language.
translations-extract: install
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output --project clinic -o translations/messages.pot .

translations-update: translations-extract
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-pot-creation-date

clean:
	rm -rf $(VENV) instance .pytest_cache
