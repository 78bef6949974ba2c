//! `grader grade`: read a submission, build its code with the reference beside
//! each exercise, run it sandboxed on hidden fixtures drawn from a secret seed,
//! compare with the notebook's own criterion, and report.

pub mod assemble;
pub mod batch;
pub mod compile;
pub mod exercises;
pub mod extract;
pub mod intake;
pub mod report;
pub mod run;
pub mod sandbox;

use anyhow::{Context, Result};
use assemble::Reference;
use compile::Builder;
use exercises::{Graded, GRADED};
use sandbox::{Limits, Sandbox};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub use report::{SubmissionResult, TestResult};

#[derive(Debug, Clone)]
pub struct Options {
    pub seed: u64,
    pub points: BTreeMap<&'static str, f64>,
    pub limits: Limits,
    /// Submission crates, binaries and the children's folders.
    pub work_dir: PathBuf,
    /// Shared by every submission's build, so dependencies compile once.
    pub target_dir: PathBuf,
}

/// One hidden case: the child's input file, and the expected outputs kept here.
pub struct HiddenCase {
    pub name: String,
    pub input: Vec<u8>,
    pub expected: Vec<u8>,
}

pub struct Grader {
    pub reference: Reference,
    pub builder: Builder,
    pub sandbox: Sandbox,
    pub hidden: BTreeMap<&'static str, Vec<HiddenCase>>,
    pub options: Options,
}

/// Draws every case from the secret seed; the child's copy has no outputs and no seed.
fn hidden_cases(seed: u64) -> Result<BTreeMap<&'static str, Vec<HiddenCase>>> {
    let mut out: BTreeMap<&'static str, Vec<HiddenCase>> = BTreeMap::new();
    for case in crate::cases::public_cases() {
        let full = crate::fixtures::generate(&case, seed, true)?;
        let mut input = workbook::fixture::Fixture::new(case.name, &full.exercise, full.config.clone());
        input.params = full.params.iter().map(|(k, v)| (k.clone(), v.shallow_clone())).collect();
        input.inputs = full.inputs.iter().map(|(k, v)| (k.clone(), v.shallow_clone())).collect();
        out.entry(case.spec.exercise()).or_default().push(HiddenCase { name: case.name.to_string(), input: input.to_bytes()?, expected: full.to_bytes()? });
    }
    Ok(out)
}

impl Grader {
    pub fn new(repo: &Path, options: Options) -> Result<Grader> {
        let reference = Reference::load(repo)?;
        std::fs::create_dir_all(&options.work_dir).with_context(|| format!("cannot create {}", options.work_dir.display()))?;
        let builder = Builder {
            target_dir: options.target_dir.clone(),
            lockfile: repo.join("Cargo.lock"),
            repo: repo.to_path_buf(),
        };
        let hidden = hidden_cases(options.seed).context("drawing the hidden fixtures")?;
        Ok(Grader { reference, builder, sandbox: Sandbox::new(options.limits.clone()), hidden, options })
    }

    pub fn max_score(&self) -> f64 {
        self.options.points.values().sum()
    }

    fn points(&self, g: &Graded) -> f64 {
        self.options.points.get(g.id).copied().unwrap_or(g.points)
    }

    /// Grades one submission; whatever goes wrong is written into its result.
    pub fn grade(&self, sub: &intake::Submission, slot: usize) -> SubmissionResult {
        let started = Instant::now();
        let mut result = SubmissionResult::new(&sub.name, &sub.path);
        let dir = self.options.work_dir.join(format!("{slot:04}-{}", sanitize(&sub.name)));
        let graded = self.grade_inner(sub, &dir, slot, &mut result);
        // The crate, the binary and the children's folders, whether grading got through or not.
        let _ = std::fs::remove_dir_all(&dir);
        match graded {
            Ok(()) => {}
            Err(e) => {
                let why = format!("{e:#}");
                result.error = Some(why.clone());
                for g in &GRADED {
                    if !result.tests.iter().any(|t| t.exercise == g.id) {
                        result.tests.push(TestResult::failed(g.id, self.points(g), format!("not graded: {why}")));
                    }
                }
            }
        }
        result.seconds = started.elapsed().as_secs_f64();
        result
    }

