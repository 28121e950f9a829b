# P2PHub — two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
BENCH_DATABASE_URL ?= postgres://root@127.0.0.1:5432/test
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/0

# The address `make run` serves and prints (the demo's sign-in hints and `demo_init_data --curl`
# use SITE_URL); an explicit SITE_URL in the environment wins.
BROWSE_HOST = $(if $(filter 0.0.0.0 ::,$(HOST)),127.0.0.1,$(HOST))
DEV_SITE_URL = http://$(BROWSE_HOST):$(PORT)

.PHONY: run test install install-dev lint migrate seed serve worker beat check bench-signup bench-leaderboard bench-payments bench-requests bench-share bench-telegram bench-stats bench-load fuzz-api clean screenshots messages

# Runtime packages only (requirements.txt): what `make run` and `make serve` need.
$(VENV)/.installed: requirements.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements.txt
	touch $@

# Runtime plus the test and lint tools (requirements-dev.txt).
$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PIP) install -q -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

seed run: export SITE_URL ?= $(DEV_SITE_URL)

run: seed
	$(PY) manage.py runserver $(HOST):$(PORT)

serve: install  ## production-style server (set DJANGO_ENV=production and friends first)
	$(PY) manage.py collectstatic --noinput
	$(VENV)/bin/gunicorn p2phub.wsgi --config p2phub/gunicorn.conf.py --bind $(HOST):$(PORT)

worker: install
	$(VENV)/bin/celery -A p2phub worker --loglevel=INFO

beat: install
	$(VENV)/bin/celery -A p2phub beat --loglevel=INFO

test: install-dev
	$(PY) -m pytest -q

lint: install-dev  ## ruff (ruff.toml) and the OpenAPI schema, as CI runs them
	$(VENV)/bin/ruff check .
	$(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

check: install
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py check

bench-signup: install
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/signup.py

bench-leaderboard: install
	REDIS_URL=$(BENCH_REDIS_URL) $(PY) bench/leaderboard.py

bench-payments: install
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/payments.py

# CPU and SQL statements per request of the hot paths against two floors (bench/request_costs.py).
bench-requests: install
	DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) $(PY) bench/request_costs.py

bench-share: install
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/share_clicks.py

# 10,000 notifications queued at once → real Celery workers on RabbitMQ → a fake Bot API that
# answers 429 like Telegram when its limits are crossed (bench/telegram_delivery.py).
BENCH_BROKER_URL ?= amqp://guest:guest@127.0.0.1:5672//
bench-telegram: install
	DATABASE_URL=$(BENCH_DATABASE_URL) REDIS_URL=$(BENCH_REDIS_URL) BROKER_URL=$(BENCH_BROKER_URL) $(PY) bench/telegram_delivery.py

# 1,000,000 members and 5,000,000 USDT ledger rows on a scratch database; times each staff figure.
bench-stats: install
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/stats.py

# Real HTTP under load (bench/load/run.py): headless Locust against gunicorn with the production
# settings, PostgreSQL, Redis and a Celery worker on RabbitMQ; a check-in burst, Mini App opens in
# steps, signups under one hot leader and across unrelated trees, and a gunicorn worker sweep.
# BENCH_LOAD_QUICK=1 is a smoke run; bench/README.md lists the other knobs. The run flushes its
# Redis database: db 5 unless BENCH_REDIS_URL is given explicitly (this file's own default, db 0,
# belongs to the other benchmarks).
bench-load: install-dev
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) BENCH_BROKER_URL=$(BENCH_BROKER_URL) \
	  $(if $(filter file,$(origin BENCH_REDIS_URL)),,BENCH_REDIS_URL=$(BENCH_REDIS_URL)) $(PY) bench/load/run.py

# Schemathesis over /api/schema/ as a member and as staff, on a scratch SQLite database and a
# loopback runserver (bench/api_fuzz.py; FUZZ_MAX_EXAMPLES, FUZZ_CHECKS, ... tune it).
fuzz-api: install-dev
	$(PY) bench/api_fuzz.py

# The member dashboard in Chromium: every page at 360 px and 1366 px, English and Russian, into
# screenshots/ (git-ignored), from the browser test that walks the dashboard.
screenshots: install-dev
	$(PY) -m pytest -q -m browser dashboard/tests/test_browser_dashboard.py
	@echo "screenshots in ./screenshots/"

# Re-extract the dashboard's strings into locale/ru (the apps keep their own catalogues) and compile.
messages: install-dev
	$(PY) manage.py makemessages -l ru --no-wrap --no-location --no-obsolete -i ".venv/*" -i "partners/*" -i "rewards/*" \
	  -i "payments/*" -i "referrals/*" -i "audit/*" -i "p2phub/*" -i "bench/*" -i "templates/registration/*" \
	  -i "templates/landing.html" -i "templates/base.html" -i "dashboard/tests/*" -i "staticfiles/*"
	msgfmt -c --statistics locale/ru/LC_MESSAGES/django.po -o locale/ru/LC_MESSAGES/django.mo

clean:
	rm -rf $(VENV) staticfiles db.sqlite3
