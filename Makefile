# The README's two commands: `make demo` and `make test`. Both build .venv from nothing.
# `make check` is the quick edit loop (under a minute): lint, types and every test neither
# marked slow nor on PostgreSQL; `make test` (and CI) runs them all, on both databases.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DUMP := bot/data/communitycare-cspr-feed-dump.txt

.PHONY: demo test check lint typecheck unit quick quick-pg bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/reportbot import $(DUMP)
	$(BIN)/reportbot archive list
	$(BIN)/reportbot archive list --facts
	$(BIN)/reportbot digest preview demo --format html --out state/demo/digest.html
	$(BIN)/reportbot digest preview demo --format text --out state/demo/digest.txt
	cat state/demo/digest.txt

lint: $(VENV)/.installed-test
	$(BIN)/ruff check bot tests bench

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy --strict bot

unit: $(VENV)/.installed-test
	$(BIN)/pytest -q

# the long end-to-end tests (marked slow) and the PostgreSQL runs of the tests that take
# both databases are left out, the rest spread over the cores; `make test` and CI run every
# test, one at a time (`make quick-pg` adds the PostgreSQL runs to the quick loop)
quick: $(VENV)/.installed-test
	$(BIN)/pytest -q -m "not slow and not postgres" -n auto

quick-pg: $(VENV)/.installed-test
	$(BIN)/pytest -q -m "not slow" -n auto

test: lint typecheck unit

check: lint typecheck quick

bench: $(VENV)/.installed-test
	$(BIN)/python bench/import_dump.py
	$(BIN)/python bench/extract.py
	$(BIN)/python bench/extract_eval.py
	$(BIN)/python bench/deep_html.py
	$(BIN)/python bench/poll.py
	$(BIN)/python bench/worker_rss.py
	$(BIN)/python bench/deliver.py
	$(BIN)/python bench/scaleout.py
	$(BIN)/python bench/cli_start.py
	$(BIN)/python bench/web.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
