"""Writes our kernelspec, "Rust (diffusion workbook)", into the venv's Jupyter data
folder, with the environment the evcxr kernel needs to build and load tch cells:
libtorch and the Rust standard library on LD_LIBRARY_PATH, the venv's python first on
PATH (torch-sys asks it where torch is), and a fixed build folder reused across sessions.
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import torch

repo = Path(__file__).resolve().parent.parent
venv = Path(sys.prefix)
evcxr = shutil.which("evcxr_jupyter") or str(Path.home() / ".cargo/bin/evcxr_jupyter")
if not Path(evcxr).exists():
    sys.exit(f"evcxr_jupyter not found (looked on PATH and in {evcxr}); run `make kernel`")
rust_lib = subprocess.check_output(["rustc", "--print", "target-libdir"], text=True).strip()
torch_lib = Path(torch.__file__).parent / "lib"
cargo_bin = Path(shutil.which("cargo")).parent
build_dir = Path.home() / ".cache/ldm-workbook/evcxr"  # outside the workspace: cargo must not see our Cargo.toml
build_dir.mkdir(parents=True, exist_ok=True)

spec = {
    "argv": [evcxr, "--control_file", "{connection_file}"],
    "display_name": "Rust (diffusion workbook)",
    "language": "rust",
    "interrupt_mode": "message",
    "env": {
        "LD_LIBRARY_PATH": f"{torch_lib}:{rust_lib}",
        "LIBTORCH_USE_PYTORCH": "1",
        "VIRTUAL_ENV": str(venv),
        "PATH": f"{venv / 'bin'}:{cargo_bin}:/usr/local/bin:/usr/bin:/bin",
        "EVCXR_TMPDIR": str(build_dir),
        "WORKBOOK_FIXTURES": str(repo / "fixtures/public"),
    },
}
target = venv / "share/jupyter/kernels/ldm-workbook"
target.mkdir(parents=True, exist_ok=True)
(target / "kernel.json").write_text(json.dumps(spec, indent=2) + "\n")
print(f"kernelspec ldm-workbook written to {target}")
