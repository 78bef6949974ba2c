//! Check cells: run the student's code on the public fixtures and explain any
//! difference: parameter names (with the nearest expected one), shapes, the worst
//! element, NaN or Inf. An unfinished `todo!()` reads "not implemented yet".

use crate::compare::{compare, Comparison, TOLERANCE};
use crate::fixture::{list, Fixture};
use anyhow::{anyhow, Result};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use tch::{nn::VarStore, Tensor};

/// What a runner returns: named outputs, compared with the fixture's `out.*`.
pub type Outputs = Vec<(&'static str, Tensor)>;

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Passed { cases: usize, worst_error: f64 },
    Failed { case: String, reason: String },
    NotImplemented { detail: String },
    NoFixtures { folder: String },
}

impl Verdict {
    pub fn passed(&self) -> bool {
        matches!(self, Verdict::Passed { .. })
    }
    pub fn short(&self) -> &'static str {
        match self {
            Verdict::Passed { .. } => "passed",
            Verdict::Failed { .. } => "failed",
            Verdict::NotImplemented { .. } => "not implemented yet",
            Verdict::NoFixtures { .. } => "no fixtures",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Passed { cases, worst_error } => write!(
                f,
                "passed: {cases} cases, worst normwise relative error {worst_error:.1e} (at most {TOLERANCE:.0e} passes)"
            ),
            Verdict::Failed { case, reason } => write!(f, "failed on case `{case}`: {reason}"),
            Verdict::NotImplemented { detail } => write!(f, "not implemented yet ({detail})"),
            Verdict::NoFixtures { folder } => write!(f, "no fixtures found in {folder}"),
        }
    }
}

/// The public fixtures folder: $WORKBOOK_FIXTURES, else `fixtures/public` found
/// from the working directory upwards (notebooks run in `notebooks/`).
pub fn fixtures_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("WORKBOOK_FIXTURES") {
        return PathBuf::from(dir);
    }
    let mut here = std::env::current_dir().unwrap_or_default();
    loop {
        let candidate = here.join("fixtures/public");
        if candidate.is_dir() || !here.pop() {
            return candidate;
        }
    }
}

/// The fixtures of one exercise in `dir`.
pub fn fixtures_for(exercise: &str, dir: &Path) -> Result<Vec<Fixture>> {
    list(dir)?
        .iter()
        .map(|p| Fixture::load(p))
        .filter(|f| f.as_ref().map_or(true, |f| f.exercise == exercise))
        .collect()
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_string())
}

/// Runs `f`, turning a panic into an error and keeping the default hook quiet meanwhile.
pub fn run_caught<T>(f: impl FnOnce() -> Result<T>) -> std::result::Result<Result<T>, String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let out = catch_unwind(AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    out.map_err(|p| panic_text(p.as_ref()))
}

/// Runs `runner` on every fixture of `exercise` and compares its outputs.
pub fn check_with(exercise: &str, dir: &Path, runner: impl Fn(&Fixture) -> Result<Outputs>) -> Verdict {
    let fixtures = match fixtures_for(exercise, dir) {
        Ok(f) if !f.is_empty() => f,
        Ok(_) => return Verdict::NoFixtures { folder: dir.display().to_string() },
        Err(e) => return Verdict::Failed { case: "-".into(), reason: format!("{e:#}") },
    };
    let mut worst: f64 = 0.0;
    for fixture in &fixtures {
        let case = fixture.extra.get("case").cloned().unwrap_or_else(|| fixture.name.clone());
        let outputs = match run_caught(|| runner(fixture)) {
            Err(msg) if msg.contains("not yet implemented") => return Verdict::NotImplemented { detail: msg },
            Err(msg) => return Verdict::Failed { case, reason: format!("your code panicked: {}", first_lines(&msg, 4)) },
            Ok(Err(e)) => return Verdict::Failed { case, reason: format!("{e:#}") },
            Ok(Ok(outputs)) => outputs,
        };
        for (name, expected) in &fixture.outputs {
            let Some((_, got)) = outputs.iter().find(|(n, _)| n == name) else {
                return Verdict::Failed { case, reason: format!("no output `{name}` was returned") };
            };
            match compare(got, expected) {
                Comparison::Close { error } => worst = worst.max(error),
                other => return Verdict::Failed { case, reason: format!("output `{name}`: {other}") },
            }
        }
    }
    Verdict::Passed { cases: fixtures.len(), worst_error: worst }
}

fn first_lines(s: &str, n: usize) -> String {
    s.lines().take(n).collect::<Vec<_>>().join("\n    ")
}

