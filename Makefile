# Two commands: `make lab` (set up, then start JupyterLab) and `make test` (set up, then every test).
# Set-up happens once; it is redone only when requirements.txt or pyproject.toml change.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8888
ASSIGNMENT := vi_stars
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup lab test bench release grade clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) and "Python 3.11 is required; set PYTHON=/path/to/python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

lab: setup
	@echo "Opening the lab: release/$(ASSIGNMENT)/ (students' version) and source/$(ASSIGNMENT)/ (with solutions)."
	$(BIN)/jupyter lab --no-browser --port=$(PORT) --ServerApp.root_dir=$(CURDIR) \
		$(if $(wildcard release/$(ASSIGNMENT)/$(ASSIGNMENT).ipynb),release/$(ASSIGNMENT)/$(ASSIGNMENT).ipynb)

test: setup
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache course.egg-info artifacts
