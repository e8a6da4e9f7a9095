# Everything runs through uv with the machine's own Python 3.11 (no interpreter downloads).
SHELL := /bin/bash
PYTHON ?= python3.11
export UV_PYTHON_DOWNLOADS := never
# `uv` when on PATH, else the copy `install` puts into $(PYTHON)'s site-packages.
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
RUN := $(UV) run --frozen
ROLE ?= admin

.PHONY: install run test lint openapi-ts format schemas bench migrate token clean demo deploy-tools deploy-check compose-env compose-test

install:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || \
		$(PYTHON) -m pip install --quiet uv || $(PYTHON) -m pip install --quiet --user uv
	$(UV) sync --frozen --python $(PYTHON)

run: install
	$(RUN) postloan up

test: install
	$(RUN) pytest

lint:
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy libs/common/src libs/dev/src services/*/src
	$(RUN) lint-imports
	$(RUN) python -m postloan_common.contracts.schema_export --check
	$(MAKE) --no-print-directory openapi-ts

# Front ends generate clients from openapi.json: TypeScript types from every service must name each
# 2xx body, and a sample client must compile with tsc --strict (tools/openapi-ts, machine's Node.js).
OPENAPI_TS := tools/openapi-ts
openapi-ts:
	$(RUN) python -m postloan_dev.openapi_dump $(OPENAPI_TS)/generated/openapi >/dev/null
	@cd $(OPENAPI_TS) && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --silent; }
	cd $(OPENAPI_TS) && node check.mjs generated/openapi

format:
	$(RUN) ruff check --fix .
	$(RUN) ruff format .

schemas:
	$(RUN) python -m postloan_common.contracts.schema_export

bench: install
	$(RUN) python -m bench

# Start the platform, simulate LOANS loans over MONTHS months, write demo/management-report.{pdf,html}, stop.
demo: install
	$(RUN) python -m postloan_dev.simulator.demo --loans $(or $(LOANS),10000) --months $(or $(MONTHS),12)

migrate:
	$(RUN) postloan migrate

token:
	@$(RUN) postloan token --role $(ROLE)

# Deployment checks without Docker (they also run in `test`); deploy-tools installs the checkers.
deploy-tools:
	PYTHON=$(PYTHON) bash deploy/tools/install-checkers.sh

deploy-check:
	$(RUN) pytest tests/deploy

compose-env:
	bash deploy/scripts/compose-env.sh

# Needs a Docker engine: build, start docker-compose.yml, smoke-test it, tear it down.
compose-test:
	PYTHON=$(PYTHON) bash deploy/scripts/compose-test.sh

clean:
	rm -rf .devstack .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
	find . -name __pycache__ -type d -not -path './.venv/*' -prune -exec rm -rf {} +
