//! Building a submission crate offline in a shared target folder (dependencies
//! compile once), and mapping compiler errors back to notebook cells and lines.
//! A module that fails to compile is dropped and the crate rebuilt, so a compile
//! error costs only its own exercise.

use super::assemble::{Assembled, Span};
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Environment variables cargo and the compiler may see; everything else (a
/// `GRADER_SEED`, say) stays out of reach of `env!` in student code.
const PASS_ENV: [&str; 12] = [
    "PATH", "HOME", "CARGO_HOME", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN", "LIBTORCH", "LIBTORCH_USE_PYTORCH", "LIBTORCH_LIB",
    "LIBTORCH_INCLUDE", "LIBTORCH_BYPASS_VERSION_CHECK", "VIRTUAL_ENV", "TORCH_CUDA_VERSION",
];

pub struct Builder {
    pub target_dir: PathBuf,
    /// The repository, whose `.venv` holds the torch wheel libtorch comes from.
    pub repo: PathBuf,
    pub lockfile: PathBuf,
}

/// A compile error, attributed to a module (an exercise) when its spans say so.
#[derive(Debug, Clone)]
pub struct CompileError {
    pub module: Option<String>,
    pub message: String,
}

impl Builder {
    fn command(&self, dir: &Path) -> Command {
        let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        cmd.env_clear();
        for key in PASS_ENV {
            if let Some(v) = std::env::var_os(key) {
                cmd.env(key, v);
            }
        }
        // As the Makefile builds, so the shared target folder's dependencies are reused.
        let venv = self.repo.join(".venv");
        if std::env::var_os("LIBTORCH").is_none() && std::env::var_os("LIBTORCH_USE_PYTORCH").is_none() {
            cmd.env("LIBTORCH_USE_PYTORCH", "1");
        }
        if std::env::var_os("VIRTUAL_ENV").is_none() && venv.is_dir() {
            let path = std::env::var("PATH").unwrap_or_default();
            cmd.env("VIRTUAL_ENV", &venv).env("PATH", format!("{}:{path}", venv.join("bin").display()));
        }
        cmd.env("CARGO_TARGET_DIR", &self.target_dir).env("CARGO_TERM_COLOR", "never").current_dir(dir);
        cmd
    }

    /// Writes the crate into `dir`, builds it, and returns the binary (moved out of the
    /// shared target folder) or the compile errors.
    pub fn build(&self, crate_files: &Assembled, dir: &Path, package: &str, binary: &Path) -> Result<std::result::Result<(), Vec<CompileError>>> {
        if dir.exists() {
            std::fs::remove_dir_all(dir).with_context(|| format!("cannot clear {}", dir.display()))?;
        }
        for (rel, text) in &crate_files.files {
            let path = dir.join(rel);
            std::fs::create_dir_all(path.parent().unwrap_or(dir))?;
            std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        }
        std::fs::copy(&self.lockfile, dir.join("Cargo.lock")).with_context(|| format!("cannot copy {}", self.lockfile.display()))?;
        let output = self
            .command(dir)
            .args(["build", "--offline", "--quiet", "--message-format=json"])
            .output()
            .context("cannot run cargo")?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if output.status.success() {
            let built = self.target_dir.join("debug").join(package);
            if let Some(parent) = binary.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::rename(&built, binary).or_else(|_| std::fs::copy(&built, binary).map(|_| ()))
                .with_context(|| format!("the build reported success but {} is missing", built.display()))?;
            self.forget(package);
            return Ok(Ok(()));
        }
        let errors = parse_errors(&stdout, &crate_files.spans);
        if errors.is_empty() {
            // Not the student's code: cargo itself failed (offline registry, toolchain...).
            bail!("cargo build failed without a compiler error:\n{}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(Err(errors))
    }

    /// Removes the package's own artifacts from the shared folder, which would otherwise
    /// grow by one binary per submission.
    fn forget(&self, package: &str) {
        let prefix = format!("{package}-");
        for sub in ["debug/deps", "debug/.fingerprint", "debug/build"] {
            let Ok(entries) = std::fs::read_dir(self.target_dir.join(sub)) else { continue };
            for e in entries.flatten().filter(|e| e.file_name().to_string_lossy().starts_with(&prefix)) {
                let path = e.path();
                let _ = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
            }
        }
        let _ = std::fs::remove_file(self.target_dir.join("debug").join(format!("{package}.d")));
    }
}

/// The error messages in cargo's JSON output, with file positions in student cells
/// rewritten as `cell ID, line N`.
pub fn parse_errors(stdout: &str, spans: &BTreeMap<String, Vec<Span>>) -> Vec<CompileError> {
    let mut errors = Vec::new();
    for line in stdout.lines() {
        let Ok(msg) = serde_json::from_str::<Value>(line) else { continue };
        if msg["reason"] != "compiler-message" || msg["message"]["level"] != "error" {
            continue;
        }
        let message = &msg["message"];
        let mut module = None;
        for span in message["spans"].as_array().into_iter().flatten() {
            let file = span["file_name"].as_str().unwrap_or("");
            if let Some(id) = file.strip_prefix("src/ex_").and_then(|f| f.strip_suffix(".rs")) {
                module = Some(id.to_string());
                if span["is_primary"] == true {
                    break;
                }
            }
        }
        let rendered = message["rendered"].as_str().unwrap_or_else(|| message["message"].as_str().unwrap_or("error"));
        errors.push(CompileError { module, message: relocate(rendered, spans) });
    }
    errors
}

/// `--> src/ex_unet.rs:40:9` becomes `--> cell unet_new (notebook cell 27), line 4:9`, and
/// the snippet's line numbers below it count from the cell's first line too.
fn relocate(rendered: &str, spans: &BTreeMap<String, Vec<Span>>) -> String {
    let mut offset: Option<usize> = None;
    let mut out = Vec::new();
    for line in rendered.lines() {
        if let Some(at) = line.find("--> src/") {
            offset = None;
            let mut parts = line[at + 4..].splitn(3, ':');
            let (file, l, col) = (parts.next().unwrap_or(""), parts.next().and_then(|l| l.parse::<usize>().ok()), parts.next().unwrap_or("1"));
            let Some(l) = l else {
                out.push(line.to_string());
                continue;
            };
            out.push(match spans.get(file).and_then(|s| s.iter().find(|s| s.first_line <= l && l <= s.last_line)) {
                Some(Span { cell: Some(id), notebook_index, first_line, .. }) => {
                    offset = Some(first_line - 1);
                    let index = notebook_index.map(|i| format!(" (notebook cell {})", i + 1)).unwrap_or_default();
                    format!("{}--> cell `{id}`{index}, line {}:{col}", &line[..at], l - first_line + 1)
                }
                _ => format!("{}--> code the grader put beside your cells ({file}:{l})", &line[..at]),
            });
            continue;
        }
        // A snippet line: `40 |         let h = ...`.
        let gutter = line.split_once(" |").filter(|(n, _)| !n.trim().is_empty() && n.trim().chars().all(|c| c.is_ascii_digit()));
        match (gutter, offset) {
            (Some((n, rest)), Some(off)) => {
                let renumbered = n.trim().parse::<usize>().map_or(n.trim().to_string(), |v| v.saturating_sub(off).to_string());
                out.push(format!("{renumbered:>width$} |{rest}", width = n.len()));
            }
            _ => out.push(line.to_string()),
        }
    }
    out.join("\n")
}

/// Constructs that read files or the environment at compile time, refused in student
/// cells before anything is built: the compiler runs outside the sandbox.
pub fn forbidden(source: &str) -> Option<String> {
    let words = ["include_str", "include_bytes", "include", "env", "option_env", "concat_idents"];
    let bytes: Vec<char> = source.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_alphabetic() || bytes[i] == '_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_alphanumeric() || bytes[i] == '_') {
                i += 1;
            }
            let word: String = bytes[start..i].iter().collect();
            let rest: String = bytes[i..].iter().take(40).collect::<String>();
            let next = rest.trim_start();
            if words.contains(&word.as_str()) && next.starts_with('!') {
                return Some(format!("`{word}!` reads files or the environment while compiling; it is not allowed in graded cells"));
            }
            if word == "env" && next.starts_with("as ") || (word.starts_with("include") && words.contains(&word.as_str()) && next.starts_with("as ")) {
                return Some(format!("renaming `{word}` is not allowed in graded cells"));
            }
            if word == "path" && bytes[..start].iter().rev().find(|c| !c.is_whitespace()) == Some(&'[') {
                return Some("`#[path = ...]` reads other files while compiling; it is not allowed in graded cells".into());
            }
        } else {
            i += 1;
        }
    }
    None
}

