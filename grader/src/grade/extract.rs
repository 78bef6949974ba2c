//! The student's work as the notebook's metadata marks it: exercise cells by id
//! (wherever they were moved), and the written answers. A missing or duplicated
//! exercise cell is a finding for the report, never a crash.

use crate::notebook::{cell_source, cell_tag};
use serde_json::Value;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct StudentCell {
    pub source: String,
    /// 0-based position in the notebook, for messages ("cell 42").
    pub index: usize,
}

#[derive(Debug, Clone, Default)]
pub struct StudentWork {
    /// Exercise cells by `workbook.id`; for a duplicated id, the last one (the one the kernel ran last).
    pub cells: BTreeMap<String, StudentCell>,
    /// Ids that appear more than once, with their positions.
    pub duplicated: BTreeMap<String, Vec<usize>>,
    /// Open written answers: (id, the student's text).
    pub answers: Vec<(String, String)>,
}

pub fn extract(nb: &Value) -> StudentWork {
    let mut work = StudentWork::default();
    let cells = nb.get("cells").and_then(Value::as_array).cloned().unwrap_or_default();
    for (index, cell) in cells.iter().enumerate() {
        let source = cell_source(cell);
        match cell_tag(cell) {
            Some((kind, id)) if kind == "exercise" => {
                if let Some(previous) = work.cells.insert(id.clone(), StudentCell { source: source.clone(), index }) {
                    work.duplicated.entry(id).or_insert_with(|| vec![previous.index]).push(index);
                }
            }
            Some((kind, id)) if kind == "answer" => {
                work.answers.push((id, source.trim().to_string()));
            }
            _ => {}
        }
    }
    work
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cell(kind: &str, id: &str, src: &str) -> Value {
        json!({"cell_type": "code", "metadata": {"workbook": {"kind": kind, "id": id}}, "source": [src]})
    }

    #[test]
    fn finds_moved_cells_and_reports_duplicates() {
        let nb = json!({"nbformat": 4, "cells": [
            cell("exercise", "q_sample", "fn q_sample() {}"),
            {"cell_type": "code", "metadata": {}, "source": "let x = 1;"},
            cell("given", "extract", "fn extract() {}"),
            cell("exercise", "feed_forward", "struct A;"),
            cell("exercise", "q_sample", "fn q_sample() { 2 }"),
            {"cell_type": "markdown", "metadata": {}, "source": "**Question 1.** Why?"},
            {"cell_type": "markdown", "metadata": {"workbook": {"kind": "answer", "id": "why"}}, "source": "Because.\n"},
        ]});
        let w = extract(&nb);
        assert_eq!(w.cells.keys().collect::<Vec<_>>(), ["feed_forward", "q_sample"]);
        assert_eq!(w.cells["q_sample"], StudentCell { source: "fn q_sample() { 2 }".into(), index: 4 });
        assert_eq!(w.duplicated["q_sample"], vec![0, 4]);
        assert_eq!(w.answers, vec![("why".to_string(), "Because.".to_string())]);
    }
}
