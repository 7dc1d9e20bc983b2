# Two commands do everything (each sets up .venv on first use):
#   make grade   - grade exercises/ (TARGET=solutions or a folder to grade another one)
#   make test    - the project's own tests
#   make grade-class SUBMISSIONS=dir OUT=dir [WORKERS=2] - grade a whole class (course grade)
VENV ?= .venv
TARGET ?= exercises
WORKERS ?= 2
STAMP := $(VENV)/.installed

.PHONY: grade grade-class test build release bench setup

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

grade: $(STAMP)
	$(VENV)/bin/pytest grader/ --target $(TARGET) $(ARGS)

grade-class: $(STAMP)
	@test -n "$(SUBMISSIONS)" -a -n "$(OUT)" || { echo "usage: make grade-class SUBMISSIONS=dir OUT=dir [WORKERS=2]"; exit 2; }
	$(VENV)/bin/course grade "$(SUBMISSIONS)" --out "$(OUT)" --workers $(WORKERS) $(ARGS)

test: $(STAMP)
	$(VENV)/bin/pytest tests/ $(ARGS)

build: $(STAMP)
	$(VENV)/bin/course build

bench: $(STAMP)
	$(VENV)/bin/python bench/grading_speed.py $(ARGS)
