//! The answer key passes its own check cells on every public fixture, through the
//! same runners and criterion the notebook and the grader use.

use reference::runners::runner;
use std::path::Path;
use workbook::check::{check_with, Verdict};
use workbook::fixture::EXERCISES;

#[test]
fn the_reference_passes_every_public_check() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/public");
    for ex in EXERCISES {
        let run = runner(ex).expect("a runner per exercise");
        let v = check_with(ex, &dir, run);
        assert!(matches!(v, Verdict::Passed { cases, .. } if cases >= 2), "{ex}: {v}");
    }
}

#[test]
fn the_reference_answers_the_numeric_questions() {
    for (id, _, _, _) in workbook::questions::NUMERIC {
        let got = reference::answers::numeric_answer(id).expect("an answer per question");
        assert!(workbook::questions::verdict(id, got).0, "{id}: {got}");
    }
}
