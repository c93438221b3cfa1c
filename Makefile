# The two commands: `make run` serves the site on http://127.0.0.1:8000; `make test` runs the suite.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3
INSTALLED := $(VENV)/.installed
# ProperDocs, the maintained continuation of MkDocs 1.x, in a virtual environment of its own, so
# the mkdocs package in .venv stays the one the default build runs (README, The build engine).
PROPERDOCS_VENV := .venv-properdocs
PROPERDOCS_INSTALLED := $(PROPERDOCS_VENV)/.installed
# SITE_BUILD_ENGINE=properdocs make build|preview runs site-api from that environment.
ifeq ($(SITE_BUILD_ENGINE),properdocs)
ENGINE_BIN := $(PROPERDOCS_VENV)/bin
ENGINE_INSTALLED := $(PROPERDOCS_INSTALLED)
else
ENGINE_BIN := $(BIN)
ENGINE_INSTALLED := $(INSTALLED)
endif
# Debian packages the test suite drives for real: chromium (browser tests), postgresql, nginx.
# wrk: the benchmarks' smoke runs (tests/bench/).
DEB_PACKAGES := chromium fonts-liberation postgresql nginx wrk
export NO_MKDOCS_2_WARNING := 1

.PHONY: run test build preview install install-properdocs system-deps lint bench bench-scale clean

run: build
	$(BIN)/site-api db upgrade
	$(BIN)/site-api serve --host 127.0.0.1 --port 8000

# `make preview`: http://127.0.0.1:8001, rebuilt on every save, with the preview bar (README).
preview: $(ENGINE_INSTALLED)
	$(ENGINE_BIN)/site-api preview --port 8001

test: install install-properdocs system-deps node_modules/.package-lock.json build lint
	$(BIN)/pytest

install: $(INSTALLED)

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is needed (found: $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# The project and ProperDocs (the version pyproject's `properdocs` extra pins) in their own
# environment: tests/content/test_engine_equality.py builds with it and compares with MkDocs.
install-properdocs: $(PROPERDOCS_INSTALLED)

$(PROPERDOCS_INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(PROPERDOCS_VENV)
	$(PROPERDOCS_VENV)/bin/pip install --quiet --upgrade pip
	$(PROPERDOCS_VENV)/bin/pip install --quiet -e '.[properdocs]'
	touch $@

build: $(ENGINE_INSTALLED)
	$(ENGINE_BIN)/site-api build

lint: $(INSTALLED)
	$(BIN)/ruff check site_api tests bench deploy
	$(BIN)/ruff format --check site_api tests bench deploy
	$(BIN)/mypy site_api

# $(call apt-ensure,PACKAGES,WHO): install missing Debian packages with apt-get when root;
# otherwise name what to install and stop.
apt-ensure = missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "$(2) needs these Debian packages:$$missing"; \
	    echo "Install them with: sudo apt-get install$$missing"; exit 1; \
	  fi; \
	fi

system-deps:
	@$(call apt-ensure,$(DEB_PACKAGES),make test)

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

# `make bench`: plain nginx vs the embedded server and the production topology (nginx, workers,
# PostgreSQL) on the MAS page, on 127.0.0.1 (bench/run.py); then how soon a reader's note is
# visible on it in Chromium, and layout shift (bench/notes_visible.py); then search latency over
# HTTP, index size and build time at 1,000 topics (bench/search.py); then what counting the meter
# funnel costs an anonymous page view, counter off vs on in the same run (bench/funnel.py); then
# beacons per second and a signed-in page view with the CPD log off vs on (bench/cpd.py).
bench: build
	@$(call apt-ensure,nginx wrk postgresql chromium,make bench)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/notes_visible.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/funnel.py
	$(BIN)/python bench/cpd.py

# `make bench-scale N=1000`: N generated topics built with site-api and with plain mkdocs-material,
# then served by site-api and by nginx (bench/scale.py); prints the table in the README. Then
# search over HTTP on that catalogue, harsh and natural vocabulary (bench/search.py --catalogue).
N ?= 1000
bench-scale: $(ENGINE_INSTALLED)
	@$(call apt-ensure,nginx wrk,make bench-scale)
	@keep=$$(mktemp -d /tmp/site-scale-XXXXXX) && \
	  $(ENGINE_BIN)/python bench/scale.py $(N) --keep $$keep && \
	  $(ENGINE_BIN)/python bench/search.py --catalogue $$keep/ours --natural; \
	  status=$$?; rm -rf $$keep; exit $$status

clean:
	rm -rf site site-builds site-cache site-manifest.json .pytest_cache .mypy_cache .ruff_cache
