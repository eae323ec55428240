# The two commands of the README: `make night` (the main job) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
# Debian packages used as real, independent components: fitsverify checks our FITS,
# InfluxDB is the EFD, Prometheus scrapes the CSCs (started on free loopback ports);
# the tests add PostgreSQL (the archiver's shared-catalog option).
NIGHT_APT_PACKAGES := fitsverify influxdb prometheus
APT_PACKAGES ?= $(NIGHT_APT_PACKAGES) postgresql
PYTEST_ARGS ?=
# Real components on a 2-core machine occasionally miss a heartbeat: a failed test is run
# again (twice at most) and reported as rerun, so flakiness stays visible.
PYTEST_RERUNS ?= --reruns 2 --reruns-delay 2
# Most tests wait on processes and the broker, so three workers share two cores well; the
# whole nights (marked `solo`) load both cores on their own and run afterwards, one at a time.
PYTEST_WORKERS ?= -n 3 --dist loadfile
NIGHT_ARGS ?=
# Apache Kafka's jars (kafka/pom.xml), fetched by Maven once into the checkout, never at run time.
KAFKA_JARS := var/kafka/jars
KAFKA_STAMP := $(KAFKA_JARS)/.fetched

.PHONY: night test setup system-deps night-deps kafka-dist lint bench clean

night: setup night-deps kafka-dist
	$(VENV)/bin/dmcs night $(NIGHT_ARGS)

# The whole suite runs on Apache Kafka (Tansu where Java is missing); then the Tansu pass:
# tests/sal, the alert reader's end of stream, and the drill night again on Tansu, so the
# no-Java fallback keeps working.
test: setup system-deps kafka-dist
ifeq ($(strip $(PYTEST_ARGS)),)
	$(PY) -m pytest $(PYTEST_WORKERS) $(PYTEST_RERUNS) -m "not solo"
	$(PY) -m pytest $(PYTEST_RERUNS) -m solo
	DMCS_BROKER_KIND=tansu $(PY) -m pytest $(PYTEST_WORKERS) $(PYTEST_RERUNS) tests/sal \
		tests/alerts/test_broker_consumer_ends.py
	DMCS_BROKER_KIND=tansu $(PY) -m pytest $(PYTEST_RERUNS) -m solo -k survives_kills
else
	$(PY) -m pytest $(PYTEST_WORKERS) $(PYTEST_RERUNS) $(PYTEST_ARGS)
endif

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# The tests need every package: as root they are installed, otherwise we say how.
# The night runs without them (no EFD, no FITS check): `night-deps` only tries.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $$missing || [ -n "$(OPTIONAL)" ]; \
	  elif [ -n "$(OPTIONAL)" ]; then echo "note: without$$missing the night has no EFD (sudo apt-get install -y$$missing)"; \
	  else echo "please install:$$missing (sudo apt-get install -y$$missing)"; exit 1; fi; \
	fi

night-deps:
	@$(MAKE) --no-print-directory system-deps OPTIONAL=1 APT_PACKAGES="$(NIGHT_APT_PACKAGES)"

# Kafka needs Java 17+ to run and Maven to fetch; without them the broker is Tansu (a note says so).
kafka-dist:
	@if command -v java >/dev/null 2>&1 && command -v mvn >/dev/null 2>&1; then \
	  $(MAKE) --no-print-directory -s $(KAFKA_STAMP); \
	else echo "note: no java or mvn here, so no Apache Kafka: the broker is Tansu" \
	  "(Debian: apt-get install -y openjdk-17-jre-headless maven)"; fi

$(KAFKA_STAMP): kafka/pom.xml
	@echo "fetching Apache Kafka's jars with Maven into $(KAFKA_JARS) (once)"
	rm -rf $(KAFKA_JARS) && mkdir -p $(KAFKA_JARS)
	mvn -q -B -f kafka/pom.xml dependency:copy-dependencies -DincludeScope=runtime \
	  -DoutputDirectory=$(CURDIR)/$(KAFKA_JARS) >var/kafka/mvn.log 2>&1 \
	  || { tail -30 var/kafka/mvn.log; exit 1; }
	touch $@

lint: setup
	$(VENV)/bin/ruff check dmcs tests benchmarks
	$(VENV)/bin/mypy dmcs

bench: setup
	mkdir -p var/bench
	for b in benchmarks/*.py; do $(PY) $$b --json var/bench/$$(basename $$b .py).json || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
