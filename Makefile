# P2PHub — two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
BENCH_DATABASE_URL ?= postgres://root@127.0.0.1:5432/test
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: run test install migrate seed serve worker beat check bench-signup bench-leaderboard bench-payments clean

$(VENV)/.installed: requirements.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

run: seed
	$(PY) manage.py runserver $(HOST):$(PORT)

serve: install  ## production-style server (set DJANGO_ENV=production and friends first)
	$(PY) manage.py collectstatic --noinput
	$(VENV)/bin/gunicorn p2phub.wsgi --bind $(HOST):$(PORT) --workers 4 --access-logfile -

worker: install
	$(VENV)/bin/celery -A p2phub worker --loglevel=INFO

beat: install
	$(VENV)/bin/celery -A p2phub beat --loglevel=INFO

test: install
	$(PY) -m pytest -q

check: install
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py check

bench-signup: install
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/signup.py

bench-leaderboard: install
	REDIS_URL=$(BENCH_REDIS_URL) $(PY) bench/leaderboard.py

bench-payments: install
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/payments.py

clean:
	rm -rf $(VENV) staticfiles db.sqlite3
