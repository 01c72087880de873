# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PY     := $(BIN)/python
LOCALES_PO := $(wildcard locales/*/LC_MESSAGES/chungtay.po)
LOCALES_MO := $(LOCALES_PO:.po=.mo)

.PHONY: run test lint catalogs extract migrate bench clean

run: $(STAMP) catalogs
	$(PY) -m bot migrate
	$(PY) -m bot run

test: $(STAMP) catalogs
	$(BIN)/ruff check .
	$(PY) -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

catalogs: $(LOCALES_MO)

locales/%/LC_MESSAGES/chungtay.mo: locales/%/LC_MESSAGES/chungtay.po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d locales -D chungtay -l $* >/dev/null

# Developers: refresh the template and catalogs after changing user-facing text.
extract: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k _ -k t -k ngettext:1,2 --no-location --sort-output \
	  --project chungtay -o locales/chungtay.pot bot conversations storage
	$(BIN)/pybabel update -i locales/chungtay.pot -d locales -D chungtay --no-fuzzy-matching --ignore-obsolete

migrate: $(STAMP)
	$(PY) -m bot migrate

bench: $(STAMP) catalogs
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
