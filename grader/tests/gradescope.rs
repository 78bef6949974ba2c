//! The Gradescope bundle, and its run_autograder against a fake /autograder tree:
//! results.json is always written, also when the submission or the grader fails.

use grader::notebook::Version;
use grader::solve::{build_notebook, repo_root};
use serde_json::Value;
use std::io::Read;
use std::path::Path;
use std::process::Command;

fn fake_tree(root: &Path, files: &[(&str, &[u8])]) {
    let _ = std::fs::remove_dir_all(root);
    std::fs::create_dir_all(root.join("source")).unwrap();
    std::fs::create_dir_all(root.join("submission")).unwrap();
    std::fs::write(root.join("source/seed"), "8675309\n").unwrap();
    for (name, data) in files {
        std::fs::write(root.join("submission").join(name), data).unwrap();
    }
}

fn run_autograder(root: &Path, grader: &str) -> Value {
    let script = repo_root().join("grader/gradescope/run_autograder");
    let run = Command::new("bash").arg(script).env("AUTOGRADER_ROOT", root).env("GRADER_BIN", grader).output().unwrap();
    assert!(run.status.success(), "run_autograder must always exit 0: {}\n{}", run.status, String::from_utf8_lossy(&run.stdout));
    let text = std::fs::read_to_string(root.join("results/results.json")).expect("results.json is always written");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("results.json is not JSON ({e}): {text}"))
}

#[test]
fn the_bundle_holds_the_scripts_the_sources_and_a_private_seed() {
    let out = std::env::temp_dir().join(format!("autograder-{}.zip", std::process::id()));
    let seed = grader::gradescope::bundle(&repo_root(), &out, Some(424242)).unwrap();
    assert_eq!(seed, 424242);
    let mut z = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
    for name in ["setup.sh", "run_autograder", "Cargo.toml", "Cargo.lock", "requirements.txt", "grader/src/main.rs", "reference/src/unet.rs", "workbook/src/lib.rs"] {
        assert!(z.by_name(name).is_ok(), "{name} missing from the bundle");
    }
    assert_eq!(z.by_name("run_autograder").unwrap().unix_mode().unwrap() & 0o111, 0o111);
    assert_eq!(z.by_name("seed").unwrap().unix_mode().unwrap() & 0o077, 0, "the seed must be private to root");
    let mut s = String::new();
    z.by_name("seed").unwrap().read_to_string(&mut s).unwrap();
    assert_eq!(s.trim(), "424242");
    assert!(z.by_name("target/debug/grader").is_err() && z.by_name(".venv/bin/python").is_err());
    let _ = std::fs::remove_file(out);
}

#[test]
fn run_autograder_always_writes_results_json() {
    let base = std::env::temp_dir().join(format!("fake-autograder-{}", std::process::id()));
    let grader = env!("CARGO_BIN_EXE_grader");
    let solved = serde_json::to_vec(&build_notebook(&repo_root(), Version::Solved).unwrap()).unwrap();

    fake_tree(&base, &[("notebook.ipynb", &solved), ("manifest.json", b"{}")]);
    let r = run_autograder(&base, grader);
    assert_eq!(r["score"], 100.0, "{r:#}");
    assert_eq!(r["tests"].as_array().unwrap().len(), 9);

    fake_tree(&base, &[("mine.ipynb", b"this is not a notebook")]);
    let r = run_autograder(&base, grader);
    assert_eq!(r["score"], 0.0);
    assert!(r["output"].as_str().unwrap().contains("not a JSON notebook"), "{r:#}");

    fake_tree(&base, &[]);
    let r = run_autograder(&base, grader);
    assert_eq!(r["score"], 0.0);
    assert!(r["output"].as_str().unwrap().contains("expected one notebook"), "{r:#}");

    // The grader itself broken: the script's own fallback.
    fake_tree(&base, &[("notebook.ipynb", &solved)]);
    let r = run_autograder(&base, "/bin/false");
    assert_eq!(r["score"], 0.0);
    assert!(r["output"].as_str().unwrap().contains("autograder failed"), "{r:#}");
    let _ = std::fs::remove_dir_all(&base);
}