    fn grade_inner(&self, sub: &intake::Submission, dir: &Path, slot: usize, result: &mut SubmissionResult) -> Result<()> {
        let nb = intake::read_notebook(&sub.path)?;
        let work = extract::extract(&nb);
        for (id, text) in &work.answers {
            let placeholder = self.reference.cells.iter().any(|c| c.kind == "answer" && c.id == *id && c.source.trim() == text.trim());
            let answer = if placeholder { String::new() } else { text.clone() };
            result.manual.push((id.clone(), self.reference.questions.get(id).cloned().unwrap_or_default(), answer));
        }
        for (id, at) in &work.duplicated {
            let cells: Vec<String> = at.iter().map(|i| (i + 1).to_string()).collect();
            result.notes.push(format!("exercise cell `{id}` appears {} times (notebook cells {}); the last one was graded", at.len(), cells.join(", ")));
        }
        // Exercises that cannot be built are settled before compiling.
        let mut modules: Vec<&Graded> = Vec::new();
        for g in &GRADED {
            let missing: Vec<&str> = g.cells.iter().copied().filter(|c| !work.cells.contains_key(*c)).collect();
            if !missing.is_empty() {
                let msg = format!("the exercise cell(s) {} are missing from the notebook (cells are found by their metadata workbook.id; restore them from a fresh copy of the notebook)", missing.join(", "));
                result.tests.push(TestResult::failed(g.id, self.points(g), msg));
            } else if let Some(why) = g.cells.iter().find_map(|c| compile::forbidden(&work.cells[*c].source).map(|w| format!("cell `{c}`: {w}"))) {
                result.tests.push(TestResult::failed(g.id, self.points(g), why));
            } else {
                modules.push(g);
            }
        }
        let package = format!("submission_{slot:04}_{}", std::process::id());
        let binary_path = dir.join("bin/child");
        let mut binary = None;
        for _attempt in 0..3 {
            if modules.is_empty() {
                break;
            }
            let files = assemble::assemble(&self.reference, &work, &modules, &package)?;
            match self.builder.build(&files, &dir.join("crate"), &package, &binary_path)? {
                Ok(()) => {
                    // The child may read its binary, never the sources beside it.
                    private(&dir.join("crate"))?;
                    binary = Some(binary_path.clone());
                    break;
                }
                Err(errors) => {
                    let failing: Vec<String> = modules.iter().filter(|g| errors.iter().any(|e| e.module.as_deref() == Some(g.id))).map(|g| g.id.to_string()).collect();
                    if failing.is_empty() {
                        anyhow::bail!("the submission's crate does not compile, and no error points into an exercise cell:\n{}", compile::describe(&errors));
                    }
                    for id in &failing {
                        let mine: Vec<compile::CompileError> = errors.iter().filter(|e| e.module.as_deref() == Some(id.as_str())).cloned().collect();
                        let g = exercises::find(id).expect("a graded id");
                        result.tests.push(TestResult::failed(id, self.points(g), format!("compile error:\n{}", compile::describe(&mine))));
                    }
                    modules.retain(|g| !failing.iter().any(|f| f == g.id));
                }
            }
        }
        if let Some(binary) = binary {
            for g in &modules {
                let test = run::run_exercise(self, g, &binary, dir);
                result.tests.push(test);
            }
        } else if !modules.is_empty() {
            anyhow::bail!("the crate still did not compile after setting aside the failing exercises");
        }
        result.isolation = Some(self.sandbox_label());
        Ok(())
    }

    fn sandbox_label(&self) -> String {
        match self.sandbox.isolation_if_known() {
            Some(sandbox::Isolation::Nobody) => "namespaces (network, PID, mount), user nobody, limits".into(),
            Some(sandbox::Isolation::SameUser { why }) => format!("namespaces (network, PID, mount) as the grader's user, limits; not nobody because {why}"),
            Some(sandbox::Isolation::LimitsOnly { why }) => format!("limits only, no namespaces ({why})"),
            None => "not started".into(),
        }
    }
}

fn private(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).with_context(|| format!("cannot restrict {}", dir.display()))
}

fn sanitize(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).take(60).collect()
}
