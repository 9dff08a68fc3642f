# gke-native: `make demo` and `make test` are the two commands (see README.md).
# Every target installs what it needs: apt packages, the .venv virtualenv, PyPI packages, cargo builds.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := $(CURDIR)/.venv
PY := $(VENV)/bin/python
# maturin finds zig through the `python-zig` launcher of the ziglang wheel, in the venv's bin/.
export PATH := $(VENV)/bin:$(HOME)/.cargo/bin:$(PATH)
export CARGO_TARGET_DIR ?= $(CURDIR)/target
export CARGO_TERM_COLOR := never

VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
WHEEL_DIR := $(CARGO_TARGET_DIR)/wheels
WHEEL := $(WHEEL_DIR)/dss_gke-$(VERSION)-cp39-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl
ZIP := dist/dss-plugin-gke-native-$(VERSION).zip
export GKE_NATIVE_ZIP := $(CURDIR)/$(ZIP)
export GKE_EMULATOR_BIN := $(CARGO_TARGET_DIR)/debug/gke-emulator
RUST_SOURCES := Cargo.toml $(wildcard Cargo.lock) $(shell find rust -name '*.rs' -o -name Cargo.toml)
PLUGIN_SOURCES := plugin.json pyproject.toml tools/build_plugin.py \
	$(shell find python-lib parameter-sets python-clusters cluster-actions custom-recipes python-steps code-env resource -type f -not -name '*.pyc' -not -path '*/__pycache__/*')

# Debian packages: command → package providing it.
# docker-registry, skopeo and htpasswd: the image-push tests' registry and read-back.
# openssl: the RSA key of the Rust lifecycle tests' service account.
APT_NEEDS := readelf:binutils kubectl:kubernetes-client docker-registry:docker-registry openssl:openssl \
	skopeo:skopeo htpasswd:apache2-utils

.PHONY: help deps lint fmt cargo-test emulator build plugin test demo bench clean

help:
	@echo "make demo    the main job against the embedded emulator (no cloud account)"
	@echo "make test    lint, Rust tests, the plugin zip, Python tests"
	@echo "make plugin  $(ZIP)"
	@echo "make bench   benchmarks, side by side with the reference tools"

deps: $(VENV)/.deps-stamp
	@missing=""; for need in $(APT_NEEDS); do \
	  command -v "$${need%%:*}" >/dev/null || missing="$$missing $${need#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(VENV)/.deps-stamp: tools/requirements-dev.txt
	@test -x $(PY) || python3 -m venv $(VENV) || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv && python3 -m venv $(VENV); }
	$(PY) -m pip install -q --disable-pip-version-check -r tools/requirements-dev.txt
	@touch $@

lint: deps
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --quiet -- -D warnings
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) tools/check_layers.py

fmt: deps
	cargo fmt --all
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

cargo-test: deps
	@# The emulator's operations take a fraction of a second: poll them at that scale.
	GKE_NATIVE_OPERATION_POLL_SECONDS=0.1 \
	GKE_EMULATOR_DISCOVERY_DIR=$$($(PY) tools/discovery_dir.py) cargo test --workspace --quiet

# The test and demo stand-in for Google's APIs (debug build: shares cargo test's artifacts).
emulator: deps
	cargo build -p gke-emulator --quiet

# One release build for manylinux2014 (glibc 2.17) serves the zip and the tests' virtualenv.
$(WHEEL): $(RUST_SOURCES) pyproject.toml $(shell find python-lib -type f -not -path '*/__pycache__/*') | deps
	$(VENV)/bin/maturin build --release --zig --compatibility manylinux2014 \
	  --interpreter $(PY) --out $(WHEEL_DIR) --quiet

# The wheel in the virtualenv (a new .venv beside an up-to-date wheel gets it too).
$(VENV)/.wheel-stamp: $(WHEEL) $(VENV)/.deps-stamp
	$(PY) -m pip install -q --disable-pip-version-check --force-reinstall --no-deps $(WHEEL)
	@touch $@

build: deps $(VENV)/.wheel-stamp

$(ZIP): $(WHEEL) $(PLUGIN_SOURCES)
	$(PY) tools/build_plugin.py --wheel $(WHEEL) --out $(ZIP)

plugin: deps $(ZIP) $(VENV)/.wheel-stamp

test: lint cargo-test emulator plugin
	$(PY) -m pytest -q

demo: emulator plugin
	$(PY) -m tests.demo

# The benchmarks' emulator is a release build: in debug its HTTP stack costs more CPU than the
# GCS client under test (about 2.5 s against 1 s for the upload), on the same 2 cores.
bench: deps plugin
	@# rclone (Debian): the GCS sync anchor, for the bench only.
	@command -v rclone >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rclone; }
	cargo build --release -p gke-emulator --quiet
	@# SHA-256 by sha2 and by ring, the two linked (push/digest.rs uses the faster).
	cargo run --release --quiet --manifest-path bench/sha256/Cargo.toml
	GKE_EMULATOR_BIN=$(CARGO_TARGET_DIR)/release/gke-emulator $(PY) -m bench

clean:
	rm -rf $(CARGO_TARGET_DIR) dist $(VENV)
