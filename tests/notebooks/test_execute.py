"""The notebooks run end to end in the real kernel: the solved one with every check
passed and its pictures in the outputs, the student one with "not implemented yet"
in every check and no error anywhere else."""
import json
import shutil
import subprocess
import zipfile

from nbhelpers import EXECUTED, NOTEBOOKS, errors_of, execute, save_images, tag, text_of

SHORT_TRAINING = {"WORKBOOK_TRAIN_SECONDS": "45"}


def test_solved_notebook_runs_clean_and_passes_every_check(grader_bin, tmp_path):
    solved = NOTEBOOKS / "solved.ipynb"
    subprocess.run([str(grader_bin), "solve", str(NOTEBOOKS / "diffusion.ipynb"), "-o", str(solved)], check=True)
    shutil.rmtree(NOTEBOOKS / "artifacts", ignore_errors=True)
    (NOTEBOOKS / "submission.zip").unlink(missing_ok=True)
    env = {**SHORT_TRAINING, "WORKBOOK_PROGRESS": str(tmp_path / "progress.json"), "WORKBOOK_NOTEBOOK": "solved.ipynb"}
    nb = execute(solved, env)
    EXECUTED.mkdir(exist_ok=True)
    (EXECUTED / "solved.executed.ipynb").write_text(json.dumps(nb, indent=1))
    problems = []
    checks = 0
    for cell in nb.cells:
        kind, cid = tag(cell)
        if errors_of(cell):
            problems.append(f"{kind}/{cid}: {text_of(cell)[:400]}")
        if kind == "check":
            checks += 1
            out = text_of(cell)
            if "failed" in out or "not implemented" in out or ("passed" not in out and "is right" not in out):
                problems.append(f"check {cid}: {out[:400]}")
    assert not problems, "\n".join(problems)
    assert checks >= 10
    images = save_images(nb, "solved")
    kinds = {p.name.split("-", 2)[2].rsplit("-", 1)[0] for p in images}
    for wanted in ["plot_schedules", "photo_dissolving", "loss_curve", "samples", "denoising_gif"]:
        assert wanted in kinds, f"no picture from {wanted}; got {sorted(kinds)}"
    with zipfile.ZipFile(NOTEBOOKS / "submission.zip") as z:
        names = set(z.namelist())
        manifest = json.loads(z.read("manifest.json"))
    assert {"notebook.ipynb", "manifest.json", "artifacts/loss.json", "artifacts/samples.png"} <= names, names
    assert len(manifest["notebook_sha256"]) == 64


def test_student_notebook_says_not_implemented_and_runs_everything_else(tmp_path):
    shutil.rmtree(NOTEBOOKS / "artifacts", ignore_errors=True)
    nb = execute(NOTEBOOKS / "diffusion.ipynb", {**SHORT_TRAINING, "WORKBOOK_PROGRESS": str(tmp_path / "progress.json")})
    EXECUTED.mkdir(exist_ok=True)
    (EXECUTED / "student.executed.ipynb").write_text(json.dumps(nb, indent=1))
    problems = []
    for cell in nb.cells:
        kind, cid = tag(cell)
        if errors_of(cell):
            problems.append(f"{kind}/{cid}: {text_of(cell)[:400]}")
        if kind == "check":
            out = text_of(cell)
            if "not implemented yet" not in out or "passed" in out or "failed" in out:
                problems.append(f"check {cid}: {out[:400]}")
    assert not problems, "\n".join(problems)
    save_images(nb, "student")
