# MediaHooks: `make run` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
# Locked dependencies (pinned versions with hashes): the runtime set, and the runtime set plus the [test] extra.
RUN_LOCK := requirements.lock
TEST_LOCK := requirements-test.lock
UV_VERSION := 0.13.8
LOCK_OPTIONS := --generate-hashes --universal --python-version 3.11 --custom-compile-command "make lock" --quiet \
	$(if $(UPGRADE),--upgrade,)

.PHONY: run test lint bench browser mediaserver clean lock

$(BIN)/python:
	@[ -n "$(PYTHON)" ] || { echo "MediaHooks needs Python 3.11 or newer (python3.11+ on PATH)."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The app runs from this folder (manage.py), so installing means installing the locked dependencies; a changed
# lock file reinstalls.
$(RUN_STAMP): $(RUN_LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r $(RUN_LOCK)
	@touch $@

$(TEST_STAMP): $(TEST_LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r $(TEST_LOCK)
	@touch $@ $(RUN_STAMP)

# Refresh both lock files from pyproject.toml: keeps every pin that still fits and resolves only what changed
# (`make lock UPGRADE=1` moves everything to the newest allowed releases). Universal: Linux and macOS alike.
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip compile pyproject.toml --extra test $(LOCK_OPTIONS) -o $(TEST_LOCK)
	$(BIN)/uv pip compile pyproject.toml --constraint $(TEST_LOCK) $(LOCK_OPTIONS) -o $(RUN_LOCK)

# Development defaults; any variable you set yourself wins.
run: export DEBUG ?= true
run: export WEBHOOK_ALLOW_PRIVATE_TARGETS ?= true
run: $(RUN_STAMP) mediaserver
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py setup_demo
	$(BIN)/python manage.py rundev

test: $(TEST_STAMP) browser mediaserver
	$(BIN)/python -m pytest

# Browser tests need Debian's chromium; install it where we can (root with apt). Elsewhere they skip loudly.
browser:
	@if ! command -v chromium >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Debian's chromium for the browser tests..."; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || \
		{ apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
		echo "Could not install chromium; the browser tests will say how."; \
	fi

# Live ingest needs Debian's nginx with its RTMP module; install them where we can (root with apt). Elsewhere
# `make run` says how to get them and runs the rest, and the live-ingest tests skip saying the same.
mediaserver:
	@if ! { command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; } || [ ! -f /usr/lib/nginx/modules/ngx_rtmp_module.so ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing Debian's nginx and libnginx-mod-rtmp for live ingest..."; \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx libnginx-mod-rtmp >/dev/null 2>&1 || \
			{ apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx libnginx-mod-rtmp >/dev/null; } || \
			echo "Could not install nginx and libnginx-mod-rtmp; live ingest stays off."; \
		fi; \
	fi

lint: $(TEST_STAMP)
	$(BIN)/ruff check .

bench: export DEBUG ?= true
bench: $(TEST_STAMP)
	$(BIN)/python manage.py bench

clean:
	rm -rf $(VENV) var .pytest_cache test-artifacts
