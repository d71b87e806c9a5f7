# Seq2seq-with-attention course bundle. Run `make` to see the targets.
# Every target first builds .venv from the pins in environment.yml (once, ~2 min).

PYTHON  ?= python3
PROFILE ?= auto
# run student kernels in bubblewrap: auto (warn loudly if it is missing) | require | off
export SANDBOX ?= auto
COURSE_ID := seq2seq-attention
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
# pip pins = the lines under "- pip:" in environment.yml; GPU=1 swaps in GPU TensorFlow.
PINS    := $(shell sed -n '/- pip:/,$$s/^ *- \([A-Za-z].*==.*\)/\1/p' environment.yml)
PINS    := $(if $(GPU),$(patsubst tensorflow==%,tensorflow[and-cuda]==%,$(PINS)),$(PINS))

export PATH := $(abspath $(VENV))/bin:$(PATH)
export JUPYTER_CONFIG_PATH := $(abspath autograder)
# The nbgrader exchange: EXCHANGE=folder if given, else $COURSE_EXCHANGE (a JupyterHub's servers
# have it, see docs/hub.md), else autograder/exchange (one machine). Never override the hub's.
ifneq ($(EXCHANGE),)
export COURSE_EXCHANGE := $(abspath $(EXCHANGE))
else ifeq ($(COURSE_EXCHANGE),)
export COURSE_EXCHANGE := $(abspath autograder/exchange)
endif
ASSIGNMENTS := $(notdir $(wildcard labs/*))
# the gradebook holds the TAs' hand grades: copied to autograder/backups/ before a target rewrites it
BACKUP  := PYTHONPATH=autograder $(PYTHON) -m coursegrader.backup autograder/gradebook.db
# what make grade regenerates (results, caches, reports); never submissions or the gradebook
GENERATED := $(addprefix autograder/,autograded feedback grades.csv grading.log .work grading-state.json .results \
             class-report.html .cache demo-results canvas-grades.csv moodle-grades.csv) report dist

.DEFAULT_GOAL := help
.PHONY: help setup release grade lab test test-fast bench bench-grade report clean clean-class backup \
        publish collect return formgrader student-bundle extend roster export

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  options: PROFILE=auto|full|cpu|smoke (auto: full on a GPU, else cpu), GPU=1, SANDBOX=auto|require|off,"
	@echo "  EXCHANGE=folder; a target's own are in its line; make grade's JOBS=, MEMORY=, LIMITS=, RESERVE=,"
	@echo "  SCHEDULER=: docs/grading-at-scale.md#settings"

setup: $(STAMP) ## build .venv with the pinned packages (GPU=1 for GPU TensorFlow)
$(STAMP): environment.yml pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(PINS)
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

release: $(STAMP) ## generate labs/ and the demo classes from solutions/ (nbgrader)
	$(PY) -m coursegrader release

grade: $(STAMP) ## autograde autograder/submitted/ (if empty: the honest demo class); DEMO=honest|hostile STUDENT=id FORCE=1
	$(PY) -m coursegrader grade --profile $(PROFILE) $(if $(DEMO),--demo $(DEMO)) \
	  $(if $(JOBS),--jobs $(JOBS)) $(if $(JOBS_PER_GPU),--jobs-per-gpu $(JOBS_PER_GPU)) \
	  $(if $(STUDENT),--student $(STUDENT)) $(if $(FORCE),--force) $(if $(SCHEDULER),--scheduler $(SCHEDULER)) \
	  $(if $(MEMORY),--memory $(MEMORY)) $(if $(LIMITS),--limits "$(LIMITS)") $(if $(RESERVE),--reserve "$(RESERVE)")

lab: $(STAMP) ## open the student notebooks (labs/) in JupyterLab
	$(VENV)/bin/jupyter lab --notebook-dir=labs

publish: $(STAMP) ## (re)release labs/ to the exchange; due dates and roster into the gradebook
	@$(BACKUP)
	$(PY) -m coursegrader calendar
	@for a in $(ASSIGNMENTS); do $(PY) -m nbgrader release_assignment $$a --force || exit 1; done
	@echo "Published $(ASSIGNMENTS) to $(COURSE_EXCHANGE): students whose nbgrader uses this exchange can fetch them."

extend: $(STAMP) ## give STUDENT more time for LAB: UNTIL=2026-10-14T23:59, DAYS=n or HOURS=n (NOTE=why)
	$(PY) -m coursegrader extend --student "$(STUDENT)" --lab "$(LAB)" $(if $(UNTIL),--until "$(UNTIL)") \
	  $(if $(DAYS),--days $(DAYS)) $(if $(HOURS),--hours $(HOURS)) $(if $(NOTE),--note "$(NOTE)")

roster: $(STAMP) ## the class list FILE=export.csv (LMS or registrar CSV; ID_COLUMN=header) into autograder/roster.csv
	$(PY) -m coursegrader roster "$(FILE)" $(if $(ID_COLUMN),--id-column "$(ID_COLUMN)")

LMS ?= canvas
EXPORTER_canvas := coursegrader.export.canvas.CanvasExport
EXPORTER_moodle := coursegrader.export.moodle.MoodleExport
export: $(STAMP) ## grades for the LMS: LMS=canvas|moodle -> autograder/<LMS>-grades.csv (PENDING=blank)
	$(PY) -m nbgrader export --exporter=$(or $(EXPORTER_$(LMS)),$(error LMS=$(LMS): use canvas or moodle)) \
	  --to autograder/$(LMS)-grades.csv $(if $(PENDING),--LmsExport.pending=$(PENDING))

collect: $(STAMP) ## copy each student's latest submission from the exchange to autograder/submitted/
	@$(BACKUP)
	@for a in $(ASSIGNMENTS); do $(PY) -m nbgrader collect $$a --update || exit 1; done

return: $(STAMP) ## release the feedback of `make grade` to the students through the exchange
	@for a in $(ASSIGNMENTS); do $(PY) -m nbgrader release_feedback $$a || exit 1; done

formgrader: $(STAMP) ## JupyterLab on the whole bundle, with formgrader (menu Nbgrader) working
	@test -d $(COURSE_EXCHANGE) || install -d -m 777 $(COURSE_EXCHANGE)
	$(VENV)/bin/jupyter lab --notebook-dir=.

student-bundle: $(STAMP) ## dist/seq2seq-attention-labs.zip: the labs for Colab and laptops, no answers
	$(PY) -m coursetools.bundle --out dist

test: $(STAMP) ## the whole test suite, lint included (real grading runs, ~25 min)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest

test-fast: $(STAMP) ## the unit tests only: a developer's one-minute loop
	$(PY) -m pytest -q -m "not integration and not hub"

bench: $(STAMP) ## speed: NMT step vs the classic code, then time to quality (~40 min; LAB=sentiment|nmt|nmt_luong)
	$(PY) -m coursetools.bench.step
	$(PY) -m coursetools.bench.quality $(if $(LAB),--lab $(LAB))

bench-grade: $(STAMP) ## N=16 distinct answers + both NMT labs: cost per answer (~1 h; BASELINE=checkout MIXED=N WORKERS=1)
	$(PY) -m coursetools.bench.grading --distinct $(or $(N),16) --profile $(or $(filter-out auto,$(PROFILE)),cpu) \
	  $(if $(BASELINE),--baseline $(BASELINE)) $(if $(MIXED),--class $(MIXED)) $(if $(WORKERS),--workers)

report: $(STAMP) ## run every lab into report/index.html (ONLY=bahdanau,luong-dot,... CELL=gru|lstm NO_RUN=1)
	$(PY) -m coursetools.report --profile $(PROFILE) $(if $(ONLY),--only $(ONLY)) \
	  $(if $(CELL),--cell $(CELL)) $(if $(NO_RUN),--no-run)

backup: ## copy the gradebook (hand grades) to autograder/backups/ (the newest 10 are kept)
	@$(BACKUP)

clean: ## delete what make grade/report regenerate; never submitted/ or the gradebook
	rm -rf $(GENERATED)

clean-class: ## CONFIRM=seq2seq-attention: ALSO delete submitted/ and the gradebook (a copy stays in backups/)
	@if [ "$(CONFIRM)" != "$(COURSE_ID)" ]; then \
	  echo "make clean-class deletes every submission (autograder/submitted/) and the gradebook with the"; \
	  echo "TAs' hand grades (a copy is kept in autograder/backups/). To do it: make clean-class CONFIRM=$(COURSE_ID)"; \
	  exit 2; fi
	@$(BACKUP)
	rm -rf $(GENERATED) autograder/submitted autograder/gradebook.db
