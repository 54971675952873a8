# govern — `make run` serves the demo on embedded defaults; `make test` sets up and runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
RUN_STAMP := $(VENV)/.installed-run-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: messages run test bench fuzz install run-install compile-translations translations system-deps pdf-deps services node-deps clean

# `make run` installs what the service needs; `make test` adds the test extras (Playwright, OpenBao, pytest, ...)
# uv installs (resolves and downloads in parallel); pip stays in the venv, and is the fallback if uv cannot run here.
$(RUN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -x $(BIN)/uv || $(BIN)/pip install --quiet uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e . || $(BIN)/pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[test]' || $(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run-install: $(RUN_STAMP)

compile-translations:
	$(BIN)/pybabel compile --statistics -d govern/translations

translations: install
	$(MAKE) compile-translations

# Refresh the catalogs from the code and templates: every `_()` and every service refusal's template (govern/errors.py).
# New msgids then need their ar and he text; tests/unit/i18n fails while one has none.
messages: install
	$(BIN)/pybabel extract -F babel.cfg $$(GOVERN_ENV=dev $(BIN)/python -c 'import govern; govern.create_app({"TESTING": True}); from govern.errors import extraction_keywords; print(" ".join(f"-k {name}:{pos[0]}" for name, pos in extraction_keywords().items()))') -o govern/translations/messages.pot .
	$(BIN)/pybabel update --no-fuzzy-matching -i govern/translations/messages.pot -d govern/translations

run: run-install pdf-deps
	$(MAKE) compile-translations
	@mkdir -p instance
	$(BIN)/govern db upgrade
	$(BIN)/govern demo seed
	@echo
	@echo "  Console:   http://$(HOST):$(PORT)/"
	@echo "  Sign in:   $$(GOVERN_BASE_URL=http://$(HOST):$(PORT) $(BIN)/govern console login-link --email admin@govern.demo)"
	@echo "  API token: $$($(BIN)/govern token create --name make-run-$$(date +%Y%m%d%H%M%S) --role admin 2>/dev/null)"
	@echo "  (curl -H 'Authorization: Bearer <token>' http://$(HOST):$(PORT)/api/v1/accounts)"
	@echo
	GOVERN_SECURE_COOKIES=false GOVERN_LOG_FORMAT=$${GOVERN_LOG_FORMAT:-console} $(BIN)/govern serve --host $(HOST) --port $(PORT)

system-deps:
	tests/support/system-deps.sh

pdf-deps:
	tests/support/system-deps.sh --pdf-only

services:
	tests/support/ensure-services.sh

# oidc-provider, the independent OpenID Connect server the broker is tested against (pinned in tests/support/package-lock.json)
NODE_STAMP := tests/support/node_modules/.installed-$(shell cat tests/support/package-lock.json | sha1sum | cut -c1-12)
$(NODE_STAMP): tests/support/package-lock.json
	npm ci --prefix tests/support --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

node-deps: $(NODE_STAMP)

test: translations system-deps services node-deps
	$(BIN)/lint-imports
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/pip install --quiet -e '.[test,bench]'
	@for bench in benches/*.py; do [ -e "$$bench" ] || continue; case "$$bench" in benches/_*) continue;; esac; echo "== $$bench"; $(BIN)/python "$$bench" || exit 1; done

# schemathesis against a live `govern serve` for GOVERN_FUZZ_SECONDS per role (also part of `make bench`)
fuzz: install
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python benches/robustness.py

clean:
	rm -rf $(VENV) instance .pytest_cache tests/e2e/artifacts tests/support/node_modules
