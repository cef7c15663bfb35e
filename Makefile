# epoll_py: every target makes its own virtual environment, builds, and runs.
#
#   make test            the test suite (unit, doctests, packaging)
#   make bench           the benchmark (BENCH_ARGS="--quick" or "--json out.json")
#   make install         just the environment, with epoll_py built in place
#   make lint            ruff and mypy --strict
#   make clean           remove environments and build outputs
#
# PYTHON picks the interpreter (make test PYTHON=pypy3); each gets its own .venv.

PYTHON ?= python3
VENV ?= .venv$(if $(filter python3,$(notdir $(PYTHON))),,-$(notdir $(PYTHON)))
BIN := $(VENV)/bin
SOURCES := build_epoll.py setup.py pyproject.toml
INSTALLED := $(VENV)/.installed
BENCH_TOOLS := $(VENV)/.bench-tools
LINT_TOOLS := $(VENV)/.lint-tools
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# An editable install builds epoll_py/_epoll*.so in place, so the tests, the
# doctests (pytest --doctest-modules epoll_py) and the benchmark all import
# the source tree with its compiled core.
$(INSTALLED): $(BIN)/python $(SOURCES)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(INSTALLED)

test: $(INSTALLED)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# uvloop (the bench extra) is optional: the asyncio section compares with it
# when it installs, and runs without it when it does not.
$(BENCH_TOOLS): $(INSTALLED)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]' || echo "uvloop not installed: skipped"
	touch $@

bench: $(BENCH_TOOLS)
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

$(LINT_TOOLS): $(INSTALLED)
	$(BIN)/python -m pip install --quiet -e '.[test,lint]'
	touch $@

lint: $(LINT_TOOLS)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .
	$(BIN)/python -m mypy

clean:
	rm -rf .venv .venv-* build dist *.egg-info .hypothesis .mypy_cache .ruff_cache
	rm -f epoll_py/_epoll*.so epoll_py/_epoll.c epoll_py/_epoll.o
	find . -name __pycache__ -prune -exec rm -rf {} +
