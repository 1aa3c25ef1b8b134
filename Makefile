# Two commands for everyone: `make lab` (work) and `make test` (check everything).
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
# nbgrader runs `alembic` from PATH: the venv's bin must come first.
export PATH := $(CURDIR)/$(BIN):$(PATH)
STAMP  := $(VENV)/.installed
# `make grade` alone grades the shipped demo submissions; e.g. GRADE_ARGS="submitted/ --out grading_out"
GRADE_ARGS ?= --demo

.PHONY: lab install test quick release grade class benchmark clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(STAMP)

install: $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir=. --ServerApp.open_browser=$${OPEN_BROWSER:-True} $(LAB_ARGS) \
		$(if $(filter 0,$(shell id -u)),--allow-root)

# Everything: unit tests, nbval on every notebook, real nbgrader runs, adversarial grading, browser.
test: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider --durations=30 --nbval-lax grader_tests source $(PYTEST_ARGS)

# The daily tier: no nbgrader runs, no browser.
quick: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not slow" grader_tests $(PYTEST_ARGS)

# release/ comes only from here.
release: $(STAMP)
	$(BIN)/python -m course.release

grade: $(STAMP)
	$(BIN)/python -m course.grade $(GRADE_ARGS)

# An instructor's quick start: grade a folder or zip of downloaded notebooks, then open the report.
#   make class IN=~/Downloads/submissions.zip [OUT=grading_out]
OUT ?= grading_out
class: $(STAMP)
	@test -n "$(IN)" || { echo "usage: make class IN=<folder or zip of notebooks> [OUT=grading_out]"; exit 2; }
	$(BIN)/python -m course.grade "$(IN)" --out "$(OUT)"
	-$(BIN)/python -m webbrowser -t "file://$(abspath $(OUT))/reports/report.html" >/dev/null 2>&1

benchmark: $(STAMP)
	$(BIN)/python benchmarks/run_all.py
	$(BIN)/python benchmarks/grading.py

clean:
	rm -rf $(VENV) autograded/*/ feedback/ reports/ gradebook.db
