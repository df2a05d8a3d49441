# mock-cxone — each target is one obvious command.
#   make run    start the mock with a working demo tenant (REST :8080, S3 :9000)
#   make test   every test: Rust (unit + end-to-end with aws-sdk-s3/reqwest) and Python clients
#   make bench  benchmarks, results in docs/benchmarks.md
#   make lint   clippy + rustfmt check;  make fmt  format
#   make fuzz   cargo-fuzz targets, ~45 s each (make fuzz-long: 30 min each)
#   make conformance  s3s-e2e and ceph/s3-tests vs the mock and s3s-fs (S3TESTS_DIR=<s3-tests checkout>)

VENV      := .venv
PY        := $(VENV)/bin/python
PYREQS    := clients-tests/python/requirements.txt
# s3fs (through aiobotocore) pins botocore, which clashes with boto3/awscli: its own virtualenv.
VENV_S3FS := .venv-s3fs
S3FS_REQS := clients-tests/python/requirements-s3fs.txt
S3FS_TESTS := clients-tests/python/test_clients_s3fs.py
# Debian clients (rclone, s3cmd) and the dashboard test's headless browser (chromium, driven by
# Playwright from the virtualenv: no `playwright install` download), installed when missing.
APT_TOOLS := rclone s3cmd chromium
# Azurite (Azure Blob Storage emulator) for test_download_azure.py, from the npm registry at the
# version package-lock.json pins, with the machine's Node.js (Debian's nodejs/npm when missing).
AZURITE_DIR := clients-tests/azurite
AZURITE_BIN := $(AZURITE_DIR)/node_modules/.bin/azurite-blob
CARGO     ?= cargo

.PHONY: run test test-rust test-python bench bench-tools lint fmt venv venv-s3fs apt-tools azurite build clean \
	fuzz fuzz-long conformance

run:
	$(CARGO) run --release -p mock-cxone -- serve

build:
	$(CARGO) build --workspace  # same feature set as the test build: nothing is compiled twice

test: test-rust test-python

test-rust: build  # the binary first: scenario and CLI tests run it
	$(CARGO) nextest run --workspace --no-fail-fast

test-python: build venv venv-s3fs apt-tools azurite
	MOCK_CXONE_BIN=$(CURDIR)/target/debug/mock-cxone $(VENV)/bin/pytest -q clients-tests/python --ignore=$(S3FS_TESTS)
	MOCK_CXONE_BIN=$(CURDIR)/target/debug/mock-cxone $(VENV_S3FS)/bin/pytest -q $(S3FS_TESTS)

venv: $(VENV)/.installed

venv-s3fs: $(VENV_S3FS)/.installed

$(VENV_S3FS)/.installed: $(S3FS_REQS)
	python3 -m venv $(VENV_S3FS)
	$(VENV_S3FS)/bin/pip install --quiet --upgrade pip
	$(VENV_S3FS)/bin/pip install --quiet -r $(S3FS_REQS)
	touch $@

# Installs the Debian clients only when one is missing (as root, or through sudo).
apt-tools:
	@missing=""; for t in $(APT_TOOLS); do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
		sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		echo "installing$$missing (apt)"; \
		$$sudo apt-get install -y -q $$missing >/dev/null || \
		{ $$sudo apt-get update -q >/dev/null && $$sudo apt-get install -y -q $$missing >/dev/null; }; \
	fi

azurite: $(AZURITE_BIN)

$(AZURITE_BIN): $(AZURITE_DIR)/package.json $(AZURITE_DIR)/package-lock.json
	@command -v npm >/dev/null || { sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; echo "installing nodejs npm (apt)"; \
		$$sudo apt-get install -y -q nodejs npm >/dev/null || \
		{ $$sudo apt-get update -q >/dev/null && $$sudo apt-get install -y -q nodejs npm >/dev/null; }; }
	cd $(AZURITE_DIR) && npm ci --omit=dev --no-audit --no-fund --loglevel=error
	touch $@

$(VENV)/.installed: $(PYREQS)
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r $(PYREQS)
	touch $@

# The anchors are installed here, not by `make test`: s3s-fs (the S3 library we build on, as a
# server) from crates.io into target/bench-tools, nginx and wrk from Debian; moto is in the virtualenv.
S3SFS_BIN := target/bench-tools/bin/s3s-fs

