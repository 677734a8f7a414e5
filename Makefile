# The project's commands. Only Python 3.11+ and make are needed; everything else is installed here.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lab lint notebooks bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ecrlab needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[lab,dev]'
	@touch $(STAMP)

## demo: execute every notebook headless against the embedded emulator into runs/<timestamp>/
demo: $(STAMP)
	$(BIN)/ecrlab demo

## test: the whole suite — unit, integration, notebooks under nbval
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --dist loadfile --nbval --nbval-sanitize-with notebooks/sanitize.cfg

## lab: JupyterLab on the notebooks
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/00_start_here.ipynb

## notebooks: re-execute the notebooks in place to refresh their committed outputs
notebooks: $(STAMP)
	for nb in notebooks/[0-9][0-9]_*.ipynb; do \
	  $(BIN)/jupyter nbconvert --to notebook --execute --inplace "$$nb" || exit 1; done

## bench: print the benchmark figures
bench: $(STAMP)
	for script in benchmarks/bench_*.py; do $(BIN)/python "$$script" || exit 1; done

clean:
	rm -rf $(VENV) runs build *.egg-info
