# mock-cxone — each target is one obvious command.
#   make run    start the mock with a working demo tenant (REST :8080, S3 :9000)
#   make test   every test: Rust (unit + end-to-end with aws-sdk-s3/reqwest) and Python clients
#   make bench  benchmarks, results in docs/benchmarks.md
#   make lint   clippy + rustfmt check;  make fmt  format

VENV      := .venv
PY        := $(VENV)/bin/python
PYREQS    := clients-tests/python/requirements.txt
CARGO     ?= cargo

.PHONY: run test test-rust test-python bench lint fmt venv build clean

run:
	$(CARGO) run --release -p mock-cxone -- serve

build:
	$(CARGO) build --workspace  # same feature set as the test build: nothing is compiled twice

test: test-rust test-python

test-rust: build  # the binary first: scenario and CLI tests run it
	$(CARGO) nextest run --workspace --no-fail-fast

test-python: build venv
	MOCK_CXONE_BIN=$(CURDIR)/target/debug/mock-cxone $(VENV)/bin/pytest -q clients-tests/python

venv: $(VENV)/.installed

$(VENV)/.installed: $(PYREQS)
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r $(PYREQS)
	touch $@

bench: venv
	$(CARGO) build --release -p mock-cxone --bin mock-cxone --example export_bench
	MOCK_CXONE_BIN=$(CURDIR)/target/release/mock-cxone EXPORT_BENCH_BIN=$(CURDIR)/target/release/examples/export_bench \
		$(PY) bench/bench.py --out docs/benchmarks.md

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) fmt --all -- --check

fmt:
	$(CARGO) fmt --all

clean:
	rm -rf target $(VENV) mock-cxone-data
