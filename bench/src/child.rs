//! The tch side of a case, in its own process: builds the model from the case folder,
//! runs the workload once to write its outputs (the agreement check), then answers
//! `run` (one timed run, `{"seconds": s}`) and `quit` (`{"peak_rss_mb": m}`) on stdin.

use crate::case::Workload;
use crate::files::{read_case, read_tensors, write_tensors, Tensors};
use crate::proc::cpu_seconds;
use workbook::engine::memory::peak_rss_mb;
use anyhow::{anyhow, bail, Context, Result};
use reference::{p_losses, FastUnet, LossType, Schedule, Scheduler, SchedulerConfig, Unet};
use std::io::BufRead;
use std::path::Path;
use std::time::Instant;
use tch::nn::{self, OptimizerConfig, VarStore};
use tch::{Device, Kind, Tensor};
use workbook::engine::{guidance::guided_noise, sampler::ddim, Denoiser};
use workbook::rng::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Attention {
    /// softmax(q k^T scale) v, as the exercise writes it (reference::Unet).
    Explicit,
    /// libtorch's scaled_dot_product_attention (reference::FastUnet, the engine's path).
    Fused,
}

impl Attention {
    pub fn label(self) -> &'static str {
        match self {
            Attention::Explicit => "tch-explicit",
            Attention::Fused => "tch-fused",
        }
    }
}

struct Model {
    vs: VarStore,
    net: Box<dyn Denoiser>,
}

fn model(dir: &Path, case: &crate::case::Case, attention: Attention) -> Result<Model> {
    let config = case.unet.clone().ok_or_else(|| anyhow!("case {} has no Unet", case.id))?;
    let vs = VarStore::new(Device::Cpu);
    let net: Box<dyn Denoiser> = match attention {
        Attention::Explicit => Box::new(Unet::new(vs.root(), config)),
        Attention::Fused => Box::new(FastUnet::new(vs.root(), config)),
    };
    workbook::checkpoint::load(&vs, &dir.join("weights.safetensors"))?;
    Ok(Model { vs, net })
}

enum Work {
    Matmul { a: Tensor, b: Tensor },
    Train { m: Model, opt: nn::Optimizer, sched: Scheduler, loss: LossType, inputs: Tensors },
    Eval { m: Model, inputs: Tensors },
    Ddim { m: Model, steps: usize, guidance: f64, seed: u64, inputs: Tensors },
}

fn get<'a>(inputs: &'a Tensors, name: &str) -> Result<&'a Tensor> {
    inputs.get(name).ok_or_else(|| anyhow!("inputs.safetensors has no `{name}`"))
}

impl Work {
    fn new(dir: &Path, attention: Attention) -> Result<Work> {
        let case = read_case(dir)?;
        let inputs = read_tensors(&dir.join("inputs.safetensors"))?;
        Ok(match case.workload {
            Workload::Matmul { .. } => Work::Matmul { a: get(&inputs, "a")?.shallow_clone(), b: get(&inputs, "b")?.shallow_clone() },
            Workload::Train { loss, lr, .. } => {
                let m = model(dir, &case, attention)?;
                let opt = nn::Adam::default().build(&m.vs, lr)?;
                let sched = Scheduler::new(SchedulerConfig { schedule: Schedule::Linear, timesteps: case.timesteps });
                Work::Train { m, opt, sched, loss, inputs }
            }
            Workload::Eval { .. } => Work::Eval { m: model(dir, &case, attention)?, inputs },
            Workload::Ddim { steps, guidance, seed, .. } => Work::Ddim { m: model(dir, &case, attention)?, steps, guidance, seed, inputs },
        })
    }

