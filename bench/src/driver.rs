//! One benchmark run: per case, each side in its own process on the same weights and
//! inputs; their outputs must agree before anything is timed; then warm-up and timed
//! runs alternate between the sides, and each side's median is kept.

use crate::case::Case;
use crate::child::Attention;
use crate::files::{prepare, read_tensors};
use crate::proc::{Side, Timing};
use crate::report::{Agreement, CaseReport, Row};
use anyhow::{anyhow, bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use workbook::compare::{compare, Comparison};

#[derive(Debug, Clone)]
pub struct Options {
    pub threads: i32,
    pub python: PathBuf,
    pub script: PathBuf,
    /// Overrides every case's number of timed runs.
    pub repeats: Option<usize>,
    /// The tch-fused side keeps freed memory, as the engine does (workbook::engine::memory).
    pub keep_freed_memory: bool,
}

/// Who runs a case: tch with either attention, or PyTorch (the oracle's explicit attention).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Who {
    Tch(Attention),
    PyTorch,
}

impl Who {
    pub fn label(self) -> &'static str {
        match self {
            Who::Tch(a) => a.label(),
            Who::PyTorch => "pytorch",
        }
    }

    fn command(self, dir: &Path, o: &Options) -> Result<Command> {
        let mut cmd = match self {
            Who::Tch(a) => {
                let mut c = Command::new(std::env::current_exe().context("cannot find the bench binary")?);
                c.arg("child").arg("--attention").arg(if a == Attention::Fused { "fused" } else { "explicit" });
                // The engine's process setting goes with the engine's fast path; the exercise's
                // explicit Unet runs with glibc's defaults, as the notebook (and PyTorch) do.
                if o.keep_freed_memory && a == Attention::Fused {
                    c.arg("--keep-freed-memory");
                }
                c
            }
            Who::PyTorch => {
                let mut c = Command::new(&o.python);
                c.arg(&o.script);
                c
            }
        };
        cmd.arg("--dir").arg(dir).arg("--threads").arg(o.threads.to_string());
        // The same thread count for OpenMP and MKL on both sides, whatever the caller's environment.
        cmd.env("OMP_NUM_THREADS", o.threads.to_string()).env("MKL_NUM_THREADS", o.threads.to_string());
        Ok(cmd)
    }
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 { s[n / 2] } else { (s[n / 2 - 1] + s[n / 2]) / 2.0 }
}

/// Each tch side's outputs against PyTorch's, by the workbook's criterion.
fn agreement(dir: &Path, sides: &[Who]) -> Result<Vec<Agreement>> {
    let expected = read_tensors(&dir.join("out-pytorch.safetensors"))?;
    let mut out = Vec::new();
    for who in sides.iter().filter(|w| **w != Who::PyTorch) {
        let got = read_tensors(&dir.join(format!("out-{}.safetensors", who.label())))?;
        for (name, e) in &expected {
            let g = got.get(name).ok_or_else(|| anyhow!("{} wrote no output `{name}`", who.label()))?;
            let c = compare(g, e);
            let error = match &c {
                Comparison::Close { error } | Comparison::Far { error, .. } => *error,
                _ => f64::NAN,
            };
            out.push(Agreement { side: who.label().into(), output: name.clone(), error, passed: c.passed(), detail: c.to_string() });
        }
    }
    Ok(out)
}

pub fn run_case(case: &Case, root: &Path, o: &Options) -> Result<CaseReport> {
    let dir = root.join(&case.id);
    let params = prepare(case, &dir)?;
    let who: Vec<Who> = if case.has_attention() {
        vec![Who::Tch(Attention::Fused), Who::Tch(Attention::Explicit), Who::PyTorch]
    } else {
        vec![Who::Tch(Attention::Fused), Who::PyTorch]
    };
    // Started one after the other: each runs its agreement pass alone on the machine.
    let mut sides = Vec::new();
    let mut flops = 0.0;
    let mut torch_version = String::new();
    for w in &who {
        let mut side = Side::spawn(w.label(), w.command(&dir, o)?)?;
        let ready = side.read().with_context(|| format!("case {}", case.id))?;
        if *w == Who::PyTorch {
            flops = ready["flops"].as_f64().ok_or_else(|| anyhow!("the pytorch side sent no FLOP count: {ready}"))?;
            torch_version = ready["torch"].as_str().unwrap_or_default().to_string();
            if let (Some(p), Some(ours)) = (ready["params"].as_i64(), params) {
                if p != ours {
                    bail!("case {}: PyTorch's Unet has {p} parameters, ours {ours}", case.id);
                }
            }
        }
        sides.push(side);
    }
    let agree = agreement(&dir, &who)?;
    if let Some(bad) = agree.iter().find(|a| !a.passed) {
        bail!("case {}: {} and pytorch disagree on `{}`: {}; no times are reported for outputs that differ", case.id, bad.side, bad.output, bad.detail);
    }
    for _ in 0..case.warmup {
        for s in &mut sides {
            s.run_once()?;
        }
    }
    let repeats = o.repeats.unwrap_or(case.repeats).max(1);
    let mut runs: Vec<Vec<Timing>> = vec![Vec::new(); sides.len()];
    let n = sides.len();
    for rep in 0..repeats {
        // Each round starts one side later, so no side always runs first (or right after another).
        for k in (0..n).map(|i| (rep + i) % n) {
            runs[k].push(sides[k].run_once()?);
        }
    }
    let mut rows = Vec::new();
    for ((s, w), r) in sides.into_iter().zip(&who).zip(runs) {
        let rss = s.quit()?;
        let attention = match w {
            _ if !case.has_attention() => "-",
            Who::Tch(Attention::Fused) => "fused (libtorch SDPA)",
            _ => "explicit softmax(q k^T s) v",
        };
        let label = if case.has_attention() { w.label() } else { w.label().split('-').next().unwrap_or("tch") };
        let wall: Vec<f64> = r.iter().map(|t| t.seconds).collect();
        let cpu: Vec<f64> = r.iter().map(|t| t.cpu_seconds).collect();
        rows.push(Row::new(label, attention, wall.clone(), median(&wall), median(&cpu), flops, rss));
    }
    let py = rows.last().map(|r| r.median_s).unwrap_or(f64::NAN);
    for r in &mut rows {
        r.ratio_vs_pytorch = r.median_s / py;
    }
    Ok(CaseReport { id: case.id.clone(), title: case.title(), params, flops, torch_version, agreement: agree, rows })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::{write_tensors, Tensors};
    use tch::Tensor;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn a_side_whose_output_differs_fails_the_agreement() {
        let dir = std::env::temp_dir().join(format!("bench-agreement-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let one = |v: &[f32]| Tensors::from([("y".to_string(), Tensor::from_slice(v))]);
        write_tensors(&dir.join("out-pytorch.safetensors"), &one(&[1.0, 2.0, 4.0])).unwrap();
        write_tensors(&dir.join("out-tch-fused.safetensors"), &one(&[1.0, 2.0, 4.00001])).unwrap(); // 2.5e-6
        write_tensors(&dir.join("out-tch-explicit.safetensors"), &one(&[1.0, 2.0, 4.01])).unwrap(); // 2.5e-3
        let sides = [Who::Tch(Attention::Fused), Who::Tch(Attention::Explicit), Who::PyTorch];
        let a = agreement(&dir, &sides).unwrap();
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(a.iter().map(|a| (a.side.as_str(), a.passed)).collect::<Vec<_>>(), [("tch-fused", true), ("tch-explicit", false)]);
        assert!((a[1].error - 0.01 / 4.0).abs() < 1e-6, "{}", a[1].error);
    }
}
