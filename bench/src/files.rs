//! A case's folder: `case.json`, `weights.safetensors` (made here, on the Rust side,
//! and loaded by both), `inputs.safetensors`, and each side's `out-<side>.safetensors`.

use crate::case::{Case, Workload};
use anyhow::{anyhow, bail, Context, Result};
use reference::{Schedule, Scheduler, SchedulerConfig, Unet};
use safetensors::SafeTensors;
use std::collections::BTreeMap;
use std::path::Path;
use tch::{nn::VarStore, Device, Tensor};
use workbook::checkpoint::{self, Metadata};
use workbook::rng::Rng;
use workbook::tensors::tensor_from_view;

pub type Tensors = BTreeMap<String, Tensor>;

pub fn write_tensors(path: &Path, tensors: &Tensors) -> Result<()> {
    checkpoint::save_tensors(tensors, path, &Metadata::new())
}

pub fn read_tensors(path: &Path) -> Result<Tensors> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {file}"))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| anyhow!("{file}: bad safetensors data ({e:?})"))?;
    st.tensors().iter().map(|(k, v)| Ok((k.clone(), tensor_from_view(v, &file, k)?))).collect()
}

pub fn read_case(dir: &Path) -> Result<Case> {
    let path = dir.join("case.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a benchmark case", path.display()))
}

/// Writes the case, its Unet's weights (PyTorch's default initialisation, seed 0; not
/// the engine's zeroed branches, so that every output and gradient is non-trivial)
/// and its inputs. Returns the Unet's parameter count.
pub fn prepare(case: &Case, dir: &Path) -> Result<Option<i64>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let json = serde_json::to_string_pretty(case)?;
    std::fs::write(dir.join("case.json"), json).with_context(|| format!("cannot write {}/case.json", dir.display()))?;
    let mut params = None;
    if let Some(config) = &case.unet {
        tch::manual_seed(0);
        let vs = VarStore::new(Device::Cpu);
        let _unet = Unet::new(vs.root(), config.clone());
        let n: i64 = vs.variables().values().map(|v| v.numel() as i64).sum();
        if let Some(expected) = case.expect_params.filter(|&e| e != n) {
            bail!("case {}: the Unet has {n} parameters, expected {expected}; its configuration is not the one asked for", case.id);
        }
        checkpoint::save(&vs, &dir.join("weights.safetensors"), &Metadata::new())?;
        params = Some(n);
    }
    write_tensors(&dir.join("inputs.safetensors"), &inputs(case))?;
    Ok(params)
}

/// The inputs, drawn by the workbook's own seeded generator.
fn inputs(case: &Case) -> Tensors {
    let mut rng = Rng::new(1);
    let (c, s, m) = (case.unet.as_ref().map_or(0, |u| u.channels), case.size, case.tokens);
    let d = case.unet.as_ref().and_then(|u| u.context_dim).unwrap_or(0);
    let mut out = Tensors::new();
    match &case.workload {
        Workload::Matmul { n } => {
            out.insert("a".into(), rng.randn(&[*n, *n]));
            out.insert("b".into(), rng.randn(&[*n, *n]));
        }
        Workload::Train { batch: b, .. } => {
            out.insert("x_start".into(), rng.randn(&[*b, c, s, s]));
            out.insert("t".into(), rng.randint(case.timesteps, *b));
            out.insert("noise".into(), rng.randn(&[*b, c, s, s]));
            out.insert("context".into(), rng.randn(&[*b, m, d]));
        }
        Workload::Eval { batch: b } => {
            out.insert("x".into(), rng.randn(&[*b, c, s, s]));
            out.insert("time".into(), rng.randint(case.timesteps, *b));
            out.insert("context".into(), rng.randn(&[*b, m, d]));
        }
        Workload::Ddim { digits, seed, .. } => {
            // The engine's `ddim` draws x_T first from its generator: the same numbers here.
            out.insert("x_T".into(), Rng::new(*seed).randn(&[*digits, c, s, s]));
            out.insert("context".into(), rng.randn(&[*digits, m, d]));
            out.insert("empty".into(), rng.randn(&[*digits, m, d]));
            let sched = Scheduler::new(SchedulerConfig { schedule: Schedule::Linear, timesteps: case.timesteps });
            out.insert("alphas_cumprod".into(), sched.alphas_cumprod.shallow_clone());
        }
    }
    out
}
