# Seq2seq-with-attention course bundle. Run `make` to see the targets.
# Every target first builds .venv from the pins in environment.yml (once, ~2 min).

PYTHON  ?= python3
PROFILE ?= auto
GPU     ?=
DEMO    ?=
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
GENERATED := autograder/autograded autograder/feedback autograder/grades.csv autograder/grading.log \
             autograder/.work autograder/grading-state.json autograder/.results autograder/class-report.html \
             autograder/.cache autograder/demo-results autograder/canvas-grades.csv \
             autograder/moodle-grades.csv report dist

.DEFAULT_GOAL := help
.PHONY: help setup release grade lab test test-fast bench bench-grade report clean clean-class backup \
        publish collect return formgrader student-bundle extend roster export

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  options: PROFILE=auto|full|cpu|smoke (default auto: full on a GPU, else cpu), GPU=1,"
	@echo "           EXCHANGE=folder (default \$$COURSE_EXCHANGE, else autograder/exchange), SANDBOX=auto|require|off,"
	@echo "           DEMO=honest|hostile (grade a shipped demo class), JOBS=N, JOBS_PER_GPU=K,"
	@echo "           STUDENT=id, FORCE=1, SCHEDULER=local|tcp://host:8786|slurm|pbs, MEMORY=8G,"
	@echo "           LIMITS=off|\"disk=2G files=20000 processes=2048 output=16M\" (per kernel)"
	@echo "           RESERVE=\"cores=50% memory=50%\"|none (left to students; default \$$COURSE_HUB_RESERVE)"
	@echo "           make report: ONLY=bahdanau,luong-dot,... CELL=gru|lstm NO_RUN=1 (re-render only)"
	@echo "           make bench: LAB=sentiment|nmt|nmt_luong (time to quality of one lab only)"
	@echo "           make bench-grade: N=students (default 16), BASELINE=checkout (the same class graded by"
	@echo "           an older checkout with its own .venv, side by side), MIXED=N (the mixed class), WORKERS=1"
	@echo "           make extend: STUDENT=id LAB=id and UNTIL=2026-10-14T23:59 or DAYS=n or HOURS=n (NOTE=why)"
	@echo "           make roster: FILE=export.csv (ID_COLUMN=header); make export: LMS=canvas|moodle PENDING=blank"

setup: $(STAMP) ## build .venv with the pinned packages (GPU=1 for GPU TensorFlow)

$(STAMP): environment.yml pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(PINS)
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

release: $(STAMP) ## generate labs/ and the demo classes from solutions/ (nbgrader)
	$(PY) -m coursegrader release

grade: $(STAMP) ## autograde autograder/submitted/ (if empty: the honest demo class, in demo-results/)
	$(PY) -m coursegrader grade --profile $(PROFILE) $(if $(DEMO),--demo $(DEMO)) \
	  $(if $(JOBS),--jobs $(JOBS)) $(if $(JOBS_PER_GPU),--jobs-per-gpu $(JOBS_PER_GPU)) \
	  $(if $(STUDENT),--student $(STUDENT)) $(if $(FORCE),--force) \
	  $(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(if $(MEMORY),--memory $(MEMORY)) \
	  $(if $(LIMITS),--limits "$(LIMITS)") \
	  $(if $(RESERVE),--reserve "$(RESERVE)")

lab: $(STAMP) ## open the student notebooks (labs/) in JupyterLab
	$(VENV)/bin/jupyter lab --notebook-dir=labs

publish: $(STAMP) ## (re)release labs/ to the exchange; due dates and roster into the gradebook
	@$(BACKUP)
	$(PY) -m coursegrader calendar
	@for a in $(ASSIGNMENTS); do $(PY) -m nbgrader release_assignment $$a --force || exit 1; done
	@echo "Published $(ASSIGNMENTS) to $(COURSE_EXCHANGE): students whose nbgrader uses this exchange can fetch them."

extend: $(STAMP) ## give STUDENT more time for LAB: UNTIL=date or DAYS=n (autograder/extensions.csv)
	$(PY) -m coursegrader extend --student "$(STUDENT)" --lab "$(LAB)" $(if $(UNTIL),--until "$(UNTIL)") \
	  $(if $(DAYS),--days $(DAYS)) $(if $(HOURS),--hours $(HOURS)) $(if $(NOTE),--note "$(NOTE)")

roster: $(STAMP) ## import the class list FILE=... (Canvas, Moodle or registrar CSV) into autograder/roster.csv
	$(PY) -m coursegrader roster "$(FILE)" $(if $(ID_COLUMN),--id-column "$(ID_COLUMN)")

LMS ?= canvas
EXPORTER_canvas := coursegrader.export.canvas.CanvasExport
EXPORTER_moodle := coursegrader.export.moodle.MoodleExport
export: $(STAMP) ## grades for the LMS: LMS=canvas|moodle -> autograder/<LMS>-grades.csv
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

bench: $(STAMP) ## speed: NMT step vs the classic code, then time to quality before/after (~40 min)
	$(PY) -m coursetools.bench.step
	$(PY) -m coursetools.bench.quality $(if $(LAB),--lab $(LAB))

bench-grade: $(STAMP) ## N=16 students whose answers all differ, + both NMT labs: phases, cost per answer (~1 h)
	$(PY) -m coursetools.bench.grading --distinct $(or $(N),16) --profile $(or $(filter-out auto,$(PROFILE)),cpu) \
	  $(if $(BASELINE),--baseline $(BASELINE)) $(if $(MIXED),--class $(MIXED)) $(if $(WORKERS),--workers)

report: $(STAMP) ## run every lab (Bahdanau, 3 Luong scores, sentiment) into report/index.html
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
