# iPSM Assistant: `make run` starts it with demo data, `make test` tests it.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

PYTHON310 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.10.*/bin/python) \
                         $(shell command -v python3.10))
PYTHON3 ?= python3
SVC := .venv
RASA_ENV := .venv-rasa
RASA := $(RASA_ENV)/bin/rasa
MODEL := models/ipsm.tar.gz
TRAINING_FILES := config.yml $(wildcard bot/domain/*.yml) $(shell find data -name '*.yml')
RASA_FILES := --domain bot/domain --data data --config config.yml
# This machine's pip lists local mirrors that may be absent; hide that noise.
# The braces keep pip's own exit status (pipefail) while grep filters.
QUIET_PIP := { grep --line-buffered -v "^WARNING: Location 'file:" || true; }

export PYTHONPATH := $(CURDIR)
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export ACTION_ENDPOINT_URL ?= http://127.0.0.1:5055/webhook
export RASA_TRACKER_DB ?= $(CURDIR)/var/rasa_tracker.db

.PHONY: help run test setup train validate db lint format clean

help:
	@echo "make run    start the assistant with demo data (web chat on :8000)"
	@echo "make test   run the whole test suite"
	@echo "make lint | format | validate | train | db | clean"
	@echo "make nlu-eval   NLU scores on the held-out set tests/nlu (FILE=other.yml NLU_MODEL=x.tar.gz)"

$(SVC)/.installed: requirements/services.txt requirements/dev.txt
	@echo "==> Creating the services environment in $(SVC) ($$($(PYTHON3) --version))…"
	$(PYTHON3) -m venv $(SVC)
	$(SVC)/bin/pip install --progress-bar on -r requirements/dev.txt 2>&1 | $(QUIET_PIP)
	touch $@

$(RASA_ENV)/.installed: requirements/rasa.txt requirements/rasa-dev.txt
	@test -n "$(PYTHON310)" || { echo "Python 3.10 is needed for Rasa 3.6 (pyenv install 3.10)"; exit 1; }
	@echo "==> Creating the Rasa environment in $(RASA_ENV) with $(PYTHON310)"
	@echo "    Rasa 3.6.21 and TensorFlow: about 2 minutes and 2.7 GB…"
	$(PYTHON310) -m venv $(RASA_ENV)
	$(RASA_ENV)/bin/pip install --progress-bar on -r requirements/rasa-dev.txt 2>&1 | $(QUIET_PIP)
	touch $@

setup: $(SVC)/.installed $(RASA_ENV)/.installed

$(MODEL): $(RASA_ENV)/.installed $(TRAINING_FILES)
	@echo "==> Training the assistant on the data in data/ (about 2 minutes)…"
	$(RASA) train $(RASA_FILES) --out models --fixed-model-name ipsm 2>&1 \
	  | grep --line-buffered -E "Starting to train|Finished training|Your Rasa model|Nothing changed|rror" \
	  | sed -u -E "s/^.*(Starting|Finished|Your|Nothing)/  \1/" || true
	@test -f $@ || { echo "training failed: run '$(RASA) train $(RASA_FILES)'"; exit 1; }
	touch $@

train: $(MODEL)

validate: $(RASA_ENV)/.installed
	$(RASA) data validate $(RASA_FILES) --fail-on-warnings 2>&1 | $(QUIET_PIP)

db: $(SVC)/.installed
	@echo "==> Preparing the CRM database (var/ipsm.db) and loading the demo data…"
	$(SVC)/bin/python -m crm_bridge.cli migrate
	$(SVC)/bin/python -m crm_bridge.cli import crm_bridge/demo_data
	$(SVC)/bin/python -m crm_bridge.cli demo-accounts

run: setup $(MODEL) db
	$(SVC)/bin/python scripts/stack.py

lint: $(SVC)/.installed
	$(SVC)/bin/ruff check .
	$(SVC)/bin/ruff format --check .

format: $(SVC)/.installed
	$(SVC)/bin/ruff format .
	$(SVC)/bin/ruff check --fix .

test: setup $(MODEL) lint
	@echo "==> Tests of the custom actions (Rasa environment)…"
	$(RASA_ENV)/bin/python -m pytest --confcutdir=tests/actions tests/actions
	@echo "==> Tests of the CRM, channels, dialogue and the whole stack…"
	$(SVC)/bin/python -m pytest --ignore=tests/actions

.PHONY: nlu-eval
# Trains an NLU-only model into a temporary folder (NLU_MODEL= skips training) and
# scores it on tests/nlu, failing below the targets, or on FILE= (no targets).
nlu-eval: setup
	$(RASA_ENV)/bin/python scripts/nlu_eval.py $(if $(FILE),--file $(FILE)) $(if $(NLU_MODEL),--model $(NLU_MODEL)) \
	  $(if $(REPORT),--report $(REPORT))

clean:
	rm -rf var models .pytest_cache
