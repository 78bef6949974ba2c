//! Notebooks (nbformat 4) as the workbook marks them: every cell of ours carries
//! `metadata.workbook = {kind, id, source}`, which `solve` and the grader rely on.

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Student,
    Solved,
}

pub const KERNEL_NAME: &str = "ldm-workbook";
pub const KERNEL_DISPLAY: &str = "Rust (diffusion workbook)";

#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub cell_type: String,
    pub kind: String,
    pub id: String,
    /// `file#region` of the reference code the cell shows, if any.
    pub source_ref: Option<String>,
    pub source: String,
}

impl Cell {
    pub fn to_json(&self, index: usize) -> Value {
        let mut meta = json!({ "workbook": { "kind": self.kind, "id": self.id } });
        if let Some(r) = &self.source_ref {
            meta["workbook"]["source"] = json!(r);
        }
        if self.kind == "exercise" {
            meta["tags"] = json!(["exercise"]);
        }
        let lines: Vec<String> = split_keep_newlines(&self.source);
        let mut cell = json!({
            "cell_type": self.cell_type,
            "id": format!("{:03}-{}-{}", index, self.kind, self.id.replace('_', "-")),
            "metadata": meta,
            "source": lines,
        });
        if self.cell_type == "code" {
            cell["execution_count"] = Value::Null;
            cell["outputs"] = json!([]);
        }
        cell
    }
}

fn split_keep_newlines(s: &str) -> Vec<String> {
    let mut out: Vec<String> = s.split_inclusive('\n').map(String::from).collect();
    if out.is_empty() {
        out.push(String::new());
    }
    out
}

pub fn notebook_json(cells: &[Cell]) -> Value {
    json!({
        "cells": cells.iter().enumerate().map(|(i, c)| c.to_json(i)).collect::<Vec<_>>(),
        "metadata": {
            "kernelspec": { "name": KERNEL_NAME, "display_name": KERNEL_DISPLAY, "language": "rust" },
            "language_info": { "name": "rust", "file_extension": ".rs", "mimetype": "text/rust" }
        },
        "nbformat": 4,
        "nbformat_minor": 5
    })
}

pub fn write(nb: &Value, path: &Path) -> Result<()> {
    let text = serde_json::to_string_pretty(nb)? + "\n";
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

pub fn read(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read notebook {}", path.display()))?;
    parse(&text, &path.display().to_string())
}

pub fn parse(text: &str, name: &str) -> Result<Value> {
    let nb: Value = serde_json::from_str(text).with_context(|| format!("{name}: not a JSON notebook"))?;
    match nb.get("nbformat").and_then(Value::as_i64) {
        Some(4) => {}
        other => bail!("{name}: nbformat {other:?}, expected 4"),
    }
    if !nb.get("cells").is_some_and(Value::is_array) {
        bail!("{name}: no `cells` array");
    }
    Ok(nb)
}

/// A cell's source as one string (nbformat allows a string or a list of lines).
pub fn cell_source(cell: &Value) -> String {
    match cell.get("source") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(lines)) => lines.iter().filter_map(Value::as_str).collect(),
        _ => String::new(),
    }
}

/// (kind, id) of a cell of ours, None for a cell a student added.
pub fn cell_tag(cell: &Value) -> Option<(String, String)> {
    let w = cell.get("metadata")?.get("workbook")?;
    Some((w.get("kind")?.as_str()?.to_string(), w.get("id")?.as_str()?.to_string()))
}
