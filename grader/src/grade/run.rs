//! One exercise of one submission: hidden inputs into an empty folder, the child
//! runs sandboxed, its outputs are compared here with the expected ones.

use super::exercises::{Graded, ANSWER_FUNCTIONS};
use super::sandbox::{Exit, Outcome};
use super::{Grader, TestResult};
use anyhow::{Context, Result};
use std::path::Path;
use workbook::compare::{compare, Comparison};
use workbook::fixture::Fixture;

pub fn run_exercise(grader: &Grader, g: &Graded, binary: &Path, dir: &Path) -> TestResult {
    let points = grader.options.points.get(g.id).copied().unwrap_or(g.points);
    match try_run(grader, g, binary, dir, points) {
        Ok(t) => t,
        Err(e) => TestResult::failed(g.id, points, format!("the grader could not run this exercise: {e:#}")),
    }
}

fn fresh_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir.join("inputs"))?;
    std::fs::create_dir_all(dir.join("outputs"))?;
    Ok(())
}

fn try_run(grader: &Grader, g: &Graded, binary: &Path, dir: &Path, points: f64) -> Result<TestResult> {
    let run_dir = dir.join(format!("run-{}", g.id));
    fresh_dir(&run_dir)?;
    let cases = grader.hidden.get(g.id).map(Vec::as_slice).unwrap_or(&[]);
    for case in cases {
        std::fs::write(run_dir.join("inputs").join(format!("{}.safetensors", case.name)), &case.input)?;
    }
    // The first run of a grading session also settles the sandbox's mode (a probe run here).
    let outcome = grader.sandbox.run(binary, &["run", g.id], &run_dir)?;
    let limit = grader.options.limits.wall_seconds;
    let test = if g.runner.is_some() { judge_cases(g, cases, &run_dir, &outcome, points, limit) } else { judge_answers(g, &run_dir, &outcome, points, limit) };
    let _ = std::fs::remove_dir_all(&run_dir);
    Ok(test)
}

/// What the child's exit says when it produced no verdict for a case.
fn exit_reason(outcome: &Outcome, limit: f64) -> Option<String> {
    let tail = |s: &str| s.lines().rev().take(6).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n    ");
    match &outcome.exit {
        Exit::Code(0) => None,
        Exit::TimedOut => Some(format!("stopped after the time limit of {limit:.0} s (an infinite loop?)")),
        Exit::Signal(9) => Some("killed (signal 9): over a limit (memory, CPU time or processes)".into()),
        Exit::Signal(s) => Some(format!("crashed (signal {s}; 6 is an abort, often out of memory; 11 a segmentation fault)\n    {}", tail(&outcome.stderr))),
        Exit::Code(c) => Some(format!("exited with status {c}\n    {}", tail(&outcome.stderr))),
    }
}

fn not_implemented(msg: &str) -> bool {
    msg.contains("not yet implemented") || msg.contains("not implemented")
}

fn judge_cases(g: &Graded, cases: &[super::HiddenCase], run_dir: &Path, outcome: &Outcome, points: f64, limit: f64) -> TestResult {
    let mut worst: f64 = 0.0;
    for case in cases {
        let out = run_dir.join("outputs");
        if let Ok(msg) = std::fs::read_to_string(out.join(format!("{}.error", case.name))) {
            if not_implemented(&msg) {
                return TestResult::failed(g.id, points, "not implemented yet".into());
            }
            return TestResult::failed(g.id, points, format!("hidden case `{}`: {}", case.name, first_lines(&msg, 8)));
        }
        let got = match Fixture::load(&out.join(format!("{}.safetensors", case.name))) {
            Ok(f) => f,
            Err(e) => {
                let why = exit_reason(outcome, limit).unwrap_or_else(|| format!("no readable output ({e:#})"));
                return TestResult::failed(g.id, points, format!("hidden case `{}`: {why}", case.name));
            }
        };
        let expected = match Fixture::from_bytes(&case.expected, &case.name) {
            Ok(f) => f,
            Err(e) => return TestResult::failed(g.id, points, format!("grader error: {e:#}")),
        };
        for (name, want) in &expected.outputs {
            let Some(have) = got.outputs.get(name) else {
                return TestResult::failed(g.id, points, format!("hidden case `{}`: no output `{name}` was returned", case.name));
            };
            match compare(have, want) {
                Comparison::Close { error } => worst = worst.max(error),
                other => return TestResult::failed(g.id, points, format!("hidden case `{}`, output `{name}`: {other}", case.name)),
            }
        }
    }
    TestResult::passed(g.id, points, format!("{} hidden cases, worst normwise relative error {worst:.1e} (at most {:.0e} passes)", cases.len(), workbook::compare::TOLERANCE))
}

fn judge_answers(g: &Graded, run_dir: &Path, outcome: &Outcome, points: f64, limit: f64) -> TestResult {
    let read = std::fs::read_to_string(run_dir.join("outputs/answers.json")).ok().and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
    let Some(answers) = read else {
        let why = exit_reason(outcome, limit).unwrap_or_else(|| "no answers were written".into());
        return TestResult::failed(g.id, points, why);
    };
    let share = points / ANSWER_FUNCTIONS.len() as f64;
    let (mut score, mut lines) = (0.0, Vec::new());
    for (id, _) in ANSWER_FUNCTIONS {
        let entry = &answers[id];
        if let Some(err) = entry["error"].as_str() {
            lines.push(if not_implemented(err) { format!("{id}: not implemented yet") } else { format!("{id}: {}", first_lines(err, 3)) });
            continue;
        }
        let value: f64 = entry["value"].as_str().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN);
        let (ok, msg) = workbook::questions::verdict(id, value);
        if ok {
            score += share;
        }
        lines.push(msg);
    }
    let mut t = TestResult::passed(g.id, points, lines.join("\n"));
    t.score = score;
    t.status = if score >= points { "passed".into() } else { "failed".into() };
    t
}

fn first_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    let more = if lines.len() > n { "\n    ..." } else { "" };
    format!("{}{more}", lines[..lines.len().min(n)].join("\n    "))
}
