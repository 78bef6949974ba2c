"""Helpers for running our notebooks headless through the real evcxr kernel."""
import base64
import json
import os
import subprocess
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
EXECUTED = NOTEBOOKS / "executed"


def execute(path: Path, env: dict, timeout: int = 1800):
    """Runs every cell, errors included (we inspect them), in notebooks/ as a student would."""
    nb = nbformat.read(path, as_version=4)
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="ldm-workbook", allow_errors=True,
                       resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


def tag(cell):
    w = cell.get("metadata", {}).get("workbook", {})
    return w.get("kind"), w.get("id")


def text_of(cell) -> str:
    parts = []
    for o in cell.get("outputs", []):
        if o["output_type"] == "stream":
            parts.append(o["text"] if isinstance(o["text"], str) else "".join(o["text"]))
        elif o["output_type"] == "error":
            parts.append(f"ERROR {o.get('ename')}: {o.get('evalue')}")
        elif "text/plain" in o.get("data", {}):
            parts.append("".join(o["data"]["text/plain"]))
    return "".join(parts)


def errors_of(cell):
    """Error outputs, and evcxr's `Error:` lines that a cell's `?` prints to stderr."""
    errs = [o for o in cell.get("outputs", []) if o["output_type"] == "error"]
    errs += [o for o in cell.get("outputs", []) if o["output_type"] == "stream" and o.get("name") == "stderr"
             and "Error" in (o["text"] if isinstance(o["text"], str) else "".join(o["text"]))]
    return errs


def save_images(nb, prefix: str):
    """Writes every image output to notebooks/executed/, so a person can look at them."""
    EXECUTED.mkdir(exist_ok=True)
    written = []
    for i, cell in enumerate(nb.cells):
        kind, cid = tag(cell)
        for j, o in enumerate(cell.get("outputs", [])):
            data = o.get("data", {})
            for mime, ext in [("image/png", "png"), ("image/gif", "gif"), ("image/svg+xml", "svg")]:
                if mime in data:
                    name = EXECUTED / f"{prefix}-{i:03d}-{cid}-{j}.{ext}"
                    payload = data[mime]
                    if ext == "svg":
                        name.write_text(payload if isinstance(payload, str) else "".join(payload))
                    else:
                        name.write_bytes(base64.b64decode(payload if isinstance(payload, str) else "".join(payload)))
                    written.append(name)
    return written


