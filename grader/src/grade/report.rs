//! Results: Gradescope's results.json, a text report for people, a CSV row.

use serde::Serialize;
use serde_json::{json, Value};
use std::path::Path;

#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    pub exercise: String,
    pub score: f64,
    pub max_score: f64,
    /// "passed" or "failed", as Gradescope spells them.
    pub status: String,
    pub output: String,
}

impl TestResult {
    pub fn passed(exercise: &str, points: f64, output: String) -> Self {
        TestResult { exercise: exercise.into(), score: points, max_score: points, status: "passed".into(), output }
    }
    pub fn failed(exercise: &str, points: f64, output: String) -> Self {
        TestResult { exercise: exercise.into(), score: 0.0, max_score: points, status: "failed".into(), output }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SubmissionResult {
    pub name: String,
    pub path: String,
    pub tests: Vec<TestResult>,
    /// Open written answers for a person to grade: (id, question, answer).
    pub manual: Vec<(String, String, String)>,
    pub notes: Vec<String>,
    /// Set when the submission could not be read or built at all.
    pub error: Option<String>,
    pub isolation: Option<String>,
    pub seconds: f64,
}

impl SubmissionResult {
    pub fn new(name: &str, path: &Path) -> Self {
        SubmissionResult { name: name.into(), path: path.display().to_string(), tests: vec![], manual: vec![], notes: vec![], error: None, isolation: None, seconds: 0.0 }
    }

    pub fn score(&self) -> f64 {
        self.tests.iter().map(|t| t.score).sum()
    }

    pub fn max_score(&self) -> f64 {
        self.tests.iter().map(|t| t.max_score).sum()
    }

    /// In exercise order, whatever order they were graded in.
    pub fn sort(&mut self) {
        let rank = |id: &str| super::exercises::GRADED.iter().position(|g| g.id == id).unwrap_or(usize::MAX);
        self.tests.sort_by_key(|t| rank(&t.exercise));
    }

    /// Gradescope's format: https://gradescope-autograders.readthedocs.io/en/latest/specs/
    pub fn gradescope(&self) -> Value {
        let mut output = String::new();
        if let Some(e) = &self.error {
            output.push_str(&format!("The submission could not be graded fully: {e}\n\n"));
        }
        for n in &self.notes {
            output.push_str(&format!("Note: {n}\n"));
        }
        if !self.manual.is_empty() {
            output.push_str(&format!("{} written answers are graded by hand.\n", self.manual.len()));
        }
        json!({
            "score": round(self.score()),
            "output": output.trim_end(),
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": self.tests.iter().map(|t| json!({
                "name": t.exercise,
                "score": round(t.score),
                "max_score": t.max_score,
                "status": t.status,
                "output": t.output,
                "visibility": "visible",
            })).collect::<Vec<_>>(),
            "extra_data": {
                "manual_questions": self.manual.iter().map(|(id, q, a)| json!({"id": id, "question": q, "answer": a})).collect::<Vec<_>>(),
                "sandbox": self.isolation,
                "seconds": round(self.seconds),
            },
        })
    }

    pub fn text(&self) -> String {
        let mut s = format!("{}: {} / {}\n", self.name, round(self.score()), self.max_score());
        if let Some(e) = &self.error {
            s.push_str(&format!("  could not be graded fully: {e}\n"));
        }
        for n in &self.notes {
            s.push_str(&format!("  note: {n}\n"));
        }
        for t in &self.tests {
            let mark = if t.status == "passed" { "✔" } else { "✘" };
            s.push_str(&format!("  {mark} {:<16} {:>5} / {:<3} {}\n", t.exercise, round(t.score), t.max_score, indent(&t.output)));
        }
        for (id, question, answer) in &self.manual {
            let answer = if answer.is_empty() { "(no answer)".to_string() } else { answer.clone() };
            s.push_str(&format!("  to grade by hand, `{id}`: {}\n    answer: {}\n", question.lines().next().unwrap_or(""), indent(&answer)));
        }
        s
    }
}

fn indent(s: &str) -> String {
    s.replace('\n', "\n      ")
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// One row per submission: name, score, max, then each exercise's score, then status.
pub fn csv(results: &[SubmissionResult]) -> String {
    let ids: Vec<&str> = super::exercises::GRADED.iter().map(|g| g.id).collect();
    let mut out = format!("submission,score,max_score,{},status\n", ids.join(","));
    for r in results {
        let per: Vec<String> = ids.iter().map(|id| r.tests.iter().find(|t| t.exercise == *id).map_or(String::new(), |t| round(t.score).to_string())).collect();
        let status = if r.error.is_some() { "error" } else { "graded" };
        out.push_str(&format!("{},{},{},{},{status}\n", quote(&r.name), round(r.score()), r.max_score(), per.join(",")));
    }
    out
}

fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradescope_json_has_the_fields_the_spec_names() {
        let mut r = SubmissionResult::new("alice", Path::new("alice.zip"));
        r.tests.push(TestResult::passed("q_sample", 5.0, "ok".into()));
        r.tests.push(TestResult::failed("unet", 20.0, "not implemented yet".into()));
        r.manual.push(("elbo".into(), "**Question 3.**".into(), "Jensen.".into()));
        let j = r.gradescope();
        assert_eq!(j["score"], 5.0);
        assert_eq!(j["tests"][1]["status"], "failed");
        assert_eq!(j["tests"][1]["max_score"], 20.0);
        assert_eq!(j["tests"][0]["visibility"], "visible");
        assert_eq!(j["extra_data"]["manual_questions"][0]["answer"], "Jensen.");
        let c = csv(&[r]);
        assert!(c.starts_with("submission,score,max_score,answer_numbers,feed_forward"), "{c}");
        assert!(c.contains("alice,5,25,,,,,0,,5,,,graded"), "{c}");
    }
}
