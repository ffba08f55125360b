# Servicecenter 115: the README's two commands are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
KORPUS ?= ../shared/data

.PHONY: setup run test e2e-deps bench korpus lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 wird benötigt")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

# `run` serves plain HTTP on 127.0.0.1, where a Secure session cookie would not be kept by every browser:
# it turns SERVICECENTER_COOKIE_SECURE off unless set. Behind TLS keep the default (true).
run: setup
	$(BIN)/servicecenter db upgrade
	$(BIN)/servicecenter wissen import --demo --nur-wenn-leer --no-fortschritt
	$(BIN)/servicecenter benutzer demo
	SERVICECENTER_COOKIE_SECURE=$${SERVICECENTER_COOKIE_SECURE:-false} $(BIN)/servicecenter serve

test: setup e2e-deps
	$(BIN)/python -m pytest

# Browser tests need Debian's Chromium (Playwright drives it; never `playwright install`) and axe-core from npm.
AXE := var/npm/node_modules/axe-core/axe.min.js
e2e-deps:
	@test -x /usr/bin/chromium || { apt-get update && apt-get install -y chromium; }
	@test -f $(AXE) || npm install --no-save --prefix var/npm axe-core@4

lint: setup
	$(BIN)/ruff check .

# Checks against the real corpora in ../shared (CI runs this after `make test`).
korpus: setup
	@test -d $(KORPUS) || { echo "$(KORPUS) fehlt: make korpus braucht ../shared/data"; exit 1; }
	SERVICECENTER_KORPUS=$(KORPUS) $(BIN)/python -m pytest korpus -p no:cacheprovider

bench: setup
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(BIN)/python bench/wissen.py --korpus $(KORPUS)/public-sector/integreat-qa --split dev
	$(BIN)/python bench/wissen.py --korpus $(KORPUS)/public-sector/integreat-qa --split test
	$(BIN)/python bench/http_suche.py
	$(BIN)/python bench/desk.py

clean:
	rm -rf $(VENV) var/*.db
