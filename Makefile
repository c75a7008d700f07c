# Two commands do all the set-up on a fresh machine: `make test` and `make demo`.
# `make install` is for a server: the bot and its dependencies, no test tools.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
TEST_STAMP := $(VENV)/.test-stamp
BENCH_STAMP := $(VENV)/.bench-stamp
CODE := bot handlers storage

.PHONY: test demo bench crash-test lint install dev clean screenshots

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

# The test tools (pytest, ruff, mypy…) on top: what lint, test and bench need.
$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(TEST_STAMP)

install: $(STAMP)

dev: $(TEST_STAMP)

lint: $(TEST_STAMP)
	$(BIN)/ruff check $(CODE) tests
	$(BIN)/ruff format --check $(CODE) tests
	$(BIN)/mypy --strict $(CODE)

# The tests with coverage of bot, handlers and storage (lines missed, by file);
# pytest-cov's fail-under counts all three, so a second step holds bot/ to 90 %.
test: lint
	$(BIN)/pytest --cov --cov-report=term-missing:skip-covered
	@printf 'Coverage of bot/ (at least 90 %%): '
	@$(BIN)/coverage report --include='bot/*' --fail-under=90 --format=total

crash-test: $(TEST_STAMP)
	$(BIN)/pytest -m crash -s

# The dashboard's pages as PNGs in docs/ (Debian's Chromium; not part of make test).
screenshots: $(TEST_STAMP)
	$(BIN)/python -m tests.screenshots

demo: $(STAMP)
	$(BIN)/phananh demo

$(BENCH_STAMP): $(TEST_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

# Every benchmark, each against a reference in the same run; writes bench/RESULTS.md.
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) data/demo.db
