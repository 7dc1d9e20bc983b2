# Two commands do everything (each sets up .venv on first use):
#   make grade   - grade exercises/ (TARGET=solutions or a folder to grade another one)
#   make test    - the project's own tests
VENV ?= .venv
TARGET ?= exercises
STAMP := $(VENV)/.installed

.PHONY: grade test build release bench setup

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

grade: $(STAMP)
	$(VENV)/bin/pytest grader/ --target $(TARGET) $(ARGS)

test: $(STAMP)
	$(VENV)/bin/pytest tests/ $(ARGS)

build: $(STAMP)
	$(VENV)/bin/course build

bench: $(STAMP)
	$(VENV)/bin/python bench/grading_speed.py $(ARGS)
