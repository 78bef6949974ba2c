"""JupyterLab started as `make lab` starts it (but headless): our kernelspec is listed,
a kernel of it starts and answers, and a browser can run a check cell in the page."""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest
from tornado import gen, ioloop, websocket

from nbhelpers import EXECUTED, NOTEBOOKS, REPO

TOKEN = uuid.uuid4().hex


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(port, path, method="GET", body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"},
                                 data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    # A copy of the notebook in a tree shaped like ours, so JupyterLab's autosave never
    # touches the committed notebook; its `:dep workbook = { path = "../workbook" }` still resolves.
    root = tmp_path_factory.mktemp("lab")
    (root / "notebooks").mkdir()
    shutil.copy(NOTEBOOKS / "diffusion.ipynb", root / "notebooks/diffusion.ipynb")
    for name in ["workbook", "fixtures", "data", "weights"]:
        (root / name).symlink_to(REPO / name)
    port = free_port()
    log = open(root / "lab.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
                             f"--IdentityProvider.token={TOKEN}", "--ServerApp.allow_root=True",
                             f"--ServerApp.root_dir={root}"], cwd=root / "notebooks", stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            api(port, "/api/status")
            break
        except Exception:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("JupyterLab did not answer within 90 s")
    yield port
    proc.terminate()
    proc.wait(timeout=30)


def run_code(port, kernel_id, code, timeout=300):
    """Sends one execute_request over the kernel's websocket and gathers its output."""
    async def go():
        ws = await websocket.websocket_connect(f"ws://127.0.0.1:{port}/api/kernels/{kernel_id}/channels?token={TOKEN}")
        msg_id = uuid.uuid4().hex
        ws.write_message(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test", "session": uuid.uuid4().hex, "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {}, "allow_stdin": False},
        }))
        out = []
        while True:
            raw = await gen.with_timeout(time.time() + timeout, ws.read_message())
            m = json.loads(raw)
            if m.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if m["msg_type"] == "stream":
                out.append(m["content"]["text"])
            if m["msg_type"] in ("execute_result", "display_data"):
                out.append(m["content"]["data"].get("text/plain", ""))
            if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                ws.close()
                return "".join(out)
    return ioloop.IOLoop.current().run_sync(go)


def test_our_kernelspec_is_listed_and_its_kernel_answers(lab):
    specs = api(lab, "/api/kernelspecs")["kernelspecs"]
    assert "ldm-workbook" in specs, sorted(specs)
    assert specs["ldm-workbook"]["spec"]["display_name"] == "Rust (diffusion workbook)"
    kernel = api(lab, "/api/kernels", "POST", {"name": "ldm-workbook"})
    try:
        assert "42" in run_code(lab, kernel["id"], 'println!("{}", 40 + 2);')
    finally:
        api(lab, f"/api/kernels/{kernel['id']}", "DELETE")


def test_a_student_runs_a_check_cell_in_the_browser(lab):
    assert shutil.which("chromium"), "Debian's chromium is missing (make test installs it)"
    EXECUTED.mkdir(exist_ok=True)
    shot = EXECUTED / "browser-check-cell.png"
    url = f"http://127.0.0.1:{lab}/lab/tree/notebooks/diffusion.ipynb?token={TOKEN}"
    # Cells 0..10 of the student notebook end with the first check cell (the numeric answers).
    r = subprocess.run(["node", str(REPO / "tests/browser/student.js"), url, str(shot), "11"],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "alpha_bar_100: not implemented yet" in r.stdout, r.stdout
    assert shot.exists() and shot.stat().st_size > 10_000
