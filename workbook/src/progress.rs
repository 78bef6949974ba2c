//! The notebook's progress table: each check records its verdict in
//! `.workbook-progress.json` beside the notebook, and `progress()` prints them all.

use crate::check::Verdict;
use crate::fixture::EXERCISES;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn file() -> PathBuf {
    std::env::var_os("WORKBOOK_PROGRESS").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(".workbook-progress.json"))
}

fn read() -> BTreeMap<String, (String, String)> {
    std::fs::read_to_string(file()).ok().and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default()
}

pub fn record(exercise: &str, verdict: &Verdict) {
    let mut all = read();
    all.insert(exercise.to_string(), (verdict.short().to_string(), verdict.to_string()));
    if let Ok(json) = serde_json::to_string_pretty(&all) {
        let _ = std::fs::write(file(), json);
    }
}

/// One line per exercise: what its last check said, or "not checked yet".
pub fn table() -> String {
    let all = read();
    let mut out = String::new();
    let done = EXERCISES.iter().filter(|e| all.get(**e).is_some_and(|(s, _)| s == "passed")).count();
    for ex in EXERCISES {
        let status = all.get(ex).map_or("not checked yet", |(s, _)| s.as_str());
        let mark = match status {
            "passed" => "✔",
            "failed" => "✘",
            _ => "○",
        };
        out.push_str(&format!("{mark} {ex:<22} {status}\n"));
    }
    out.push_str(&format!("{done} of {} exercises passed", EXERCISES.len()));
    out
}

/// Whether the last check of every one of `exercises` passed.
pub fn all_passed(exercises: &[&str]) -> bool {
    let all = read();
    exercises.iter().all(|e| all.get(*e).is_some_and(|(s, _)| s == "passed"))
}

pub fn progress() {
    println!("{}", table());
}
