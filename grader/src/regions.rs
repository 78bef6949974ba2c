//! Named regions of the reference sources: the one home of every piece of code a
//! notebook shows. `// @region NAME` ... `// @endregion` marks a cell's code; inside
//! an exercise, `// @todo MESSAGE` ... `// @endtodo` marks a body the student writes
//! (it becomes `todo!()`), and `// @fields MESSAGE` ... `// @endfields` struct fields
//! the student chooses (they become a comment).

use anyhow::{anyhow, bail, Context, Result};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    pub file: String,
    pub name: String,
    /// The region's lines, markers included for @todo.
    pub lines: Vec<String>,
}

/// Every region of one source file, by name.
pub fn regions_of(text: &str, file: &str) -> Result<BTreeMap<String, Region>> {
    let mut out = BTreeMap::new();
    let mut open: Option<(String, Vec<String>, usize)> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(name) = trimmed.strip_prefix("// @region ") {
            if let Some((other, _, at)) = &open {
                bail!("{file}:{}: region `{name}` opens inside region `{other}` (opened at line {at})", i + 1);
            }
            open = Some((name.trim().to_string(), Vec::new(), i + 1));
        } else if trimmed == "// @endregion" {
            let (name, lines, _) = open.take().ok_or_else(|| anyhow!("{file}:{}: @endregion without @region", i + 1))?;
            let region = Region { file: file.to_string(), name: name.clone(), lines: dedent(&lines) };
            if out.insert(name.clone(), region).is_some() {
                bail!("{file}: region `{name}` is defined twice");
            }
        } else if let Some((_, lines, _)) = &mut open {
            lines.push(line.to_string());
        }
    }
    if let Some((name, _, at)) = open {
        bail!("{file}:{at}: region `{name}` is never closed");
    }
    Ok(out)
}

fn dedent(lines: &[String]) -> Vec<String> {
    let indent = lines.iter().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
    lines.iter().map(|l| if l.len() >= indent { l[indent..].to_string() } else { l.trim().to_string() }).collect()
}

/// All regions of the reference crate's sources, keyed `file#name` (file relative to the repo).
pub fn reference_regions(repo: &Path) -> Result<BTreeMap<String, Region>> {
    let src = repo.join("reference/src");
    let mut all = BTreeMap::new();
    let mut files: Vec<_> = std::fs::read_dir(&src)
        .with_context(|| format!("cannot read {}", src.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    for path in files {
        let rel = format!("reference/src/{}", path.file_name().unwrap_or_default().to_string_lossy());
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        for (name, region) in regions_of(&text, &rel)? {
            all.insert(format!("{rel}#{name}"), region);
        }
    }
    Ok(all)
}

impl Region {
    /// The solution: every line but the @todo markers.
    pub fn solution(&self) -> String {
        self.lines
            .iter()
            .filter(|l| !is_marker(l))
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The student's version: each @todo block becomes `// TODO: MESSAGE` and `todo!()`.
    pub fn stub(&self) -> Result<String> {
        let mut out = Vec::new();
        let mut inside = false;
        for line in &self.lines {
            let t = line.trim();
            let indent = &line[..line.len() - line.trim_start().len()];
            let (todo, fields) = (t.strip_prefix("// @todo"), t.strip_prefix("// @fields"));
            if let Some(msg) = todo.or(fields) {
                if inside {
                    bail!("{}#{}: a @todo or @fields block inside another", self.file, self.name);
                }
                inside = true;
                for part in msg.trim().split(" // ") {
                    out.push(format!("{indent}// TODO: {}", part.trim()));
                }
                if todo.is_some() {
                    out.push(format!("{indent}todo!()"));
                }
            } else if t == "// @endtodo" || t == "// @endfields" {
                inside = false;
            } else if !inside {
                out.push(line.clone());
            }
        }
        if inside {
            bail!("{}#{}: @todo is never closed with @endtodo", self.file, self.name);
        }
        Ok(out.join("\n"))
    }

    pub fn has_todo(&self) -> bool {
        self.lines.iter().any(|l| is_marker(l))
    }
}

fn is_marker(line: &str) -> bool {
    let t = line.trim();
    t.starts_with("// @todo") || t.starts_with("// @fields") || t == "// @endtodo" || t == "// @endfields"
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = "use x;\n// @region ff\nstruct F {\n    // @fields the layers\n    a: i64,\n    // @endfields\n}\nimpl F {\n    fn new() -> Self {\n        // @todo build net.0 // then net.3\n        let a = 1;\n        Self { a }\n        // @endtodo\n    }\n}\n// @endregion\n";

    #[test]
    fn extracts_solution_and_stub() {
        let r = &regions_of(SRC, "a.rs").unwrap()["ff"];
        assert_eq!(r.solution(), "struct F {\n    a: i64,\n}\nimpl F {\n    fn new() -> Self {\n        let a = 1;\n        Self { a }\n    }\n}");
        assert_eq!(r.stub().unwrap(), "struct F {\n    // TODO: the layers\n}\nimpl F {\n    fn new() -> Self {\n        // TODO: build net.0\n        // TODO: then net.3\n        todo!()\n    }\n}");
    }

    #[test]
    fn unclosed_and_nested_regions_name_the_file_and_line() {
        let e = regions_of("// @region a\n// @region b\n", "x.rs").unwrap_err().to_string();
        assert!(e.contains("x.rs:2") && e.contains("`b`"), "{e}");
        let e = regions_of("// @region a\nfoo\n", "y.rs").unwrap_err().to_string();
        assert!(e.contains("y.rs:1") && e.contains("never closed"), "{e}");
    }
}
