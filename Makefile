# Two commands matter: `make run` (the whole product on loopback) and `make test`.
# Both set up the virtual environment on first use.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# DynamicsWebApi for the conformance suite (tests/conformance/js), installed from its lock file.
CONFORMANCE_JS := tests/conformance/js
JS_STAMP       := $(CONFORMANCE_JS)/node_modules/.installed
# The pinned @azure/msal-browser for the ribbon web resources (dynamics/), installed from its lock
# file so the node tests can check the committed bundle against it, and xrm-mock, the Dynamics
# client API of the button's node and browser tests.
DYNAMICS_JS       := dynamics
DYNAMICS_JS_STAMP := $(DYNAMICS_JS)/node_modules/.installed
# Azurite, the Azure Storage emulator (pinned in tools/azurite), for `make run` and the storage tests.
AZURITE_JS    := tools/azurite
AZURITE_STAMP := $(AZURITE_JS)/node_modules/.installed

.PHONY: run test test-slow venv azurite clean bench msal-webresource

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	# The Python worker's indexing code, used by tests/system/test_host_indexing.py (the Functions host must accept the app).
	# It declares Python >= 3.13; its loader also works on 3.11/3.12 for indexing.
	$(PY) -m pip install --quiet --no-deps --ignore-requires-python azure-functions-runtime==1.3.0
	touch $(STAMP)

$(JS_STAMP): $(CONFORMANCE_JS)/package.json $(CONFORMANCE_JS)/package-lock.json
	cd $(CONFORMANCE_JS) && npm ci --no-audit --no-fund --loglevel=error
	touch $(JS_STAMP)

azurite: $(AZURITE_STAMP)

$(AZURITE_STAMP): $(AZURITE_JS)/package.json $(AZURITE_JS)/package-lock.json
	cd $(AZURITE_JS) && npm ci --no-audit --no-fund --loglevel=error
	touch $(AZURITE_STAMP)

$(DYNAMICS_JS_STAMP): $(DYNAMICS_JS)/package.json $(DYNAMICS_JS)/package-lock.json
	cd $(DYNAMICS_JS) && npm ci --no-audit --no-fund --loglevel=error
	touch $(DYNAMICS_JS_STAMP)

# Copies the pinned msal-browser bundles and licence into dynamics/webresources/ (checksums printed).
msal-webresource: $(DYNAMICS_JS_STAMP)
	node $(DYNAMICS_JS)/build-msal-webresource.mjs

# RUN_ARGS=--session-auth=key: function keys and redirect links instead of users' tokens (docs/demo.md)
RUN_ARGS ?=
run: $(STAMP) $(AZURITE_STAMP)
	$(PY) tools/run_stack.py $(RUN_ARGS)

# pytest runs in two worker processes (pytest-xdist); PYTEST_ARGS="-n 0 ..." runs it in one.
# `make test` leaves out the tests marked slow (under 3 minutes on 2 cores); `make test-slow` runs
# only those (a worker killed mid-job, exhaustive properties); CI runs both.
PYTEST_ARGS ?=
test: $(STAMP) $(JS_STAMP) $(DYNAMICS_JS_STAMP) $(AZURITE_STAMP)
	$(PY) -m pytest -n 2 -m "not slow" $(PYTEST_ARGS)
	node --test dynamics/

test-slow: $(STAMP) $(JS_STAMP) $(DYNAMICS_JS_STAMP) $(AZURITE_STAMP)
	$(PY) -m pytest -n 2 -m slow $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis $(CONFORMANCE_JS)/node_modules $(DYNAMICS_JS)/node_modules $(AZURITE_JS)/node_modules
