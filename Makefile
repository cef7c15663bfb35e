# epoll_py: every target makes its own virtual environment, builds, and runs.
#
#   make test            the test suite (unit, doctests, packaging)
#   make bench           the benchmark (BENCH_ARGS="--quick" or "--json out.json")
#   make install         just the environment, with epoll_py built in place
#   make lint            ruff and mypy --strict
#   make docs            the Sphinx site into build/docs/html, warnings as errors,
#                        and every example in it run
#   make fuzz            the model-based fuzzer, long (FUZZ_EXAMPLES=2000)
#   make asan            the suite on an AddressSanitizer + UBSan build
#   make test-all        the suite on every CPython 3.9-3.13 pyenv has, and PyPy
#   make clean           remove environments and build outputs
#
# PYTHON picks the interpreter (make test PYTHON=pypy3); each gets its own .venv.

PYTHON ?= python3
VENV ?= .venv$(if $(filter python3,$(notdir $(PYTHON))),,-$(notdir $(PYTHON)))
BIN := $(VENV)/bin
SOURCES := build_epoll.py setup.py pyproject.toml epoll_py/_shim.c epoll_py/_shim.h epoll_py/_system.cdef
INSTALLED := $(VENV)/.installed
BENCH_TOOLS := $(VENV)/.bench-tools
LINT_TOOLS := $(VENV)/.lint-tools
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# Our C builds with -Wall -Wextra -Werror here (build_epoll.py).
export EPOLL_PY_WERROR := 1

.PHONY: install test bench lint docs clean fuzz asan test-all

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

# The model-based fuzzer, longer than in `make test`:
#   make fuzz FUZZ_EXAMPLES=5000 FUZZ_STEPS=100
FUZZ_EXAMPLES ?= 2000
FUZZ_STEPS ?= 80
fuzz: $(INSTALLED)
	EPOLL_PY_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) EPOLL_PY_FUZZ_STEPS=$(FUZZ_STEPS) \
		$(BIN)/python -m pytest -q tests/test_fuzz_model.py --hypothesis-show-statistics

# Every interpreter we can run: pyenv's CPythons 3.9 to 3.13 and Debian's pypy3.
PYENV_VERSIONS := $(shell pyenv root 2>/dev/null || echo $$HOME/.pyenv)/versions
ALL_PYTHONS ?= $(foreach v,3.9 3.10 3.11 3.12 3.13,$(or $(lastword $(sort $(wildcard \
	$(PYENV_VERSIONS)/$(v).*/bin/python$(v)))),python$(v))) pypy3
test-all:
	.ci/matrix $(ALL_PYTHONS)

# AddressSanitizer + UndefinedBehaviorSanitizer.  The extension is built with
# the sanitizers in a copy of the tree (an in-place build here would replace
# the one .venv uses), and the suite runs with the ASan runtime preloaded and
# PYTHONMALLOC=malloc, so Python's own allocations are checked too.  Leak
# detection is off: CPython itself does not free everything at exit.  An
# allocation too large to satisfy returns NULL (MemoryError), as with glibc,
# instead of aborting: the contract tests ask select.epoll for 25 GB.
ASAN_DIR := build/asan
SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g
asan:
	rm -rf $(ASAN_DIR) && mkdir -p $(ASAN_DIR)
	tar -cf - --exclude=./build --exclude='./.venv*' --exclude='*.so' --exclude='*.o' \
		--exclude=./.git --exclude=./.hypothesis . | tar -xf - -C $(ASAN_DIR)
	cd $(ASAN_DIR) && $(PYTHON) -m venv .venv && \
		CFLAGS="$(SANITIZE)" LDFLAGS="$(SANITIZE)" .venv/bin/python -m pip install --quiet -e '.[test]'
	cd $(ASAN_DIR) && \
		LD_PRELOAD="$$(gcc -print-file-name=libasan.so) $$(gcc -print-file-name=libubsan.so)" \
		ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:strict_string_checks=1:allocator_may_return_null=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 PYTHONMALLOC=malloc \
		.venv/bin/python -m pytest -q -m "not packaging" -p no:cacheprovider

# The bench extra (uvloop, aiohttp) and ApacheBench are optional: a section
# runs without what did not install (the asyncio section without uvloop), or
# says in the report why it skipped (the http section, without aiohttp or ab).
# If the extra fails as a whole, each package is tried alone.  ab comes from
# apt, tried only as root; nothing here fails the build.
$(BENCH_TOOLS): $(INSTALLED)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]' || \
		for p in uvloop aiohttp; do \
			$(BIN)/python -m pip install --quiet $$p || echo "$$p not installed: skipped"; \
		done
	command -v ab >/dev/null || [ "$$(id -u)" != 0 ] || \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=120 apache2-utils >/dev/null || \
		echo "ab (apache2-utils) not installed: the http section will skip"
	touch $@

# The benchmark package (benchmarks/), run as a script.  BENCH_MAKE_START is
# when make started, before building: the report gives both durations.
bench: export BENCH_MAKE_START := $(shell date +%s.%N)
bench: $(BENCH_TOOLS)
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

$(LINT_TOOLS): $(INSTALLED)
	$(BIN)/python -m pip install --quiet -e '.[test,lint]'
	touch $@

# mypy --strict over the package and the benchmark; the tests are checked
# too, bodies included, without every helper and lambda annotated.
lint: $(LINT_TOOLS)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .
	$(BIN)/python -m mypy
	$(BIN)/python -m mypy tests --allow-untyped-defs --allow-incomplete-defs \
		--allow-untyped-calls --check-untyped-defs

# The documentation site (docs/), in its own environment (.venv-docs, with
# the docs extra), from an editable install like the others: autodoc imports
# the source tree with its compiled core.  -W makes every warning an error.
# Then the code the site shows runs: the docstrings' examples (pytest's
# doctests, with each module's names) and every ```python block of the pages
# and the README (tests/test_doc_examples.py).  Output: build/docs (ignored).
DOCS_VENV ?= $(VENV)-docs
DOCS_BIN := $(DOCS_VENV)/bin
DOCS_OUT ?= build/docs
$(DOCS_VENV)/.installed: $(SOURCES)
	$(PYTHON) -m venv $(DOCS_VENV)
	$(DOCS_BIN)/python -m pip install --quiet -e '.[docs,test]'
	touch $@

docs: $(DOCS_VENV)/.installed
	$(DOCS_BIN)/python -m sphinx -W --keep-going -q -b html docs $(DOCS_OUT)/html
	$(DOCS_BIN)/python -m pytest -q tests/test_doc_examples.py epoll_py
	@echo "the site: $(DOCS_OUT)/html/index.html"

clean:
	rm -rf .venv .venv-* build dist *.egg-info .hypothesis .mypy_cache .ruff_cache
	rm -f epoll_py/_epoll*.so epoll_py/_epoll.c epoll_py/_epoll.o
	find . -name __pycache__ -prune -exec rm -rf {} +
