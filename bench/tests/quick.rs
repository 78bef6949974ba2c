//! `bench --quick` end to end, as `make test` runs it: both sides start, load the same
//! weights, and agree on every output; the table and the JSON have a row per side.
//! It never looks at a time (the machine may be busy).

use std::path::Path;
use std::process::Command;

#[test]
fn quick_bench_runs_and_every_side_agrees_with_pytorch() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = root.join("../.venv/bin/python");
    assert!(python.exists(), "{} is missing: run `make venv` first (the benchmark's PyTorch side needs it)", python.display());
    let json = std::env::temp_dir().join(format!("bench-quick-test-{}.json", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["--quick", "--threads", "1", "--json"])
        .arg(&json)
        .arg("--python")
        .arg(&python)
        .output()
        .expect("the bench binary starts");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "bench --quick failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("tch-explicit") && stdout.contains("pytorch"), "{stdout}");

    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).expect("the JSON is written")).expect("valid JSON");
    std::fs::remove_file(&json).ok();
    let cases = report["cases"].as_array().expect("cases");
    let ids: Vec<&str> = cases.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["matmul", "course_train", "course_eval", "latent_train", "latent_ddim"]);
    for c in cases {
        let id = c["id"].as_str().unwrap();
        let sides: Vec<&str> = c["rows"].as_array().unwrap().iter().map(|r| r["side"].as_str().unwrap()).collect();
        let expected: &[&str] = if id == "matmul" { &["tch", "pytorch"] } else { &["tch-fused", "tch-explicit", "pytorch"] };
        assert_eq!(sides, expected, "{id}");
        assert!(c["flops"].as_f64().unwrap() > 0.0, "{id}: no FLOP count");
        let agreement = c["agreement"].as_array().unwrap();
        assert!(!agreement.is_empty(), "{id}: nothing was compared");
        for a in agreement {
            assert!(a["passed"].as_bool().unwrap() && a["error"].as_f64().unwrap() <= 1e-4, "{id}: {a}");
        }
    }
    let train = cases.iter().find(|c| c["id"] == "course_train").unwrap();
    let outputs: Vec<&str> = train["agreement"].as_array().unwrap().iter().map(|a| a["output"].as_str().unwrap()).collect();
    for name in ["loss", "grads", "loss_after_adam"] {
        assert!(outputs.contains(&name), "the train step compares `{name}`: {outputs:?}");
    }
}
