# Everything a fresh machine needs, installed by the project itself.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install assets dist chromium run test test-fast lint format migrate bench bench-deployment \
	clean nginx redis-server

install: $(VENV)/.installed

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

# Bytecode compiled at install: where PYTHONDONTWRITEBYTECODE is set, every process (each test
# worker, each server a test starts) would otherwise compile the libraries again, 2-3 s of CPU.
$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --quiet --compile-bytecode
	touch $@

# Front-end libraries from npm (package-lock.json), copied where the app's static route serves them.
# The list of files is the console's own (`goofs serve` checks it): one `name source` a line.
VENDOR := src/galactic_goofs/web/static/vendor
VENDOR_LIST := src/galactic_goofs/web/vendor.txt
assets: $(VENDOR)/.installed

$(VENDOR)/.installed: package.json package-lock.json $(VENDOR_LIST)
	npm ci --no-audit --no-fund --silent
	mkdir -p $(VENDOR)
	awk '!/^#/ && NF { print "node_modules/" $$2, "$(VENDOR)/" $$1 }' $(VENDOR_LIST) \
		| xargs -n 2 cp -v
	touch $@

# An sdist, and a wheel built from it, both carrying the npm files above (see `artifacts` in
# pyproject.toml); dist/ holds exactly these two, which the Dockerfile installs.
dist: assets | $(UV)
	rm -rf dist
	$(UV) build --quiet --out-dir dist
	rm -f dist/.gitignore

# The browser tests drive Debian's Chromium (Playwright's own browser download cannot work here).
chromium:
	@command -v /usr/bin/chromium >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

run: install assets
	$(VENV)/bin/goofs serve --host 127.0.0.1 --port 8000

migrate: install
	$(VENV)/bin/goofs migrate

lint: install
	$(VENV)/bin/ruff check src tests bench devkit
	$(VENV)/bin/ruff format --check src tests bench devkit
	$(VENV)/bin/mypy src

format: install
	$(VENV)/bin/ruff check --fix src tests bench devkit
	$(VENV)/bin/ruff format src tests bench devkit

test: install assets chromium nginx redis-server lint
	$(VENV)/bin/pytest

# The fast layer: unit and API tests (tests/unit, tests/api), under a minute: with 1,183 tests
# 46 s on two otherwise quiet cores with three workers (58 s with two, 60 s with four: half a
# worker's time is waiting, for PostgreSQL or for time to pass), more when others share them
# (docs/PERFORMANCE.md, "The test suite").
# `--dist loadgroup` keeps the tests marked `xdist_group` on one worker (tests/api/test_concurrency.py).
# Without the Schemathesis and Hypothesis plugins, which only tests/system uses: each process
# (the controller and every worker) would import them, and pytest rewrite their modules, for
# 2 to 3 s of CPU.
test-fast: install
	$(VENV)/bin/pytest -n 3 --dist loadgroup -p no:schemathesis -p no:hypothesispytest \
		tests/unit tests/api

# The full fan-out and write-path benchmark (several minutes); writes docs/bench-results.*
bench: install assets
	$(VENV)/bin/python -m bench

# Its deployment part (a few minutes): PostgreSQL (GOOFS_TEST_POSTGRES_URL, as the tests) and a
# private Redis, two instances behind nginx, then one and two through nginx by number of clients;
# writes docs/bench-deployment.* and docs/deployment.png (that sweep's plot)
bench-deployment: install assets nginx redis-server
	$(VENV)/bin/python -m bench --deployment

clean:
	rm -rf $(VENV) $(TOOLS) build dist

# The end-to-end tests put a real nginx in front of two instances; Debian's package provides it.
nginx:
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || \
		{ apt-get update && apt-get install -y --no-install-recommends nginx; }

# The Redis-restart test stops and starts a private redis-server of its own; Debian's package.
redis-server:
	@command -v redis-server >/dev/null || test -x /usr/bin/redis-server || \
		{ apt-get update && apt-get install -y --no-install-recommends redis-server; }
