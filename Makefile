# Unmask — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
# The first Python >= 3.12 that really runs (a pyenv shim may exist without its version active).
PYTHON ?= $(shell for p in python3.12 python3.13 python3 $$HOME/.pyenv/versions/3.1[2-9]*/bin/python3; do \
	"$$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { command -v "$$p"; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
APT_PACKAGES := ffmpeg redis-server postgresql chromium chromium-driver firefox-esr
WEB_EXT := var/node/node_modules/.bin/web-ext
AXE := var/node/node_modules/axe-core/axe.min.js

.PHONY: run install test lint format system-deps services extension bench evaluate clean

$(PY):
	@test -n "$(PYTHON)" || { echo "Python 3.12 is needed: install python3.12 and retry."; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(PY) requirements.txt requirements-dev.txt requirements-nodeps.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-nodeps.txt
	touch $@

install: $(VENV)/.installed

## Start the platform at http://$(HOST):$(PORT) on the embedded defaults (SQLite, local media).
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py runserver $(HOST):$(PORT)

## Install what the tests need (apt packages, .venv, services) and run the whole suite.
test: system-deps install services $(WEB_EXT) $(AXE)
	$(PY) -m pytest $(PYTEST_ARGS)

## Firefox's linter for the extension, installed into var/node (git-ignored).
$(WEB_EXT):
	npm install --prefix var/node --no-audit --no-fund --loglevel=error web-ext@10.7.0

## axe-core, the accessibility checker the page tests inject into the browser.
$(AXE):
	npm install --prefix var/node --no-audit --no-fund --loglevel=error axe-core@4.14.1

## Debian packages the tests use: ffmpeg for fixtures, Redis + PostgreSQL, Chromium and Firefox
## ESR (driven over WebDriver BiDi, no geckodriver needed), Node/npm.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v npm >/dev/null 2>&1 || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

## Start local PostgreSQL and Redis for the production-configuration tests (idempotent).
services:
	@bash scripts/services.sh

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## Pack the browser extension: dist/unmask-chrome.zip and dist/unmask-firefox.zip.
extension:
	bash extension/pack.sh dist

bench: install
	$(PY) bench/bench_pipeline.py

## The shipped model on the wild set's held-back groups (and SPLIT=val for its calibration part;
## REENCODE=crf36|up1080|sharpen|down240 to score every video after that re-encode).
SPLIT ?= test
REENCODE ?=
evaluate: install
	$(PY) manage.py evaluate_detector ../shared/data/wild --split $(SPLIT) \
		$(if $(REENCODE),--reencode $(REENCODE)) --out var/evaluation/wild-$(SPLIT)$(if $(REENCODE),-$(REENCODE))

clean:
	rm -rf $(VENV) var dist