/// Copies the fixture's `param.*` into `vs`, or explains every name that does not fit.
pub fn load_params(vs: &VarStore, fixture: &Fixture) -> Result<()> {
    let ours: HashMap<String, Tensor> = vs.variables();
    let problems = param_problems(&ours, &fixture.params);
    if !problems.is_empty() {
        return Err(anyhow!("your parameters do not match the PyTorch state_dict:\n  - {}", problems.join("\n  - ")));
    }
    tch::no_grad(|| {
        for (name, t) in &fixture.params {
            ours[name].shallow_clone().copy_(t);
        }
    });
    Ok(())
}

/// Missing, unexpected and mis-shaped names, each with the nearest expected name.
pub fn param_problems(ours: &HashMap<String, Tensor>, expected: &BTreeMap<String, Tensor>) -> Vec<String> {
    let nearest = |name: &str, pool: &mut dyn Iterator<Item = &String>| {
        pool.min_by_key(|c| strsim::levenshtein(name, c)).map(|c| format!(" (nearest: `{c}`)")).unwrap_or_default()
    };
    let mut out = Vec::new();
    for (name, t) in expected {
        match ours.get(name) {
            None => {
                let hint = nearest(name, &mut ours.keys().filter(|k| !expected.contains_key(*k)));
                out.push(format!("missing parameter `{name}` of shape {:?}{hint}", t.size()));
            }
            Some(mine) if mine.size() != t.size() => {
                out.push(format!("parameter `{name}` has shape {:?}, expected {:?}", mine.size(), t.size()))
            }
            Some(_) => {}
        }
    }
    let mut extra: Vec<&String> = ours.keys().filter(|k| !expected.contains_key(*k)).collect();
    extra.sort();
    for name in extra {
        let hint = nearest(name, &mut expected.keys().filter(|k| !ours.contains_key(*k)));
        out.push(format!("unexpected parameter `{name}`{hint}"));
    }
    out
}

/// The check cell's entry point: prints the verdict and records it for `progress()`.
pub fn check(exercise: &str, runner: impl Fn(&Fixture) -> Result<Outputs>) -> Verdict {
    let verdict = check_with(exercise, &fixtures_dir(), runner);
    let mark = if verdict.passed() { "✔" } else if matches!(verdict, Verdict::NotImplemented { .. }) { "○" } else { "✘" };
    println!("{mark} {exercise}: {verdict}");
    crate::progress::record(exercise, &verdict);
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{nn, Device};

    #[test]
    fn names_missing_unexpected_and_misshaped_parameters_with_the_nearest_name() {
        let vs = VarStore::new(Device::Cpu);
        let _a = nn::linear(vs.root() / "to_out", 4, 2, Default::default());
        let _b = nn::linear(vs.root() / "to_k", 3, 8, nn::LinearConfig { bias: false, ..Default::default() });
        let mut expected = BTreeMap::new();
        expected.insert("to_out.0.weight".to_string(), Tensor::zeros([2, 4], (tch::Kind::Float, Device::Cpu)));
        expected.insert("to_out.0.bias".to_string(), Tensor::zeros([2], (tch::Kind::Float, Device::Cpu)));
        expected.insert("to_k.weight".to_string(), Tensor::zeros([8, 5], (tch::Kind::Float, Device::Cpu)));
        let p = param_problems(&vs.variables(), &expected);
        assert!(p.contains(&"missing parameter `to_out.0.weight` of shape [2, 4] (nearest: `to_out.weight`)".to_string()), "{p:?}");
        assert!(p.contains(&"parameter `to_k.weight` has shape [8, 3], expected [8, 5]".to_string()), "{p:?}");
        assert!(p.iter().any(|s| s.starts_with("unexpected parameter `to_out.bias`")), "{p:?}");
    }

    #[test]
    fn todo_reads_not_implemented_and_other_panics_fail() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/public");
        let v = check_with("feed_forward", &dir, |_| todo!());
        assert!(matches!(v, Verdict::NotImplemented { .. }), "{v}");
        let v = check_with("feed_forward", &dir, |_| panic!("index out of range"));
        assert!(matches!(&v, Verdict::Failed { reason, .. } if reason.contains("index out of range")), "{v}");
        let v = check_with("feed_forward", &dir, |f| Ok(vec![("y", f.output("y")?.shallow_clone() * 1.01)]));
        assert!(matches!(&v, Verdict::Failed { reason, .. } if reason.contains("worst element")), "{v}");
        let v = check_with("feed_forward", &dir, |f| Ok(vec![("y", f.output("y")?.shallow_clone())]));
        assert!(matches!(v, Verdict::Passed { cases: 2, .. }), "{v}");
    }
}
