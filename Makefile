# Two commands matter: `make run` (the whole product on loopback) and `make test`.
# Both set up the virtual environment on first use.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test venv clean bench

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	# The Python worker's indexing code, used by tests/test_host_indexing.py (the Functions host must accept the app).
	# It declares Python >= 3.13; its loader also works on 3.11/3.12 for indexing.
	$(PY) -m pip install --quiet --no-deps --ignore-requires-python azure-functions-runtime==1.3.0
	touch $(STAMP)

run: $(STAMP)
	$(PY) tools/run_stack.py

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)
	node --test dynamics/

bench: $(STAMP)
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
