//! The student notebook is exactly what the template and the reference make, so the
//! notebook and the answer key cannot drift apart; and its structure is what the
//! checks and the grader rely on.

use grader::notebook::{self, cell_source, cell_tag, Version};
use grader::regions::reference_regions;
use grader::solve::{build_notebook, repo_root, solve};
use serde_json::Value;
use workbook::fixture::EXERCISES;

const REBUILD: &str = "rebuild it with `make notebook` (cargo run -p grader -- notebook)";

fn committed() -> Value {
    notebook::read(&repo_root().join("notebooks/diffusion.ipynb")).unwrap()
}

fn tags(nb: &Value) -> Vec<(String, String, String)> {
    nb["cells"].as_array().unwrap().iter().filter_map(|c| cell_tag(c).map(|(k, i)| (k, i, cell_source(c)))).collect()
}

#[test]
fn committed_student_notebook_is_what_the_template_and_reference_make() {
    let built = build_notebook(&repo_root(), Version::Student).unwrap();
    let (a, b) = (tags(&committed()), tags(&built));
    assert_eq!(a.len(), b.len(), "cell count differs; {REBUILD}");
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y, "cell {}/{} differs from the reference; {REBUILD}", y.0, y.1);
    }
    assert_eq!(committed(), built, "notebook metadata differs; {REBUILD}");
}

#[test]
fn solving_the_student_notebook_gives_the_solved_build() {
    let regions = reference_regions(&repo_root()).unwrap();
    let solved = solve(&committed(), &regions).unwrap();
    assert_eq!(solved, build_notebook(&repo_root(), Version::Solved).unwrap());
    for (kind, id, src) in tags(&solved).into_iter().filter(|(k, _, _)| k != "text") {
        assert!(!src.contains("todo!()"), "{kind}/{id} still has todo!() after solve");
    }
}

#[test]
fn every_exercise_cell_has_a_stub_and_a_check_follows() {
    let t = tags(&committed());
    for (i, (kind, id, src)) in t.iter().enumerate() {
        if kind != "exercise" {
            continue;
        }
        assert!(src.contains("todo!()"), "exercise {id} has no todo!() in the student version");
        let next = t[i + 1..].iter().find(|(k, _, _)| k != "given" && k != "exercise").expect("a cell after the exercise");
        assert_eq!(next.0, "check", "exercise {id} is followed by {}/{} before any check", next.0, next.1);
    }
    for ex in EXERCISES {
        assert!(t.iter().any(|(k, i, _)| k == "check" && i == ex), "no check cell for {ex}");
    }
}

#[test]
fn no_todo_block_is_longer_than_25_lines() {
    for (key, region) in reference_regions(&repo_root()).unwrap() {
        let mut inside = None;
        for line in &region.lines {
            let t = line.trim();
            if t.starts_with("// @todo") {
                inside = Some(0);
            } else if t == "// @endtodo" {
                let n = inside.take().unwrap_or(0);
                assert!(n <= 25, "{key}: a TODO block of {n} lines");
            } else if let Some(n) = inside.as_mut() {
                *n += 1;
            }
        }
    }
}

#[test]
fn cells_carry_known_kinds_and_unique_exercise_ids() {
    let t = tags(&committed());
    let kinds = ["setup", "given", "exercise", "check", "run", "answer", "question", "text"];
    for (k, id, _) in &t {
        assert!(kinds.contains(&k.as_str()), "cell {id} has unknown kind {k}");
    }
    for kind in ["exercise", "check"] {
        let mut ids: Vec<&String> = t.iter().filter(|(k, _, _)| k == kind).map(|(_, i, _)| i).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate {kind} ids");
    }
    assert_eq!(committed()["metadata"]["kernelspec"]["name"], "ldm-workbook");
}
