# Two entry points: `make test` (every test) and `make lab` (the workbook in JupyterLab).
# Each installs what it needs once and skips what is already there.
SHELL := /bin/bash
VENV := $(CURDIR)/.venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum requirements.txt | cut -c1-12)

# tch finds libtorch through the venv's torch wheel; the venv's python must come first.
export LIBTORCH_USE_PYTORCH := 1
export VIRTUAL_ENV := $(VENV)
export PATH := $(VENV)/bin:$(PATH)

.PHONY: test venv build fixtures rust-test oracle-test clean

venv: $(STAMP)

$(STAMP): requirements.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	@echo "installing Python packages into .venv (torch is about 4.7 GB; once only)"
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	@rm -f $(VENV)/.installed-* && touch $@

build: venv
	cargo build --workspace --all-targets

fixtures: build
	cargo run -q -p grader -- fixtures --seed 0 --out fixtures/public

rust-test: build
	cargo test --workspace -q

oracle-test: venv
	$(PY) -m pytest oracle -q

# Rust first, the PyTorch oracle last: the run ends on pytest's summary line.
test: rust-test oracle-test

clean:
	cargo clean
