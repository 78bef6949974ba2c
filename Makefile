# Two entry points: `make lab` (the workbook in JupyterLab) and `make test` (every test).
# Each installs what it needs once and skips what is already there.
SHELL := /bin/bash
VENV := $(CURDIR)/.venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt | sha1sum | cut -c1-12)
LAB_STAMP := $(VENV)/.lab-$(shell cat requirements-lab.txt | sha1sum | cut -c1-12)
EVCXR_VERSION := 0.22.0
EVCXR := $(HOME)/.cargo/bin/evcxr_jupyter
EVCXR_STAMP := $(HOME)/.cargo/.evcxr_jupyter-$(EVCXR_VERSION)
KERNEL := $(VENV)/share/jupyter/kernels/ldm-workbook/kernel.json

# tch finds libtorch through the venv's torch wheel; the venv's python must come first.
export LIBTORCH_USE_PYTORCH := 1
export VIRTUAL_ENV := $(VENV)
export PATH := $(VENV)/bin:$(HOME)/.cargo/bin:$(PATH)

.PHONY: test lab venv build fixtures notebook kernel sandbox-tools rust-test py-test bench clean

venv: $(STAMP)

$(STAMP): requirements.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	@echo "installing Python packages into .venv (torch is about 4.7 GB; once only)"
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	@rm -f $(VENV)/.installed-* && touch $@

$(LAB_STAMP): requirements-lab.txt $(STAMP)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-lab.txt
	@rm -f $(VENV)/.lab-* && touch $@

# The Rust kernel: about 12 minutes to build, so once per machine.
$(EVCXR_STAMP):
	@if [ -x $(EVCXR) ] && cargo install --list | grep -q "^evcxr_jupyter v$(EVCXR_VERSION):"; then \
	  echo "evcxr_jupyter $(EVCXR_VERSION) is installed"; \
	else \
	  echo "building evcxr_jupyter $(EVCXR_VERSION) (about 12 minutes, once)"; \
	  cargo install evcxr_jupyter --version $(EVCXR_VERSION) --locked; \
	fi
	@touch $@

$(KERNEL): $(LAB_STAMP) $(EVCXR_STAMP) tools/install_kernel.py
	$(PY) tools/install_kernel.py

kernel: $(KERNEL)

# The browser test drives Debian's chromium with playwright-core (no browser download).
BROWSER_STAMP := tests/browser/node_modules/.installed
$(BROWSER_STAMP): tests/browser/package-lock.json
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)
	cd tests/browser && npm ci --no-audit --no-fund -q
	@touch $@

build: venv
	cargo build --workspace --all-targets

fixtures: build
	cargo run -q -p grader -- fixtures --seed 0 --out fixtures/public

notebook: build
	cargo run -q -p grader -- notebook -o notebooks/diffusion.ipynb

# The grader's sandbox and its tests use util-linux (unshare, setpriv, prlimit) and procps (pgrep).
sandbox-tools:
	@command -v unshare >/dev/null && command -v setpriv >/dev/null && command -v prlimit >/dev/null && command -v pgrep >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq util-linux procps)

rust-test: build sandbox-tools
	cargo test --workspace -q

# The PyTorch oracle and the notebooks in the real kernel; pytest's summary ends the run.
py-test: venv $(KERNEL) $(BROWSER_STAMP) build
	$(PY) -m pytest -q

test: rust-test py-test

# tch against PyTorch on the same Unet, weights and inputs (about 15 minutes of a quiet
# machine; not part of `make test`). ARGS="--quick" for a smoke test, "--json FILE" to keep it.
bench: venv
	cargo run -q --release -p bench -- $(ARGS)

lab: $(KERNEL) build
	cd notebooks && $(VENV)/bin/jupyter lab diffusion.ipynb

clean:
	cargo clean
