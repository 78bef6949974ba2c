//! `grader notebook` builds the student notebook from the template and the reference;
//! `grader solve` puts the reference's solutions into a notebook's exercise cells.

use crate::notebook::{self, cell_tag, notebook_json, Version};
use crate::regions::{reference_regions, Region};
use crate::template;
use anyhow::{anyhow, Result};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The repository root (where `reference/` and `notebooks/` live).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("grader/ has a parent").to_path_buf()
}

pub fn template_path(repo: &Path) -> PathBuf {
    repo.join("notebooks/diffusion.template.md")
}

/// The notebook the template and the reference make, in either version.
pub fn build_notebook(repo: &Path, version: Version) -> Result<Value> {
    let regions = reference_regions(repo)?;
    let path = template_path(repo);
    let text = std::fs::read_to_string(&path).map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
    let cells = template::build(&text, &regions, version).map_err(|e| anyhow!("{}: {e:#}", path.display()))?;
    Ok(notebook_json(&cells))
}

/// Replaces the source of every exercise cell by its solution; other cells stay as they are.
pub fn solve(nb: &Value, regions: &BTreeMap<String, Region>) -> Result<Value> {
    let mut out = nb.clone();
    let cells = out["cells"].as_array_mut().ok_or_else(|| anyhow!("notebook has no cells"))?;
    for cell in cells.iter_mut() {
        let Some((kind, id)) = cell_tag(cell) else { continue };
        if kind != "exercise" {
            continue;
        }
        let source_ref = cell["metadata"]["workbook"]["source"].as_str().ok_or_else(|| anyhow!("exercise cell `{id}` has no metadata.workbook.source"))?;
        let region = regions.get(source_ref).ok_or_else(|| anyhow!("exercise cell `{id}`: no region `{source_ref}` in the reference"))?;
        let lines: Vec<Value> = region.solution().split_inclusive('\n').map(|l| json!(l)).collect();
        cell["source"] = Value::Array(lines);
        cell["outputs"] = json!([]);
        cell["execution_count"] = Value::Null;
    }
    Ok(out)
}

pub fn solve_file(input: &Path, output: &Path) -> Result<()> {
    let nb = notebook::read(input)?;
    let solved = solve(&nb, &reference_regions(&repo_root())?)?;
    notebook::write(&solved, output)
}
