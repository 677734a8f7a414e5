# The project's commands. Only Python 3.11+ and make are needed; everything else is installed here.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lab app lint notebooks bench clean system-deps iam-policy

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ecrlab needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[lab,dev]'
	@# Every notebook kernel imports the package; where PYTHONDONTWRITEBYTECODE is set (CI images) nothing else
	@# would cache its bytecode, and each kernel would compile it again.
	$(BIN)/python -m compileall -q ecrlab
	@touch $(STAMP)

## demo: execute every notebook headless against the embedded emulator into runs/<timestamp>/
demo: $(STAMP)
	$(BIN)/ecrlab demo

## system-deps: Debian tools some tests drive (skopeo: OCI interop; docker-registry: upstreams; chromium: browser tests)
SYSTEM_TOOLS := skopeo docker-registry chromium
system-deps:
	@missing=""; for tool in $(SYSTEM_TOOLS); do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing \
	    >/dev/null; } || echo "system-deps: could not install$$missing; tests that need them will skip"; \
	else \
	  echo "system-deps: missing$$missing and not root, so not installing; tests that need them will skip:"; \
	  echo "  skopeo -> the skopeo interop tests (tests/test_oci_skopeo.py)"; \
	  echo "  docker-registry -> pulling through a Distribution upstream (tests/test_pull_through_cache_skopeo.py)"; \
	  echo "  chromium -> the browser tests of JupyterLab and Voila (tests/test_browser_*.py)"; \
	fi

## test: the whole suite — unit, integration, notebooks under nbval
test: $(STAMP) system-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check --quiet ecrlab tests benchmarks
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder --nbval --nbval-sanitize-with notebooks/sanitize.cfg --durations=15

## lab: JupyterLab on your own copy of the lessons in $(WORKSHOP)/ (edits stay there; the committed notebooks are
## the runbooks). Lessons you changed are kept: make lab LAB_ARGS=--reset replaces them with fresh copies.
WORKSHOP ?= ecrlab-workshop
lab: $(STAMP)
	$(BIN)/ecrlab lab $(WORKSHOP) $(LAB_ARGS)

## app: one feature notebook as a Voila app, widgets and results only (make app FEATURE=replication)
FEATURE ?= permissions
app: $(STAMP)
	$(BIN)/ecrlab app $(FEATURE)

## notebooks: re-execute the notebooks in place to refresh their committed outputs
notebooks: $(STAMP)
	for nb in notebooks/[0-9][0-9]_*.ipynb; do \
	  $(BIN)/jupyter nbconvert --to notebook --execute --inplace "$$nb" || exit 1; done

## iam-policy: regenerate docs/iam-policy.json from the calls the runbooks make
iam-policy: $(STAMP)
	$(BIN)/ecrlab iam-policy --dry-run-out docs/iam-policy-dry-run.json > docs/iam-policy.json

## bench: run every benchmark, each in its own process, then print one table of the targets (median and spread)
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) runs build *.egg-info test-artifacts
