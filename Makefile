# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-pandas22 chromium postgres lint bench bench-full clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,dask]"
	$(BIN)/python -m rct._warm    # compile the point-in-polygon kernel once, at install
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/rct demo --out rct-demo

# the report tests open each report in headless Chromium (Debian's package)
chromium:
	sh .ci/install-chromium.sh

# the database tests read from a real PostgreSQL server (Debian's package): installed here,
# started for the run on a private socket, stopped after (.ci/postgres.sh)
postgres:
	sh .ci/postgres.sh install

test: $(STAMP) chromium postgres
	sh .ci/postgres.sh run -- $(BIN)/python -m pytest -q

# the suite on the oldest pandas we support (pandas 3.x is what `make test` gets), less the
# slow simulation studies (marked `slow`): they are pure numpy/scipy and run under `make test`
PD22 := .venv-pandas22
$(PD22)/.installed: pyproject.toml
	$(PYTHON) -m venv $(PD22)
	$(PD22)/bin/python -m pip install --quiet --upgrade pip
	$(PD22)/bin/python -m pip install --quiet -e ".[dev,dask]" "pandas==2.2.*"
	$(PD22)/bin/python -m rct._warm
	touch $@

test-pandas22: $(PD22)/.installed chromium postgres
	sh .ci/postgres.sh run -- $(PD22)/bin/python -m pytest -q -p no:cacheprovider -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check rct tests benchmarks examples

# every benchmark against its strongest peer, in one run, one table (quick sizes; bench-full
# runs the sizes the issues quote)
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

bench-full: $(STAMP)
	$(BIN)/python benchmarks/run_all.py --full

clean:
	rm -rf $(VENV) $(PD22) rct-demo .pytest_cache
