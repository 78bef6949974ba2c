//! The crate a submission becomes. The crate root holds the reference's code for
//! every cell (given and solved) and one module per exercise, `ex_<id>`, holding the
//! student's cells for that exercise, the given cells that extend the same types,
//! and its runner. A module sees the root through `use super::*` and its own items
//! shadow the root's, so the student's Unet is built from the reference ResnetBlock:
//! each exercise is graded in isolation and one bug costs once. The crate depends
//! on what the notebook's set-up cell names (workbook, tch, ...), never on `reference`.

use super::exercises::{Graded, ANSWER_FUNCTIONS};
use super::extract::StudentWork;
use crate::notebook::{Cell, Version};
use crate::regions::{reference_regions, Region};
use anyhow::{anyhow, Context, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// The reference side of every submission crate, read once per grading run.
pub struct Reference {
    pub cells: Vec<Cell>,
    pub regions: BTreeMap<String, Region>,
    /// `name = spec` lines for Cargo.toml, from the set-up cell's `:dep` lines.
    pub dependencies: Vec<String>,
    /// The `use` lines of the imports cell.
    pub prelude: String,
    /// The written questions by answer-cell id, for the hand-graded part of the report.
    pub questions: BTreeMap<String, String>,
}

/// Answer cells read `*Your answer to question N.*`; question N is the markdown line
/// `N. ...` or `**Question N.** ...`, with the lines that continue it.
fn questions(cells: &[Cell]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for cell in cells.iter().filter(|c| c.kind == "answer") {
        let Some(n) = cell.source.split("question ").nth(1).and_then(|r| r.split('.').next()) else { continue };
        let starts = [format!("{n}. "), format!("**Question {n}.**")];
        for text in cells.iter().filter(|c| c.cell_type == "markdown" && c.kind != "answer") {
            let lines: Vec<&str> = text.source.lines().collect();
            let Some(at) = lines.iter().position(|l| starts.iter().any(|s| l.trim_start().starts_with(s.as_str()))) else { continue };
            // The question's own lines: up to a blank line or the next numbered item.
            let rest = lines[at + 1..].iter().take_while(|l| !l.trim().is_empty() && !l.trim_start().starts_with(|c: char| c.is_ascii_digit()));
            let question: Vec<&str> = std::iter::once(lines[at]).chain(rest.copied()).map(str::trim).collect();
            out.insert(cell.id.clone(), question.join(" "));
            break;
        }
    }
    out
}

impl Reference {
    pub fn load(repo: &Path) -> Result<Reference> {
        let regions = reference_regions(repo)?;
        let path = crate::solve::template_path(repo);
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let cells = crate::template::build(&text, &regions, Version::Solved)?;
        let cell = |id: &str| cells.iter().find(|c| c.id == id).ok_or_else(|| anyhow!("{}: no `{id}` cell", path.display()));
        let workbook = repo.join("workbook");
        let dependencies = cell("setup")?
            .source
            .lines()
            .filter_map(|l| l.trim().strip_prefix(":dep "))
            .map(|d| d.replace("\"../workbook\"", &format!("{:?}", workbook.display().to_string())))
            .collect();
        let prelude = cell("imports")?.source.lines().filter(|l| l.starts_with("use ")).collect::<Vec<_>>().join("\n");
        let questions = questions(&cells);
        Ok(Reference { cells, regions, dependencies, prelude, questions })
    }

    fn solution(&self, cell_id: &str) -> Result<String> {
        let cell = self.cells.iter().find(|c| c.id == cell_id && c.kind != "check").ok_or_else(|| anyhow!("the template has no cell `{cell_id}`"))?;
        Ok(cell.source.clone())
    }

    fn runner(&self, name: &str) -> Result<String> {
        let key = format!("reference/src/runners.rs#{name}");
        Ok(self.regions.get(&key).ok_or_else(|| anyhow!("no region {key}"))?.solution())
    }
}

/// Where a line of a generated file came from, for compile errors.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub first_line: usize,
    pub last_line: usize,
    /// The notebook cell id for the student's code, or None for code the grader added.
    pub cell: Option<String>,
    pub notebook_index: Option<usize>,
}

#[derive(Debug, Default)]
pub struct Assembled {
    /// Relative path -> text.
    pub files: BTreeMap<String, String>,
    /// Per module file, where each student cell sits.
    pub spans: BTreeMap<String, Vec<Span>>,
}

struct Writer {
    text: String,
    lines: usize,
    spans: Vec<Span>,
}

impl Writer {
    fn new() -> Self {
        Writer { text: String::new(), lines: 0, spans: Vec::new() }
    }
    fn push(&mut self, code: &str, cell: Option<(&str, usize)>) {
        let first = self.lines + 1;
        for line in code.lines() {
            self.text.push_str(line);
            self.text.push('\n');
            self.lines += 1;
        }
        if let Some((id, index)) = cell {
            self.spans.push(Span { first_line: first, last_line: self.lines, cell: Some(id.to_string()), notebook_index: Some(index) });
        }
    }
}

