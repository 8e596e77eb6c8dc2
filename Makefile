# pmd-agent: the two Quick-start commands and their helpers.
#
#   make run    set up, then run the main job on the bundled cartridge
#   make test   set up, then lint and run the whole test suite
#   make bench-smoke  the short bench suite, appended to
#               target/bench-history.jsonl (make test runs it last)
#   make fuzz-smoke  each cargo-fuzz target for 20 s from a seed corpus
#               (nightly and cargo-fuzz installed when missing; make test
#               runs it)
#   make python-test  the Python tests: the package (crates/pmd-py; wheel
#               built and installed into .venv) and `pmd-agent mcp` under
#               the official MCP client, with pytest (make test runs it)
#   make miri   the pure-Rust unit tests under Miri (nightly; not part of
#               `make test`; scripts/miri.sh lists what runs)
#
# Each target installs what is missing first (scripts/setup.sh).

SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)
CARGO ?= cargo
JOBS  ?= 2
ARGS  ?= run --policy heuristic --steps 5000
# What the tests that call other programs need, from `make setup`; each
# PMD_REQUIRE_*=1 turns that test's skip (tool missing) into a failure.
TEST_ENV = PMD_PYTHON=$(CURDIR)/.venv/bin/python PMD_REQUIRE_PYTHON=1 \
	PMD_REQUIRE_PYARROW=1 \
	PMD_TORCH_PYTHON=$(CURDIR)/.venv/bin/python PMD_REQUIRE_TORCH_PYTHON=1 \
	PMD_REQUIRE_CARTRIDGE_TOOLCHAIN=1

.PHONY: setup run test lint bench bench-smoke fuzz-smoke cartridge miri python-test

setup:
	@scripts/setup.sh

run: setup
	$(CARGO) run --release -j $(JOBS) -- $(ARGS)

test: setup lint
	$(TEST_ENV) $(CARGO) test -j $(JOBS) --workspace --all-targets
	$(CARGO) test -j $(JOBS) --workspace --doc
	$(MAKE) --no-print-directory python-test
	$(MAKE) --no-print-directory bench-smoke
	$(MAKE) --no-print-directory fuzz-smoke

lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy -j $(JOBS) --workspace --all-targets -- -D warnings
	# the library alone, without the command line's dependencies
	$(CARGO) clippy -j $(JOBS) -p pmd-agent --lib --no-default-features -- -D warnings
	# the league library without the command line
	$(CARGO) clippy -j $(JOBS) -p pmd-agent --lib --no-default-features --features league -- -D warnings
	scripts/check-crates.sh
	# Prometheus alert rules (promtool check + unit tests) and the Grafana
	# dashboard's queries against the exported metric names
	scripts/check-monitoring.sh

bench: setup
	$(CARGO) bench -j $(JOBS)

# The Python package: wheel built (dev profile) and installed into .venv,
# then pytest (gymnasium semantics, zero-copy, GIL, bad input, Ray).
python-test: setup
	$(CARGO) build -j $(JOBS) -p pmd-agent -p pmd-agent-torch --bins
	JOBS=$(JOBS) scripts/python-test.sh

# The debug build's figures in CI (the test build is reused): they catch a
# gross slow-down and keep the history mechanism exercised; BENCHMARKS.md's
# figures come from release builds.
bench-smoke: setup
	$(CARGO) run -j $(JOBS) --quiet -- bench smoke --json --history target/bench-history.jsonl

fuzz-smoke: setup
	JOBS=$(JOBS) scripts/fuzz-smoke.sh

cartridge: setup
	$(MAKE) -C native/cartridge install

miri: setup
	scripts/miri.sh
