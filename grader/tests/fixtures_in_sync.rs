//! The committed public fixtures are exactly what `grader fixtures --seed 0` draws.

use grader::cases::public_cases;
use grader::fixtures::generate;
use std::path::Path;
use workbook::compare::normwise_relative_error;
use workbook::fixture::{list, Fixture, EXERCISES};

const REGENERATE: &str = "regenerate with `make fixtures` (cargo run -p grader -- fixtures --seed 0 --out fixtures/public)";

fn public_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/public")
}

#[test]
fn committed_fixtures_match_what_the_command_draws() {
    let cases = public_cases();
    let files = list(&public_dir()).unwrap();
    let stems: Vec<String> = files.iter().map(|p| p.file_stem().unwrap().to_string_lossy().into_owned()).collect();
    let mut names: Vec<String> = cases.iter().map(|c| c.name.to_string()).collect();
    names.sort();
    assert_eq!(stems, names, "the set of fixture files differs from the cases; {REGENERATE}");
    for case in &cases {
        let fresh = generate(case, 0, true).unwrap();
        let committed = Fixture::load(&public_dir().join(format!("{}.safetensors", case.name))).unwrap();
        assert_eq!(committed.exercise, fresh.exercise, "{}: exercise; {REGENERATE}", case.name);
        assert_eq!(committed.config, fresh.config, "{}: config; {REGENERATE}", case.name);
        assert_eq!(committed.extra, fresh.extra, "{}: metadata; {REGENERATE}", case.name);
        // Weights and inputs are drawn from the seed: bit for bit.
        for (what, a, b) in [("param", &committed.params, &fresh.params), ("in", &committed.inputs, &fresh.inputs)] {
            assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "{}: {what} names; {REGENERATE}", case.name);
            for (k, t) in a {
                assert!(t.equal(&b[k]), "{}: {what}.{k} differs; {REGENERATE}", case.name);
            }
        }
        // Outputs are computed; a libtorch on another CPU may round a reduction differently.
        assert_eq!(committed.outputs.keys().collect::<Vec<_>>(), fresh.outputs.keys().collect::<Vec<_>>());
        for (k, t) in &committed.outputs {
            assert_eq!(t.size(), fresh.outputs[k].size(), "{}: out.{k} shape", case.name);
            let err = normwise_relative_error(&fresh.outputs[k], t);
            assert!(err < 1e-6, "{}: out.{k} differs by {err:e}; {REGENERATE}", case.name);
        }
    }
}

#[test]
fn every_exercise_has_at_least_two_public_cases() {
    let cases = public_cases();
    for ex in EXERCISES {
        let n = cases.iter().filter(|c| c.spec.exercise() == ex).count();
        assert!(n >= 2, "{ex} has {n} public cases");
    }
}

#[test]
fn another_seed_draws_other_weights_and_inputs() {
    let case = &public_cases()[0];
    let (a, b) = (generate(case, 0, true).unwrap(), generate(case, 1, true).unwrap());
    assert!(!a.inputs["x"].equal(&b.inputs["x"]));
    assert!(!a.params["net.0.weight"].equal(&b.params["net.0.weight"]));
    let hidden = generate(case, 1, false).unwrap();
    assert!(hidden.outputs.is_empty(), "hidden fixtures carry no expected outputs");
}
