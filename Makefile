# mmhornet: `make demo` and `make test` install everything first (idempotent).
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: install demo test test-fast lint bench clean-venv

install:
	@bash tools/install/install.sh

demo: install
	$(PY) tools/demo.py

test: install
	$(PY) -m pytest tests --durations=20 $(PYTEST_ARGS)

# flake8, isort, yapf and codespell over the tracked files (the pre-commit hooks' checks).
lint: install
	@files=$$(git ls-files '*.py'); \
	$(VENV)/bin/flake8 $$files && \
	$(VENV)/bin/isort --check-only --diff $$files && \
	$(VENV)/bin/yapf --diff $$files && \
	$(VENV)/bin/codespell $$(git ls-files) && \
	echo "lint: OK ($$(echo $$files | wc -w) Python files)"

test-fast: install
	$(PY) -m pytest tests -m "not slow" $(PYTEST_ARGS)

bench: install
	$(PY) tools/analysis/benchmark.py

clean-venv:
	rm -rf $(VENV)
