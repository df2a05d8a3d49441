# mock-cxone — each target is one obvious command.
#   make run    start the mock with a working demo tenant (REST :8080, S3 :9000)
#   make test   every test: Rust (unit + end-to-end with aws-sdk-s3/reqwest) and Python clients
#   make bench  benchmarks, results in docs/benchmarks.md
#   make lint   clippy + rustfmt check;  make fmt  format

VENV      := .venv
PY        := $(VENV)/bin/python
PYREQS    := clients-tests/python/requirements.txt
# s3fs (through aiobotocore) pins botocore, which clashes with boto3/awscli: its own virtualenv.
VENV_S3FS := .venv-s3fs
S3FS_REQS := clients-tests/python/requirements-s3fs.txt
S3FS_TESTS := clients-tests/python/test_clients_s3fs.py
# Debian clients (rclone, s3cmd) installed by the tests' own target when missing.
APT_TOOLS := rclone s3cmd
CARGO     ?= cargo

.PHONY: run test test-rust test-python bench bench-tools lint fmt venv venv-s3fs apt-tools build clean

run:
	$(CARGO) run --release -p mock-cxone -- serve

build:
	$(CARGO) build --workspace  # same feature set as the test build: nothing is compiled twice

test: test-rust test-python

test-rust: build  # the binary first: scenario and CLI tests run it
	$(CARGO) nextest run --workspace --no-fail-fast

test-python: build venv venv-s3fs apt-tools
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

$(VENV)/.installed: $(PYREQS)
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r $(PYREQS)
	touch $@

# The anchors are installed here, not by `make test`: s3s-fs (the S3 library we build on, as a
# server) from crates.io into target/bench-tools, nginx from Debian; moto is in the virtualenv.
S3SFS_BIN := target/bench-tools/bin/s3s-fs

bench: venv bench-tools
	$(CARGO) build --release -p mock-cxone --bin mock-cxone --example export_bench --example s3load
	MOCK_CXONE_BIN=$(CURDIR)/target/release/mock-cxone EXPORT_BENCH_BIN=$(CURDIR)/target/release/examples/export_bench \
		S3LOAD_BIN=$(CURDIR)/target/release/examples/s3load S3SFS_BIN=$(CURDIR)/$(S3SFS_BIN) \
		$(PY) bench/bench.py --out docs/benchmarks.md --json target/bench.json

bench-tools: $(S3SFS_BIN)
	@command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		$$sudo apt-get install -y -q nginx >/dev/null || { $$sudo apt-get update -q >/dev/null && $$sudo apt-get install -y -q nginx >/dev/null; }; }

$(S3SFS_BIN):
	$(CARGO) install s3s-fs --version 0.14.1 --features binary --locked --root $(CURDIR)/target/bench-tools

lint:
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) fmt --all -- --check

fmt:
	$(CARGO) fmt --all

clean:
	rm -rf target $(VENV) $(VENV_S3FS) mock-cxone-data
