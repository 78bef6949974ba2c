//! What is graded: each exercise's cells, the given cells that must sit beside them
//! (impls on the same types), its runner, and its default points.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Copy)]
pub struct Graded {
    /// The exercise's name: its check cell's id and its fixtures' `exercise`.
    pub id: &'static str,
    /// The notebook's exercise cells (metadata `workbook.id`) that make it up.
    pub cells: &'static [&'static str],
    /// Given cells that define or extend the exercise's types, compiled with the
    /// student's cells rather than with the reference's.
    pub companions: &'static [&'static str],
    /// The runner region in reference/src/runners.rs (None for the numeric answers).
    pub runner: Option<&'static str>,
    pub points: f64,
}

pub const GRADED: [Graded; 9] = [
    Graded { id: "answer_numbers", cells: &["answer_numbers"], companions: &[], runner: None, points: 10.0 },
    Graded { id: "feed_forward", cells: &["feed_forward"], companions: &["feed_forward_checked"], runner: Some("run_feed_forward"), points: 10.0 },
    Graded { id: "cross_attention", cells: &["cross_attention"], companions: &["cross_attention_checked"], runner: Some("run_cross_attention"), points: 15.0 },
    Graded { id: "resnet_block", cells: &["resnet_block"], companions: &["resnet_block_checked"], runner: Some("run_resnet_block"), points: 15.0 },
    Graded {
        id: "unet",
        cells: &["unet_levels", "unet_new", "unet_forward"],
        companions: &["unet_parts", "unet_checked"],
        runner: Some("run_unet"),
        points: 20.0,
    },
    Graded { id: "scheduler", cells: &["scheduler"], companions: &["scheduler_struct", "scheduler_given"], runner: Some("run_scheduler"), points: 10.0 },
    Graded { id: "q_sample", cells: &["q_sample"], companions: &[], runner: Some("run_q_sample"), points: 5.0 },
    Graded { id: "p_losses", cells: &["p_losses"], companions: &[], runner: Some("run_p_losses"), points: 10.0 },
    Graded { id: "p_sample", cells: &["p_sample"], companions: &[], runner: Some("run_p_sample"), points: 5.0 },
];

/// The numeric written questions, graded inside `answer_numbers` (half its points each).
pub const ANSWER_FUNCTIONS: [(&str, &str); 2] = [("alpha_bar_100", "answer_alpha_bar_100"), ("latent_numbers", "answer_latent_numbers")];

/// Points per exercise: the defaults, overridden by a JSON object `{"unet": 25, ...}`.
pub fn points(config: Option<&Path>) -> Result<BTreeMap<&'static str, f64>> {
    let mut points: BTreeMap<&'static str, f64> = GRADED.iter().map(|g| (g.id, g.points)).collect();
    let Some(path) = config else { return Ok(points) };
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read the points file {}", path.display()))?;
    let given: BTreeMap<String, f64> = serde_json::from_str(&text)
        .with_context(|| format!("{}: expected a JSON object of exercise -> points, e.g. {{\"unet\": 25}}", path.display()))?;
    for (name, value) in given {
        let Some(slot) = points.iter_mut().find(|(id, _)| **id == name) else {
            let known: Vec<&str> = GRADED.iter().map(|g| g.id).collect();
            bail!("{}: unknown exercise `{name}`; the exercises are {}", path.display(), known.join(", "));
        };
        if !(value.is_finite() && value >= 0.0) {
            bail!("{}: points for `{name}` must be a number >= 0, got {value}", path.display());
        }
        *slot.1 = value;
    }
    Ok(points)
}

pub fn find(id: &str) -> Option<&'static Graded> {
    GRADED.iter().find(|g| g.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_default_to_100_and_a_file_overrides_them() {
        assert_eq!(points(None).unwrap().values().sum::<f64>(), 100.0);
        let dir = std::env::temp_dir().join(format!("points-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("points.json");
        std::fs::write(&file, r#"{"unet": 30}"#).unwrap();
        assert_eq!(points(Some(&file)).unwrap()["unet"], 30.0);
        std::fs::write(&file, r#"{"unte": 30}"#).unwrap();
        let e = points(Some(&file)).unwrap_err().to_string();
        assert!(e.contains("unknown exercise `unte`") && e.contains("unet"), "{e}");
    }
}