pub fn describe(errors: &[CompileError]) -> String {
    let shown: Vec<&str> = errors.iter().take(5).map(|e| e.message.as_str()).collect();
    let more = if errors.len() > 5 { format!("\n... and {} more errors", errors.len() - 5) } else { String::new() };
    format!("{}{more}", shown.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compile_time_file_and_environment_reads_are_refused() {
        assert!(forbidden("let s = include_str!(\"/etc/passwd\");").is_some());
        assert!(forbidden("let s = env !(\"GRADER_SEED\");").is_some());
        assert!(forbidden("use std::env as e;").is_some());
        assert!(forbidden("#[path = \"/etc/x.rs\"] mod m;").is_some());
        assert!(forbidden("let v = std::env::var(\"HOME\"); let include = 3; // environment").is_none());
        assert!(forbidden("x.view([b, n, h, d]).include_bias()").is_none());
    }

    #[test]
    fn positions_in_student_cells_become_cell_and_line() {
        let spans = BTreeMap::from([(
            "src/ex_unet.rs".to_string(),
            vec![Span { first_line: 37, last_line: 60, cell: Some("unet_new".into()), notebook_index: Some(26) }],
        )]);
        let r = relocate("error[E0308]: mismatched types\n  --> src/ex_unet.rs:40:9\n   |", &spans);
        assert!(r.contains("--> cell `unet_new` (notebook cell 27), line 4:9"), "{r}");
        let r = relocate("  --> src/ex_unet.rs:40:9\n   |\n40 |     let h = ;\n   |             ^", &spans);
        assert!(r.contains("\n 4 |     let h = ;"), "{r}");
        let r = relocate("  --> src/ex_unet.rs:70:1", &spans);
        assert!(r.contains("code the grader put beside your cells"), "{r}");
    }
}
