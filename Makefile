# The README's two commands: `make up` starts the suite, `make test` runs the tests.
# Both create the virtual environment and install what is missing on first use.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXTRAS ?= all

.PHONY: up test install protos lint lint-proto bench clean system-deps

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# CPU torch first: the wheel lies on disk here; a looser range would pull a multi-GB CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP)

up: $(STAMP)
	$(VENV)/bin/polyad up

PYTRITON_ENV := bench/.venvs/pytriton/.installed-pytriton-0.7.0

test: $(STAMP) node_modules/.bin/buf $(PYTRITON_ENV) system-deps
	$(PY) -m pytest -q $(PYTEST_ARGS)

# Debian packages some tests and the built-in evaluation data use (scripts/debian-packages.txt).
system-deps:
	scripts/system_deps.sh

# A real Triton server (PyPI nvidia-pytriton, numpy < 2) in its own environment; the tests that need it
# skip with the printed reason when it cannot be built.
$(PYTRITON_ENV): scripts/make_pytriton_env.sh
	scripts/make_pytriton_env.sh || echo "pytriton unavailable: the real-Triton tests will skip"

protos: $(STAMP)
	$(PY) scripts/gen_protos.py

node_modules/.bin/buf: package.json
	npm install --no-audit --no-fund
	touch $@

lint-proto: node_modules/.bin/buf
	node_modules/.bin/buf lint

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	for b in bench/*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) node_modules .pytest_cache
