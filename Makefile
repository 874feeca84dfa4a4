# The README's commands. Each creates .venv on first use and installs the project into it.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.outfitter-installed
TEST_STAMP := $(VENV)/.outfitter-test-installed

.PHONY: demo test bench install browser

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# The tests also need the optional Ray extra: the Ray runner's tests start a real two-node cluster.
$(TEST_STAMP): $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,ray]'
	touch $(TEST_STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/outfitter demo

test: $(TEST_STAMP) browser
	$(PY) -m pytest -q

# Headless Chromium for the page tests, from Debian (never `playwright install`); they skip without it.
browser:
	@command -v chromium >/dev/null || (echo "installing Debian's chromium for the browser tests (apt-get, as root)" \
		&& apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
		|| echo "chromium not installed: browser tests will be skipped"

bench: $(STAMP)
	$(PY) benchmarks/similar_quality.py
	$(PY) benchmarks/api_load.py
