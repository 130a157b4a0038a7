# mmhornet: `make demo` and `make test` install everything first (idempotent).
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: install demo test test-fast bench clean-venv

install:
	@bash tools/install/install.sh

demo: install
	$(PY) tools/demo.py

test: install
	$(PY) -m pytest tests --durations=20 $(PYTEST_ARGS)

test-fast: install
	$(PY) -m pytest tests -m "not slow" $(PYTEST_ARGS)

bench: install
	$(PY) tools/analysis/benchmark.py

clean-venv:
	rm -rf $(VENV)
