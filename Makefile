# Talent Connect. `make run` starts the demo portal; `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: run test lint typecheck pytest bench docs clean translations

# Compiled catalogs: built from the .po files in the repository whenever those change.
CATALOGS := $(wildcard portal/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy --statistics -i $< -o $@ 2>&1 | tail -n 1

# Extracts every marked candidate string, then updates each catalog (new strings arrive
# empty); the recruiter console's strings go to console.pot, for a future translation.
translations: $(STAMP)
	$(BIN)/pybabel extract --mapping-file babel.cfg -k lazy_gettext -k lazy_ngettext:1,2 -k pgettext:1c,2 -k npgettext:1c,2,3 --no-location --sort-output \
		--ignore-dirs ".* _* node_modules tests bench" --project "Talent Connect" -o portal/translations/messages.pot .
	$(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete -i portal/translations/messages.pot \
		-d portal/translations
	$(BIN)/pybabel extract --mapping-file babel-console.cfg -k lazy_gettext -k lazy_ngettext:1,2 -k pgettext:1c,2 -k npgettext:1c,2,3 --no-location --sort-output \
		--ignore-dirs ".* _* node_modules tests bench" --project "Talent Connect" -o portal/translations/console.pot .

# The demo company is in Berlin: its new alert schedules start in that time zone.
run: $(STAMP) $(COMPILED)
	exec env TALENTCONNECT_COMPANY_TIME_ZONE="$${TALENTCONNECT_COMPANY_TIME_ZONE:-Europe/Berlin}" \
		$(BIN)/talentconnect run --demo

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# axe-core (accessibility checks in the browser tests) comes from the npm registry.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	@touch $(NODE_STAMP)

pytest: $(STAMP) $(NODE_STAMP) $(COMPILED)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# bench/web.py drives the server with wrk, and bench/fanout.py reads peak RSS with
# /usr/bin/time; both from Debian.
bench: $(STAMP) $(COMPILED)
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	@test -x /usr/bin/time || (apt-get update -qq && apt-get install -y -qq time)
	@# Every benchmark runs even when an earlier one misses a target; any miss fails.
	@status=0; \
	$(BIN)/python -m bench || status=1; \
	$(BIN)/python bench/resume_parse.py || status=1; \
	$(BIN)/python bench/web.py || status=1; \
	$(BIN)/python bench/fanout.py || status=1; \
	$(BIN)/python bench/matching.py || status=1; \
	$(BIN)/python bench/search.py || status=1; \
	$(BIN)/python bench/retention.py || status=1; \
	$(BIN)/python bench/webhooks.py || status=1; \
	exit $$status

# docs/CONFIGURATION.md's settings table is written from the table in portal/config.py.
docs: $(STAMP)
	$(BIN)/python scripts/settings_doc.py

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache *.egg-info
