#!/usr/bin/env bash
# Gradescope runs this once, as root, when the autograder image is built: the Rust
# toolchain, the torch wheel (libtorch), the grader, and one warm-up grading so every
# dependency is compiled before the first student submits.
set -euo pipefail
SRC=/autograder/source
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq build-essential curl python3 python3-venv util-linux
if ! command -v cargo >/dev/null; then
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
fi
export PATH=$HOME/.cargo/bin:$PATH
cd "$SRC"
python3 -m venv .venv
.venv/bin/pip install -q -r requirements.txt
export LIBTORCH_USE_PYTORCH=1 VIRTUAL_ENV=$SRC/.venv PATH=$SRC/.venv/bin:$PATH
cargo build -q -p grader
# The warm-up: the reference solution, graded with a throwaway seed.
target/debug/grader notebook --version solved -o /tmp/solved.ipynb
target/debug/grader grade /tmp/solved.ipynb --seed 1 --out /tmp/warm-up-grades
# Student code runs as nobody: libtorch and the child binaries must be readable by it;
# the seed must not.
chmod -R o+rX "$SRC"
chmod 600 "$SRC/seed"