    /// One run of the workload; `keep` collects what the agreement check compares.
    fn run(&mut self, keep: Option<&mut Tensors>) -> Result<()> {
        let mut out = Tensors::new();
        match self {
            Work::Matmul { a, b } => {
                out.insert("c".into(), a.matmul(b));
            }
            Work::Train { m, opt, sched, loss, inputs } => {
                let (x_start, t, noise, context) = (get(inputs, "x_start")?, get(inputs, "t")?, get(inputs, "noise")?, get(inputs, "context")?);
                let net = &m.net;
                let model = |x: &Tensor, t: &Tensor, c: Option<&Tensor>| net.forward(x, t, c, true);
                opt.zero_grad();
                let l = p_losses(sched, model, x_start, t, Some(context), noise, *loss);
                l.backward();
                if keep.is_some() {
                    out.insert("loss".into(), l.detach());
                    out.insert("grads".into(), flat(&m.vs, |v| v.grad()));
                }
                opt.step();
            }
            Work::Eval { m, inputs } => {
                let (x, time, context) = (get(inputs, "x")?, get(inputs, "time")?, get(inputs, "context")?);
                out.insert("y".into(), tch::no_grad(|| m.net.forward(x, time, Some(context), false)));
            }
            Work::Ddim { m, steps, guidance, seed, inputs } => {
                // As workbook/src/engine/generate.rs, from the encoded prompts on; eta 0.
                let (context, empty, ab) = (get(inputs, "context")?, get(inputs, "empty")?, get(inputs, "alphas_cumprod")?);
                let shape = get(inputs, "x_T")?.size();
                let net = &*m.net;
                let guided = |x: &Tensor, t: &Tensor, c: Option<&Tensor>| guided_noise(net, x, t, c.unwrap_or(context), empty, *guidance);
                let (x, _) = ddim(ab, &guided, &shape, Some(context), *steps, 0.0, &mut Rng::new(*seed), 0);
                out.insert("x".into(), x);
            }
        }
        if let Some(keep) = keep {
            *keep = out;
        }
        Ok(())
    }

    /// Beyond the workload (and not counted in its FLOPs): the Adam step's effect where it
    /// is well conditioned. Adam turns the float noise of a gradient that is zero in exact
    /// arithmetic (a conv bias before a one-channel GroupNorm group) into a full +-lr step,
    /// so the weights after the step do not compare at 1e-4; the loss does not depend on
    /// such a weight, so the loss after the step does.
    fn after_check(&self, keep: &mut Tensors) -> Result<()> {
        if let Work::Train { m, sched, loss, inputs, .. } = self {
            let (x_start, t, noise, context) = (get(inputs, "x_start")?, get(inputs, "t")?, get(inputs, "noise")?, get(inputs, "context")?);
            let model = |x: &Tensor, t: &Tensor, c: Option<&Tensor>| m.net.forward(x, t, c, true); // as the step (PyTorch's model is in train mode)
            let after = tch::no_grad(|| p_losses(sched, model, x_start, t, Some(context), noise, *loss));
            keep.insert("loss_after_adam".into(), after);
        }
        Ok(())
    }
}

/// Every variable's `f`, flattened and concatenated in the order of their sorted names
/// (the order the Python side uses too).
fn flat(vs: &VarStore, f: impl Fn(&Tensor) -> Tensor) -> Tensor {
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    let parts: Vec<Tensor> = vars.iter().map(|(_, v)| f(v).to_kind(Kind::Float).flatten(0, -1)).collect();
    Tensor::cat(&parts, 0) // [total parameters]
}

fn reply(value: serde_json::Value) {
    println!("{value}"); // one JSON line per answer; stdout is line-buffered
}

/// The child's main loop.
pub fn serve(dir: &Path, attention: Attention, threads: i32, keep_freed_memory: bool) -> Result<()> {
    tch::set_num_threads(threads);
    if keep_freed_memory && !workbook::engine::memory::keep_freed_memory() {
        bail!("this platform's allocator does not take the engine's setting; run with --malloc-defaults");
    }
    let mut work = Work::new(dir, attention).with_context(|| format!("tch side of {}", dir.display()))?;
    let mut outputs = Tensors::new();
    work.run(Some(&mut outputs))?;
    work.after_check(&mut outputs)?;
    write_tensors(&dir.join(format!("out-{}.safetensors", attention.label())), &outputs)?;
    reply(serde_json::json!({ "ready": true, "threads": tch::get_num_threads() }));
    for line in std::io::stdin().lock().lines() {
        match line?.trim() {
            "run" => {
                let (start, cpu) = (Instant::now(), cpu_seconds());
                work.run(None)?;
                reply(serde_json::json!({ "seconds": start.elapsed().as_secs_f64(), "cpu_seconds": cpu_seconds() - cpu }));
            }
            "quit" => {
                reply(serde_json::json!({ "peak_rss_mb": peak_rss_mb()? }));
                return Ok(());
            }
            other => bail!("unknown command {other:?} (expected `run` or `quit`)"),
        }
    }
    bail!("stdin closed before `quit`")
}
