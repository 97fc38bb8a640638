# ASXH — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
FLASK  := $(PY) -m flask --app run
STAMP  := $(VENV)/.installed

.PHONY: demo test lint install chromium i18n-extract i18n-compile init clean bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP) i18n-compile

i18n-compile: $(STAMP)
	$(PY) translations/i18n.py compile

i18n-extract: $(STAMP)
	$(PY) translations/i18n.py extract

init: install
	$(FLASK) asxh init

# Starts the web server on 127.0.0.1:$${PORT:-8080}, one RQ worker and an embedded Redis (SQLite by default).
demo: init
	$(FLASK) asxh seed-demo
	$(FLASK) asxh demo

# Debian's chromium for the browser tests (installed when missing and we may install packages).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "The browser tests need Debian's chromium: sudo apt-get install chromium"; fi; \
	fi

# The whole suite. TEST_DATABASE_URL / REDIS_URL select PostgreSQL / a Redis server.
test: install chromium
	$(PY) -m pytest -q $(PYTEST_ARGS)

# Lint (ruff: pyflakes, pycodestyle, bugbear, isort, pyupgrade, complexity 15; then mypy --strict on the
# pure modules listed in [tool.mypy]; settings in pyproject.toml).
lint: $(STAMP)
	$(PY) -m ruff check app jobs tests bench config.py run.py translations/i18n.py
	$(PY) -m ruff format --check app jobs tests bench config.py run.py translations/i18n.py
	$(PY) -m mypy

# Every benchmark, one after the other, each on a PostgreSQL database of its own (created and dropped) and
# writing bench/results/<name>.json. ROWS sizes them (the match benchmark takes 4 citizens per row).
ROWS ?= 100000
bench: install
	$(PY) bench/normalize_bench.py --rows $(ROWS)
	$(PY) bench/synthetic_bench.py --rows $(ROWS)
	$(PY) bench/address_bench.py --rows $(ROWS)
	$(PY) bench/xlsx_bench.py --rows $$(( $(ROWS) / 5 ))
	$(PY) bench/match_threshold_bench.py --citizens $$(( $(ROWS) * 2 )) --rows $$(( $(ROWS) / 5 ))
	$(PY) bench/import_bench.py --rows $(ROWS) --profile
	$(PY) bench/match_bench.py --rows $(ROWS) --citizens $$(( $(ROWS) * 4 ))
	$(PY) bench/payout_bench.py --rows $(ROWS)
	$(PY) bench/web_bench.py --rows $(ROWS)
	$(PY) bench/duplicates_bench.py --people $(ROWS)
	$(PY) bench/partition_bench.py --rows $(ROWS)

clean:
	rm -rf $(VENV) instance
