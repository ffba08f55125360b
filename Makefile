# Servicecenter 115: the README's two commands are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
KORPUS ?= ../shared/data

.PHONY: setup run test mail-deps e2e-deps georeport-venv bench korpus lint clean rasa-venv rasa-modell rasa-test

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 wird benötigt")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

# `run` serves plain HTTP on 127.0.0.1, where a Secure session cookie would not be kept by every browser:
# it turns SERVICECENTER_COOKIE_SECURE off unless set. Behind TLS keep the default (true).
# Next to the web server (8115) run, in the background and ending with it: the outbox worker (hand-offs, e-mail
# sending when SERVICECENTER_SMTP_HOST is set), the e-mail receiver (SMTP on 127.0.0.1:8025), the Rasa action
# server (5055) and the Rasa server (5005, REST channel + API). The two chat secrets are made once in var/ (0600)
# unless set in the environment.
RUN_MAIL_PORT ?= 8025
# Rasa servers started by `make run` (ports 5005, 5006, ...); the servicecenter spreads new conversations over them.
RASA_INSTANZEN ?= 1
run: setup rasa-modell
	$(BIN)/servicecenter db upgrade
	$(BIN)/servicecenter wissen import --demo --nur-wenn-leer --no-fortschritt
	$(BIN)/servicecenter benutzer demo
	@mkdir -p var && umask 077 && for f in chat-bot-token chat-rasa-token; do \
	  test -s var/$$f || $(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(32))' > var/$$f; done
	export SERVICECENTER_CHAT_BOT_TOKEN=$${SERVICECENTER_CHAT_BOT_TOKEN:-$$(cat var/chat-bot-token)}; \
	export SERVICECENTER_CHAT_RASA_TOKEN=$${SERVICECENTER_CHAT_RASA_TOKEN:-$$(cat var/chat-rasa-token)}; \
	export RASA_TELEMETRY_ENABLED=false SERVICECENTER_URL=http://127.0.0.1:$${SERVICECENTER_PORT:-8115}; \
	PIDS=""; trap 'kill $$PIDS 2>/dev/null; wait $$PIDS 2>/dev/null' EXIT; \
	SERVICECENTER_DB_AUTO_UPGRADE=false $(BIN)/servicecenter worker & PIDS="$$PIDS $$!"; \
	SERVICECENTER_DB_AUTO_UPGRADE=false $(BIN)/servicecenter mail-empfang --port $(RUN_MAIL_PORT) & PIDS="$$PIDS $$!"; \
	(cd chatbot && exec ../$(RASA_VENV)/bin/rasa run actions --actions actions --port 5055) & PIDS="$$PIDS $$!"; \
	URLS=""; for i in $$(seq 0 $$(($(RASA_INSTANZEN) - 1))); do \
	  (cd chatbot && exec ../$(RASA_VENV)/bin/rasa run --enable-api --auth-token="$$SERVICECENTER_CHAT_RASA_TOKEN" \
	    -m models/servicecenter.tar.gz --endpoints endpoints.yml --credentials credentials.yml -i 127.0.0.1 \
	    --port $$((5005 + i))) & PIDS="$$PIDS $$!"; \
	  URLS="$$URLS$${URLS:+,}\"http://127.0.0.1:$$((5005 + i))\""; done; \
	export SERVICECENTER_CHAT_RASA_URLS=$${SERVICECENTER_CHAT_RASA_URLS:-[$$URLS]}; \
	SERVICECENTER_COOKIE_SECURE=$${SERVICECENTER_COOKIE_SECURE:-false} $(BIN)/servicecenter serve

test: setup e2e-deps georeport-venv rasa-test mail-deps
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

# --- Chatbot: Rasa 3.6 in its own Python 3.10 venv (open-source Rasa needs Python < 3.11) -------------------
# python3.10 from PATH only if it really runs (a pyenv shim without PYENV_VERSION fails), else a pyenv 3.10.
PYTHON310 ?= $(shell python3.10 -c 'import sys' >/dev/null 2>&1 && command -v python3.10 || \
	ls -d $$(pyenv root 2>/dev/null || echo $$HOME/.pyenv)/versions/3.10*/bin/python3.10 2>/dev/null | tail -n 1)
RASA_VENV := .venv-rasa
RASA_STAMP := $(RASA_VENV)/.installed
RASA := RASA_TELEMETRY_ENABLED=false $(CURDIR)/$(RASA_VENV)/bin/rasa
RASA_MODELL := chatbot/models/servicecenter.tar.gz
# The model depends on its data and on the own NLU components it loads (chatbot/komponenten/).
RASA_DATEN := chatbot/config.yml chatbot/domain.yml $(wildcard chatbot/data/*.yml) $(wildcard chatbot/komponenten/*.py)
RASA_ERGEBNISSE := $(CURDIR)/var/rasa-test

rasa-venv: $(RASA_STAMP)

# Accepts an existing .venv-rasa: pip only adds what is missing; the stamp makes it run once.
$(RASA_STAMP): chatbot/requirements.txt
	@test -n "$(PYTHON310)" || { echo "Python 3.10 fehlt (python3.10 oder pyenv 3.10): Rasa 3.6 braucht Python < 3.11"; exit 1; }
	test -x $(RASA_VENV)/bin/python || $(PYTHON310) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/python -m pip install -q -r chatbot/requirements.txt
	touch $@

# Trains only when config, domain or training data changed (rasa keeps the old file when nothing did: touch).
rasa-modell: $(RASA_MODELL)

$(RASA_MODELL): $(RASA_DATEN) | $(RASA_STAMP)
	cd chatbot && $(RASA) train --fixed-model-name servicecenter --out models
	touch $@

# Data validation; test stories for every flow (--e2e: their user texts go through NLU and must give the written
# intent); held-out NLU test with a macro-F1 gate; action tests.
rasa-test: $(RASA_MODELL)
	cd chatbot && $(RASA) data validate
	cd chatbot && $(RASA) test core --e2e --model models/servicecenter.tar.gz --stories tests/test_stories.yml \
		--out $(RASA_ERGEBNISSE)/core --fail-on-prediction-errors
	cd chatbot && $(RASA) test nlu --model models/servicecenter.tar.gz --nlu tests/nlu_test.yml --successes \
		--out $(RASA_ERGEBNISSE)/nlu
	$(RASA_VENV)/bin/python chatbot/tests/nlu_pruefen.py $(RASA_ERGEBNISSE)/nlu
	cd chatbot && RASA_TELEMETRY_ENABLED=false ../$(RASA_VENV)/bin/python -m pytest

lint: setup
	$(BIN)/ruff check .

# Checks against the real corpora in ../shared (CI runs this after `make test`).
korpus: setup
	@test -d $(KORPUS) || { echo "$(KORPUS) fehlt: make korpus braucht ../shared/data"; exit 1; }
	SERVICECENTER_KORPUS=$(KORPUS) $(BIN)/python -m pytest korpus -p no:cacheprovider

bench: setup rasa-venv
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
	$(BIN)/python bench/wissen.py --korpus $(KORPUS)/public-sector/integreat-qa --split dev
	$(BIN)/python bench/wissen.py --korpus $(KORPUS)/public-sector/integreat-qa --split test
	$(BIN)/python bench/http_suche.py
	$(BIN)/python bench/desk.py
	$(BIN)/python bench/uebergabe.py
	$(BIN)/python bench/email.py --korpus $(KORPUS)/mail-corpus
	$(BIN)/python bench/chat_nlu.py
	$(BIN)/python bench/chat.py --korpus $(KORPUS)

clean:
	rm -rf $(VENV) var/*.db
