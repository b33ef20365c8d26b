# Two commands on a fresh machine with Python 3.11 and pip: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
MONTH  ?= 2026-10
OUT    ?= reports
PORT   ?= 8866

.PHONY: demo test lint lab serve samples notebooks bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/opskit check data_samples --month $(MONTH) --summary
	$(BIN)/opskit run data_samples --month $(MONTH) --out $(OUT)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

lab: $(STAMP)
	$(BIN)/jupyter lab --ip=127.0.0.1 --no-browser --notebook-dir=opskit/notebooks

notebooks: $(STAMP)
	$(BIN)/python -m opskit.report.notebooks

serve: $(STAMP)
	$(BIN)/opskit serve --data-root data_samples --port $(PORT)

samples: $(STAMP)
	$(BIN)/opskit samples data_samples

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(OUT) build .pytest_cache
