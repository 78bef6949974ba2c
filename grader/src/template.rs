//! The notebook's template: markdown and code cells separated by directives,
//! with code taken from the reference crate's regions.
//!
//! `%% markdown [KIND ID]` or `%% code KIND ID [from FILE#REGION]`; the lines up to the
//! next directive are the cell's text (appended after the region's code, if any).

use crate::notebook::{Cell, Version};
use crate::regions::Region;
use anyhow::{anyhow, bail, Result};
use std::collections::BTreeMap;

pub fn build(template: &str, regions: &BTreeMap<String, Region>, version: Version) -> Result<Vec<Cell>> {
    let mut cells: Vec<Cell> = Vec::new();
    let mut current: Option<(Cell, Vec<String>, usize)> = None;
    let finish = |c: Option<(Cell, Vec<String>, usize)>, cells: &mut Vec<Cell>| -> Result<()> {
        if let Some((mut cell, lines, line_no)) = c {
            let literal = lines.join("\n").trim_matches('\n').to_string();
            let code = match &cell.source_ref {
                Some(r) => {
                    let region = regions.get(r).ok_or_else(|| anyhow!("template line {line_no}: no region `{r}` in the reference sources"))?;
                    match (cell.kind.as_str(), version) {
                        ("exercise", Version::Student) => region.stub()?,
                        ("exercise", Version::Solved) => region.solution(),
                        _ if region.has_todo() => bail!("template line {line_no}: region `{r}` has @todo but the cell is `{}`, not an exercise", cell.kind),
                        _ => region.solution(),
                    }
                }
                None => String::new(),
            };
            cell.source = [code, literal].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join("\n");
            cells.push(cell);
        }
        Ok(())
    };
    for (i, line) in template.lines().enumerate() {
        if let Some(directive) = line.strip_prefix("%% ") {
            finish(current.take(), &mut cells)?;
            current = Some((parse_directive(directive, i + 1)?, Vec::new(), i + 1));
        } else if let Some((_, lines, _)) = &mut current {
            lines.push(line.to_string());
        } else if !line.trim().is_empty() {
            bail!("template line {}: text before the first `%%` directive", i + 1);
        }
    }
    finish(current.take(), &mut cells)?;
    Ok(cells)
}

fn parse_directive(d: &str, line_no: usize) -> Result<Cell> {
    let words: Vec<&str> = d.split_whitespace().collect();
    let (cell_type, rest) = words.split_first().ok_or_else(|| anyhow!("template line {line_no}: empty directive"))?;
    if !["markdown", "code"].contains(cell_type) {
        bail!("template line {line_no}: cell type `{cell_type}`, expected markdown or code");
    }
    let (kind, id, from) = match rest {
        [] => ("text", "-", None),
        [kind, id] => (*kind, *id, None),
        [kind, id, "from", r] => (*kind, *id, Some(r.to_string())),
        _ => bail!("template line {line_no}: expected `%% {cell_type} KIND ID [from FILE#REGION]`"),
    };
    Ok(Cell { cell_type: cell_type.to_string(), kind: kind.into(), id: id.into(), source_ref: from, source: String::new() })
}
