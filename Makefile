# Two commands on a fresh machine: `make run` and `make test`. Everything else here serves them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app

.PHONY: setup run lint test migrate bench clean

setup: $(VENV)/.installed static/vendor/.installed

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Front-end libraries come from npm and are copied here; static/vendor/ is git-ignored.
static/vendor/.installed: node_modules/.installed
	rm -rf static/vendor && mkdir -p static/vendor/bootstrap static/vendor/bootstrap-icons static/vendor/htmx static/vendor/chartjs
	cp node_modules/bootstrap/dist/css/bootstrap.min.css node_modules/bootstrap/dist/js/bootstrap.bundle.min.js static/vendor/bootstrap/
	cp -r node_modules/bootstrap-icons/font/bootstrap-icons.min.css node_modules/bootstrap-icons/font/fonts static/vendor/bootstrap-icons/
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx/
	cp node_modules/chart.js/dist/chart.umd.min.js static/vendor/chartjs/ 2>/dev/null || cp node_modules/chart.js/dist/chart.umd.js static/vendor/chartjs/chart.umd.min.js
	touch $@

migrate: setup
	$(FLASK) db upgrade

# The dashboard with its scheduler on SQLite, and the built-in sandbox unless real credentials are set.
run: migrate
	$(FLASK) users bootstrap-admin
	$(BIN)/python -m stella.devserver

# ruff and mypy are configured in pyproject.toml; CI runs them through `make test`.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

test: setup lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) node_modules static/vendor .pytest_cache .mypy_cache .ruff_cache
