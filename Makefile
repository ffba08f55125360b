# Servicecenter 115: the README's two commands are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
KORPUS ?= ../shared/data

.PHONY: setup run test mail-deps e2e-deps georeport-venv bench korpus lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 wird benötigt")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

# `run` serves plain HTTP on 127.0.0.1, where a Secure session cookie would not be kept by every browser:
# it turns SERVICECENTER_COOKIE_SECURE off unless set. Behind TLS keep the default (true).
# The outbox worker (hand-offs to Fachverfahren) runs in the background next to the web server and ends with it.
run: setup
	$(BIN)/servicecenter db upgrade
	$(BIN)/servicecenter wissen import --demo --nur-wenn-leer --no-fortschritt
	$(BIN)/servicecenter benutzer demo
	SERVICECENTER_DB_AUTO_UPGRADE=false $(BIN)/servicecenter worker & WORKER=$$!; \
	trap 'kill $$WORKER 2>/dev/null; wait $$WORKER 2>/dev/null' EXIT; \
	SERVICECENTER_COOKIE_SECURE=$${SERVICECENTER_COOKIE_SECURE:-false} $(BIN)/servicecenter serve

test: setup e2e-deps georeport-venv mail-deps
	$(BIN)/python -m pytest

# IMAP tests start a real Dovecot with a throw-away configuration (tests/integration/mailpeers.py).
mail-deps:
	@command -v dovecot >/dev/null || { apt-get update && apt-get install -y dovecot-imapd; }

# Browser tests need Debian's Chromium (Playwright drives it; never `playwright install`) and axe-core from npm.
AXE := var/npm/node_modules/axe-core/axe.min.js
e2e-deps:
	@test -x /usr/bin/chromium || { apt-get update && apt-get install -y chromium; }
	@test -f $(AXE) || npm install --no-save --prefix var/npm axe-core@4

# The independent Open311 client `georeport` (read-only) in its own small venv: it pins xmltodict, which must not
# touch the project venv. Used by tests/integration/test_open311_georeport.py.
GEOREPORT_VENV := var/venv-georeport
georeport-venv: $(GEOREPORT_VENV)/.installed

$(GEOREPORT_VENV)/.installed:
	test -x $(GEOREPORT_VENV)/bin/python || $(PYTHON) -m venv $(GEOREPORT_VENV)
	$(GEOREPORT_VENV)/bin/python -m pip install -q georeport==0.3.1
	touch $@

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
	$(BIN)/python bench/uebergabe.py

clean:
	rm -rf $(VENV) var/*.db