bench: venv bench-tools
	$(CARGO) build --release -p mock-cxone --bin mock-cxone --example export_bench --example s3load --example mixload
	MOCK_CXONE_BIN=$(CURDIR)/target/release/mock-cxone EXPORT_BENCH_BIN=$(CURDIR)/target/release/examples/export_bench \
		S3LOAD_BIN=$(CURDIR)/target/release/examples/s3load MIXLOAD_BIN=$(CURDIR)/target/release/examples/mixload \
		S3SFS_BIN=$(CURDIR)/$(S3SFS_BIN) \
		$(PY) bench/bench.py --out docs/benchmarks.md --json target/bench.json

# wrk (Debian) drives the "wrk" GET rows, the issue's own measure against nginx.
bench-tools: $(S3SFS_BIN)
	@for t in nginx wrk; do command -v $$t >/dev/null || [ -x /usr/sbin/$$t ] || { sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		$$sudo apt-get install -y -q $$t >/dev/null || { $$sudo apt-get update -q >/dev/null && $$sudo apt-get install -y -q $$t >/dev/null; }; }; done

$(S3SFS_BIN):
	$(CARGO) install s3s-fs --version 0.14.1 --features binary --locked --root $(CURDIR)/target/bench-tools

# Fuzzing (docs/reliability.md, "Fuzzing"): cargo-fuzz on the stable toolchain, no sanitizer (ASan
# needs nightly), in fuzz/ (its own workspace). Seeds: fuzz/seeds/<target>, the scenario library,
# fuzz/regressions/<target>; new corpus entries go to fuzz/corpus/<target>, crashes to
# fuzz/artifacts/<target> (neither committed). `make test` runs the same harnesses without
# libFuzzer (clients-tests/tests/fuzz_corpus.rs): the instrumented build costs more than CI can spend.
FUZZ_TARGETS      := scenario partition_template lake_key
FUZZ_SECONDS      ?= 45
FUZZ_LONG_SECONDS ?= 1800
CARGO_FUZZ        := target/bench-tools/bin/cargo-fuzz
FUZZ_FLAGS        := --sanitizer none -O --debug-assertions

fuzz: FUZZ_TIME = $(FUZZ_SECONDS)
fuzz-long: FUZZ_TIME = $(FUZZ_LONG_SECONDS)
fuzz fuzz-long: $(CARGO_FUZZ)
	cd fuzz && $(CURDIR)/$(CARGO_FUZZ) fuzz build $(FUZZ_FLAGS)
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/corpus/$$t; \
		seeds="seeds/$$t"; [ -d fuzz/regressions/$$t ] && seeds="$$seeds regressions/$$t"; \
		[ $$t = scenario ] && seeds="$$seeds ../scenarios"; \
		echo "== fuzz $$t: $(FUZZ_TIME) s"; \
		(cd fuzz && $(CURDIR)/$(CARGO_FUZZ) fuzz run $(FUZZ_FLAGS) $$t corpus/$$t $$seeds -- \
			-max_total_time=$(FUZZ_TIME) -print_final_stats=1) || exit 1; \
	done

$(CARGO_FUZZ):
	$(CARGO) install cargo-fuzz --version 0.13.2 --locked --root $(CURDIR)/target/bench-tools

# S3 conformance (docs/reliability.md): s3s-e2e 0.14.1 from crates.io, and ceph/s3-tests from a
# checkout outside this repository (S3TESTS_DIR; its requirements go in a scratch virtualenv),
# against the mock's data-lake side and plain s3s-fs, side by side. Not part of `make test`.
E2E_BIN := target/bench-tools/bin/s3s-e2e

conformance: $(S3SFS_BIN) $(E2E_BIN)
	$(CARGO) build -p mock-cxone
	python3 conformance/run.py

$(E2E_BIN):
	$(CARGO) install s3s-e2e --version 0.14.1 --locked --root $(CURDIR)/target/bench-tools

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) fmt --all -- --check

fmt:
	$(CARGO) fmt --all

clean:
	rm -rf target $(VENV) $(VENV_S3FS) mock-cxone-data $(AZURITE_DIR)/node_modules
