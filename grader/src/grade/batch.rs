//! Many submissions: `--jobs` at a time, a progress bar, one folder of results per
//! submission and a CSV. One submission's failure is one row, never the batch's.

use super::intake::Submission;
use super::{Grader, SubmissionResult};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

pub fn grade_all(grader: &Grader, subs: &[Submission], jobs: usize, show_progress: bool) -> Vec<SubmissionResult> {
    let bar = if show_progress { ProgressBar::new(subs.len() as u64) } else { ProgressBar::hidden() };
    if let Ok(style) = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} submissions  ETA {eta}  {msg}") {
        bar.set_style(style);
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<SubmissionResult>>> = Mutex::new((0..subs.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1).min(subs.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(sub) = subs.get(i) else { break };
                bar.set_message(sub.name.clone());
                // A panic in the grader's own code for one submission becomes its row.
                let graded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| grader.grade(sub, i)));
                let mut r = graded.unwrap_or_else(|p| {
                    let mut r = SubmissionResult::new(&sub.name, &sub.path);
                    let why = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
                    r.error = Some(format!("the grader failed on this submission: {why}"));
                    r
                });
                r.sort();
                results.lock().expect("results lock")[i] = Some(r);
                bar.inc(1);
            });
        }
    });
    bar.finish_and_clear();
    results.into_inner().expect("results lock").into_iter().flatten().collect()
}

/// `<out>/<name>/results.json` and `report.txt` per submission, `<out>/summary.csv`.
pub fn write_all(results: &[SubmissionResult], out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    for r in results {
        let dir = out.join(&r.name);
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        std::fs::write(dir.join("results.json"), serde_json::to_string_pretty(&r.gradescope())? + "\n")?;
        std::fs::write(dir.join("report.txt"), r.text())?;
    }
    std::fs::write(out.join("summary.csv"), super::report::csv(results)).with_context(|| format!("cannot write {}/summary.csv", out.display()))
}
