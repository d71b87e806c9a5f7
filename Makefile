# Seq2seq-with-attention course bundle. Run `make` to see the targets.
# Every target first builds .venv from the pins in environment.yml (once, ~2 min).

PYTHON  ?= python3
PROFILE ?= auto
GPU     ?=
DEMO    ?=
# run student kernels in bubblewrap: auto (warn loudly if it is missing) | require | off
export SANDBOX ?= auto
# the nbgrader exchange folder; on a JupyterHub, the shared one (see README.md)
EXCHANGE ?= autograder/exchange
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
# pip pins = the lines under "- pip:" in environment.yml; GPU=1 swaps in GPU TensorFlow.
PINS    := $(shell sed -n '/- pip:/,$$s/^ *- \([A-Za-z].*==.*\)/\1/p' environment.yml)
PINS    := $(if $(GPU),$(patsubst tensorflow==%,tensorflow[and-cuda]==%,$(PINS)),$(PINS))

export PATH := $(abspath $(VENV))/bin:$(PATH)
export JUPYTER_CONFIG_PATH := $(abspath autograder)
export COURSE_EXCHANGE := $(abspath $(EXCHANGE))
ASSIGNMENTS := $(notdir $(wildcard labs/*))

.DEFAULT_GOAL := help
.PHONY: help setup release grade lab test test-fast bench bench-grade report clean publish collect return formgrader

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)
	@echo "  options: PROFILE=auto|full|cpu|smoke (default auto: full on a GPU, else cpu), GPU=1,"
	@echo "           EXCHANGE=folder (default autograder/exchange), SANDBOX=auto|require|off,"
	@echo "           DEMO=honest|hostile (grade a shipped demo class), JOBS=N, JOBS_PER_GPU=K,"
	@echo "           STUDENT=id, FORCE=1, SCHEDULER=local|tcp://host:8786|slurm|pbs, MEMORY=8G"
	@echo "           make report: ONLY=bahdanau,luong-dot,... CELL=gru|lstm NO_RUN=1 (re-render only)"
	@echo "           make bench: LAB=sentiment|nmt|nmt_luong (time to quality of one lab only)"
	@echo "           make bench-grade: N=students (default 16), BASELINE=checkout (the same class graded by"
	@echo "           an older checkout with its own .venv, side by side), MIXED=N (the mixed class), WORKERS=1"

setup: $(STAMP) ## build .venv with the pinned packages (GPU=1 for GPU TensorFlow)

$(STAMP): environment.yml pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(PINS)
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

release: $(STAMP) ## generate labs/ and the demo class from solutions/ (nbgrader)
	$(PY) -m coursegrader release

grade: $(STAMP) ## autograde autograder/submitted/ (the demo class if empty): CSV, feedback, table
	$(PY) -m coursegrader grade --profile $(PROFILE) $(if $(DEMO),--demo $(DEMO)) \
	  $(if $(JOBS),--jobs $(JOBS)) $(if $(JOBS_PER_GPU),--jobs-per-gpu $(JOBS_PER_GPU)) \
	  $(if $(STUDENT),--student $(STUDENT)) $(if $(FORCE),--force) \
	  $(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(if $(MEMORY),--memory $(MEMORY))

lab: $(STAMP) ## open the student notebooks (labs/) in JupyterLab
	$(VENV)/bin/jupyter lab --notebook-dir=labs

publish: $(STAMP) ## (re)release labs/ to the exchange, where students fetch them
	@for a in $(ASSIGNMENTS); do $(PY) -m nbgrader release_assignment $$a --force || exit 1; done

collect: $(STAMP) ## copy each student's latest submission from the exchange to autograder/submitted/
	@for a in $(ASSIGNMENTS); do $(PY) -m nbgrader collect $$a --update || exit 1; done

return: $(STAMP) ## release the feedback of `make grade` to the students through the exchange
	@for a in $(ASSIGNMENTS); do $(PY) -m nbgrader release_feedback $$a || exit 1; done

formgrader: $(STAMP) ## JupyterLab on the whole bundle, with formgrader (menu Nbgrader) working
	@test -d $(COURSE_EXCHANGE) || install -d -m 777 $(COURSE_EXCHANGE)
	$(VENV)/bin/jupyter lab --notebook-dir=.

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

clean: ## delete grading results (autograded/, feedback/, gradebook, grades.csv) and report/
	rm -rf autograder/submitted autograder/autograded autograder/feedback \
	       autograder/gradebook.db autograder/grades.csv autograder/grading.log autograder/.work autograder/grading-state.json \
	       autograder/.results autograder/class-report.html \
	       report
