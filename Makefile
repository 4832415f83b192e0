# Two commands: `make lab` (set up, then start JupyterLab) and `make test` (set up, then every test).
# Set-up happens once; it is redone only when requirements.txt or pyproject.toml change.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8888
# test workers (pytest-xdist); under them each graded class grades one notebook at a time (tests/conftest.py)
TEST_WORKERS ?= 2
# the assignment the targets below work on: any folder of source/ holding a notebook (python -m grading.assignments
# lists them); by default the course's first (nbgrader_config.py's c.Course.assignments: vi_stars, then vi_beyond)
ASSIGNMENT ?= $(eval ASSIGNMENT := $(firstword $(shell $(BIN)/python -m grading.assignments)))$(ASSIGNMENT)
# its notebooks, one a line (a bad ASSIGNMENT stops the target here, naming the assignments there are)
NOTEBOOKS = $(BIN)/python -m grading.assignments '$(ASSIGNMENT)'
export PATH := $(abspath $(BIN)):$(PATH)
# the CPU kernels the stored outputs were made with (cpu.env says why); a value set in the environment wins
include cpu.env
export ATEN_CPU_CAPABILITY MKL_CBWR ONEDNN_MAX_CPU_ISA

.PHONY: setup lab test bench hub notebook release grade release-feedback mutants selfcheck clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) and "Python 3.11 is required; set PYTHON=/path/to/python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

lab: setup
	@set -- $$($(NOTEBOOKS)) && first=$$1 && \
	echo "Opening the lab: release/$(ASSIGNMENT)/ (students' version) and source/$(ASSIGNMENT)/ (with solutions)." && \
	$(BIN)/jupyter lab --no-browser --port=$(PORT) --ServerApp.root_dir=$(CURDIR) $(if $(filter 0,$(shell id -u)),--allow-root) \
		$$(test -f "release/$$first" && echo "release/$$first")

test: setup
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadscope

# A JupyterHub for the course on this machine (as root, after `python deploy/hub/provision.py ROSTER.csv`):
# deploy/hub/jupyterhub_config.py, npm's configurable-http-proxy from deploy/hub/package-lock.json.
COURSE_ID ?= vi-stars
HUB_PORT ?= 8000
hub: setup
	@test "$$(id -u)" = 0 || { echo "make hub starts each user's server as that user: run it as root"; exit 1; }
	@test -f /etc/jupyterhub/$(COURSE_ID).json || { echo "not provisioned: python deploy/hub/provision.py ROSTER.csv"; exit 1; }
	test -x deploy/hub/node_modules/.bin/configurable-http-proxy || (cd deploy/hub && npm ci --no-audit --no-fund)
	@echo "JupyterHub for $(COURSE_ID): http://$$(hostname -f):$(HUB_PORT)/ (log in with your Unix account)"
	HUB_COURSE=$(COURSE_ID) HUB_PORT=$(HUB_PORT) $(BIN)/jupyterhub -f deploy/hub/jupyterhub_config.py

bench: setup
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache course.egg-info artifacts

# --- instructors -------------------------------------------------------------------------
# Re-run the assignment's solution notebooks and store their outputs: the strict nbval test compares against them.
notebook: setup
	@notebooks=$$($(NOTEBOOKS)) && cd source && \
	$(abspath $(BIN))/jupyter nbconvert --to notebook --execute --inplace $$notebooks --ExecutePreprocessor.timeout=300 --ExecutePreprocessor.store_widget_state=False

# Write the student version to release/ (solutions and hidden tests stripped) and record the
# assignment, with its tests, in gradebook.db.
release: setup
	@$(NOTEBOOKS) > /dev/null
	$(BIN)/nbgrader generate_assignment '$(ASSIGNMENT)' --force $(if $(DB_URL),--CourseDirectory.db_url='$(DB_URL)')

# Grade every submission in submitted/<student>/$(ASSIGNMENT)/: checked and repaired copies, each kernel in a
# bubblewrap sandbox, JOBS notebooks at a time; then feedback without hidden tests, grades.csv and
# grading-report-$(ASSIGNMENT).txt. ASSIGNMENT=vi_beyond grades the second assignment (any folder of source/ can be
# graded: all its notebooks, the files beside them kept). SANDBOX=off grades unsandboxed (student code runs as you; the report says so).
# Several hosts: DB_URL=postgresql://... (one shared gradebook) and SHARD=K/N on the K-th of N hosts.
# GRADER_MEMORY=MiB: the address space of each submission's grading process, outside the sandbox (default 2048).
# A fresh checkout has no gradebook yet; it is rebuilt from source/ without touching release/.
JOBS ?= $(shell nproc)
SANDBOX ?= on
grade: setup
	$(BIN)/python -m grading.batch --assignment '$(ASSIGNMENT)' --jobs $(JOBS) --sandbox $(SANDBOX) $(if $(CELL_TIMEOUT),--cell-timeout $(CELL_TIMEOUT)) \
		$(if $(DB_URL),--db-url '$(DB_URL)') $(if $(SHARD),--shard $(SHARD)) $(if $(GRADER_MEMORY),--grader-memory '$(GRADER_MEMORY)')

# Return feedback through nbgrader's exchange (EXCHANGE=its folder) to every student who handed in through it;
# the report names the others, whose feedback is in feedback/<student>/.
release-feedback: setup
	$(BIN)/python -m grading.release_feedback --assignment '$(ASSIGNMENT)' --exchange '$(EXCHANGE)'

# Mutation testing of the tests: correct answers written in other styles (all must earn full marks) and wrong
# answers (all must lose their points), from tests/answers.py (vi_stars), tests/answers_beyond.py (vi_beyond) or
# ANSWERS=file (another assignment), graded as a class; prints the score per test.
ANSWERS ?= $(if $(filter vi_beyond,$(ASSIGNMENT)),tests/answers_beyond.py,$(if $(filter vi_stars,$(ASSIGNMENT)),tests/answers.py,tests/answers_$(ASSIGNMENT).py))
mutants: setup
	$(BIN)/python -m grading.mutation '$(ANSWERS)' --assignment '$(ASSIGNMENT)' --jobs $(JOBS) --sandbox $(SANDBOX)

# Autograde the reference solution RUNS times in a throw-away copy: every run must score full marks.
RUNS ?= 20
selfcheck: setup
	$(BIN)/python -m grading.selfcheck $(RUNS) '$(ASSIGNMENT)'
