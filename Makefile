# Two commands do all set-up on a fresh machine that has only Python 3.11+:
#   make run   - virtualenv, install, migrate SQLite, load the demo, serve on 127.0.0.1:8000
#   make test  - the whole suite (SQLite by default; PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint install translations migrate seed messages clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is needed, found " + sys.version) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

translations: install
	$(BIN)/python manage.py compile_translations

run: export DEBUG = true
run: export SITE_URL = http://$(HOST):$(PORT)
run: install translations
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py serve --host $(HOST) --port $(PORT)

test: install translations
	HELPDESK_TESTING=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	HELPDESK_TESTING=1 $(BIN)/mypy .

# For developers with GNU gettext: refresh the catalogs from the source strings.
messages: install
	cd $(CURDIR) && HELPDESK_TESTING=1 $(BIN)/python manage.py makemessages --no-obsolete --no-location \
		-l en_US -l fr -l de -l es -l it -l pl -l pt_BR -i ".venv/*" -i "tests/*" -i "bench/*"

clean:
	rm -rf $(VENV) db.sqlite3 .test-db*.sqlite3
