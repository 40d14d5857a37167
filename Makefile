# Project-local virtual environment; every target installs what it needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
EXTRAS := torch,dask,plot,io,astropy,bench,data,dev
STAMP  := $(VENV)/.installed

.PHONY: report test screenshot lint bench bench-threads browser clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[$(EXTRAS)]"
	$(BIN)/python -m pip install --quiet -c constraints.txt onnx onnxruntime requests threadpoolctl
	$(BIN)/python -m pip install --quiet --no-deps facenet-pytorch==2.5.3 nudenet==3.4.2 rapidocr-onnxruntime==1.4.4
	touch $(STAMP)

## The main job: the report on the built-in defaults, written to report/index.html
report: $(STAMP)
	$(BIN)/sepconv report --out report

## The whole test suite (installs headless Chromium for the browser tests where apt can)
test: $(STAMP) browser
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

## The README's picture: the page `make report` writes, captured by headless Chromium
screenshot: report browser
	$(BIN)/python tests/test_report_browser.py report/index.html docs/report-screenshot.png

## Chromium and its driver, both needed by the browser tests (Selenium drives chromedriver)
browser:
	@{ command -v chromium && command -v chromedriver; } >/dev/null 2>&1 || { \
	  (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null) \
	  || echo "chromium or chromedriver could not be installed: the browser tests will be skipped"; }

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_filters.py

## Threading layers (sepconv's pool, Numba's omp / workqueue / tbb, Intel OpenMP), ~5 min
bench-threads: $(STAMP)
	$(BIN)/python benchmarks/bench_threads.py

clean:
	rm -rf $(VENV) report .pytest_cache
