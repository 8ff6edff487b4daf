# Knotwork. `make run` sets everything up and serves the demo; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_WORKERS ?= auto

.PHONY: run dev test test-fast lint typecheck check bench bench-load clean engine messages translations

# The engine's hot modules compiled by mypyc (tools/build_engine.py); the Python source runs
# whenever they are missing or older than the source, so this only ever makes explain faster.
ENGINE := knotwork/engine/_native/manifest.json

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Knotwork needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

$(ENGINE): $(STAMP) $(wildcard knotwork/engine/*.py) tools/build_engine.py
	$(BIN)/python tools/build_engine.py

engine: $(ENGINE)

# Translations: locale/<lang>/LC_MESSAGES/django.po, compiled to .mo by Babel (no system gettext
# needed); the .mo files are build output. `make messages` refreshes the .po files from the
# sources (needs GNU gettext's xgettext); docs/i18n.md.
MO := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/*.po))
%.mo: %.po $(STAMP)
	$(BIN)/python tools/compile_messages.py $<

messages: $(STAMP)
	$(BIN)/python manage.py makemessages -l es -l fr --add-location=file --no-obsolete --ignore=.venv --ignore=node_modules --ignore=static --ignore=var --ignore=tests --ignore=benchmarks --ignore=knotwork.egg-info

translations: $(STAMP)
	$(BIN)/python tools/check_translations.py

run: $(STAMP) $(ENGINE) $(MO)
	$(BIN)/knotwork run

dev: $(STAMP) $(ENGINE) $(MO)
	DEBUG=1 $(BIN)/knotwork run --dev

test: $(STAMP) $(ENGINE) $(MO)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run --settings=config.settings_test

typecheck: $(STAMP)
	$(BIN)/mypy knotwork config

check: lint typecheck translations

bench: $(STAMP) $(ENGINE)
	$(BIN)/pip install --quiet -e '.[dev,load]'
	@for f in benchmarks/*.py; do case $$f in */locustfile.py) continue;; esac; echo "== $$f"; $(BIN)/python $$f || exit 1; done

# Figure 12: locust against gunicorn on PostgreSQL (loopback), in a throwaway database on that server.
bench-load: $(STAMP)
	$(BIN)/pip install --quiet -e '.[load]'
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/knotwork} $(BIN)/python benchmarks/load.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache knotwork/engine/_native $(MO)