/// The crate for `work`, with a module for each exercise in `modules`.
pub fn assemble(reference: &Reference, work: &StudentWork, modules: &[&Graded], package: &str) -> Result<Assembled> {
    let mut out = Assembled::default();
    let deps = reference.dependencies.join("\n");
    out.files.insert(
        "Cargo.toml".into(),
        format!(
            "[package]\nname = \"{package}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n{deps}\n\n\
             [profile.dev]\nopt-level = 1\n\n[workspace]\n"
        ),
    );
    let mut root = Writer::new();
    root.push("#![allow(warnings)]", None);
    root.push(&reference.prelude, None);
    for cell in &reference.cells {
        if cell.cell_type == "code" && cell.source_ref.is_some() && (cell.kind == "given" || cell.kind == "exercise") {
            root.push(&format!("// ---- reference: {}", cell.id), None);
            root.push(&cell.source, None);
        }
    }
    for g in modules {
        root.push(&format!("mod ex_{};", g.id), None);
    }
    root.push(&main_fn(modules), None);
    out.files.insert("src/main.rs".into(), root.text);

    for g in modules {
        let mut m = Writer::new();
        m.push("use super::*;", None);
        for companion in g.companions {
            m.push(&format!("// ---- given: {companion}"), None);
            m.push(&reference.solution(companion)?, None);
        }
        for id in g.cells {
            let cell = work.cells.get(*id).ok_or_else(|| anyhow!("no cell `{id}`"))?;
            m.push(&format!("// ---- your cell `{id}`"), None);
            m.push(&cell.source, Some((id, cell.index)));
        }
        m.push("// ---- the grader's entry", None);
        match g.runner {
            Some(runner) => {
                m.push(&reference.runner(runner)?, None);
                m.push(&format!("pub(crate) fn __grader_entry(f: &Fixture) -> Result<Outputs> {{ {runner}(f) }}"), None);
            }
            None => {
                let arms: String = ANSWER_FUNCTIONS.iter().map(|(q, f)| format!("\"{q}\" => {f}(), ")).collect();
                m.push(&format!("pub(crate) fn __grader_answer(id: &str) -> f64 {{ match id {{ {arms}_ => f64::NAN }} }}"), None);
            }
        }
        let file = format!("src/ex_{}.rs", g.id);
        out.spans.insert(file.clone(), m.spans);
        out.files.insert(file, m.text);
    }
    Ok(out)
}

/// The child's main: `probe`, or `run EXERCISE` in a folder holding `inputs/*.safetensors`;
/// it writes `outputs/<case>.safetensors` or `outputs/<case>.error`.
fn main_fn(modules: &[&Graded]) -> String {
    let arms: String = modules
        .iter()
        .map(|g| match g.runner {
            Some(_) => format!("        \"{0}\" => __grader_child::run_cases(ex_{0}::__grader_entry),\n", g.id),
            None => format!("        \"{0}\" => __grader_child::run_answers(ex_{0}::__grader_answer),\n", g.id),
        })
        .collect();
    format!(
        "const __GRADER_ANSWERS: [&str; {}] = [{}];\n\nfn main() {{\n    let args: Vec<String> = std::env::args().collect();\n    tch::set_num_threads(1);\n    \
         let code = match args.get(1).map(String::as_str) {{\n        Some(\"probe\") => {{ println!(\"grader-child ok\"); 0 }}\n        \
         Some(\"run\") => match args.get(2).map(String::as_str).unwrap_or(\"\") {{\n{arms}        other => {{ eprintln!(\"no exercise {{other}}\"); 3 }}\n        }},\n        \
         _ => 3,\n    }};\n    std::process::exit(code);\n}}\n\n{}",
        ANSWER_FUNCTIONS.len(),
        ANSWER_FUNCTIONS.iter().map(|(id, _)| format!("{id:?}")).collect::<Vec<_>>().join(", "),
        CHILD_SUPPORT
    )
}

const CHILD_SUPPORT: &str = r#"mod __grader_child {
    use super::*;
    use std::path::Path;

    fn write_error(out: &Path, case: &str, msg: &str) {
        let _ = std::fs::write(out.join(format!("{case}.error")), msg);
    }

    pub fn run_cases(entry: fn(&Fixture) -> Result<Outputs>) -> i32 {
        let out = Path::new("outputs");
        let mut inputs: Vec<_> = match std::fs::read_dir("inputs") {
            Ok(d) => d.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(e) => { eprintln!("no inputs: {e}"); return 3; }
        };
        inputs.sort();
        for path in inputs {
            let case = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            let fixture = match Fixture::load(&path) {
                Ok(f) => f,
                Err(e) => { write_error(out, &case, &format!("grader: {e:#}")); continue; }
            };
            match workbook::check::run_caught(|| entry(&fixture)) {
                Err(panic) => write_error(out, &case, &format!("panic: {panic}")),
                Ok(Err(e)) => write_error(out, &case, &format!("error: {e:#}")),
                Ok(Ok(outputs)) => {
                    let mut result = Fixture::new(&case, &fixture.exercise, serde_json::json!({}));
                    for (name, t) in outputs {
                        result.outputs.insert(name.to_string(), t.detach().to_kind(Kind::Float).contiguous());
                    }
                    if let Err(e) = result.save(&out.join(format!("{case}.safetensors"))) {
                        write_error(out, &case, &format!("error: {e:#}"));
                    }
                }
            }
        }
        0
    }

    pub fn run_answers(answer: fn(&str) -> f64) -> i32 {
        let mut report = serde_json::Map::new();
        for id in super::__GRADER_ANSWERS {
            let value = match workbook::check::run_caught(|| Ok(answer(id))) {
                Ok(Ok(v)) => serde_json::json!({ "value": v.to_string() }),
                Ok(Err(e)) => serde_json::json!({ "error": format!("error: {e:#}") }),
                Err(panic) => serde_json::json!({ "error": format!("panic: {panic}") }),
            };
            report.insert(id.to_string(), value);
        }
        match std::fs::write("outputs/answers.json", serde_json::Value::Object(report).to_string()) {
            Ok(()) => 0,
            Err(e) => { eprintln!("cannot write answers: {e}"); 3 }
        }
    }
}
"#;
