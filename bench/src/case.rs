//! What is timed: each case is one workload on one model, described in a JSON file
//! (`case.json`) that both sides read, so tch and PyTorch cannot drift apart.

use reference::{LossType, UnetConfig};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Workload {
    /// q_sample, Unet forward (train mode), the loss against the noise, backward, one Adam step.
    Train { batch: i64, loss: LossType, lr: f64 },
    /// One Unet forward in eval mode, without gradients.
    Eval { batch: i64 },
    /// The engine's DDIM loop (eta 0) with classifier-free guidance: one batched forward
    /// of 2 x digits per step. Text encoding and decoding are not timed.
    Ddim { digits: i64, steps: usize, guidance: f64, seed: u64 },
    /// A square float32 matmul, the machine's peak.
    Matmul { n: i64 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// A short id, also the case's folder name.
    pub id: String,
    /// Whose configuration: "course project", "latent default", "peak".
    pub group: String,
    /// None for the matmul.
    pub unet: Option<UnetConfig>,
    /// Image (or latent) height and width.
    pub size: i64,
    /// Context tokens per example.
    pub tokens: i64,
    pub timesteps: i64,
    pub workload: Workload,
    pub warmup: usize,
    pub repeats: usize,
    /// The parameter count the configuration must have (a check on the configuration).
    pub expect_params: Option<i64>,
}

impl Case {
    pub fn has_attention(&self) -> bool {
        self.unet.is_some()
    }

    /// A train or eval case at another batch size (the others are left as they are).
    pub fn set_batch(&mut self, b: i64) {
        if let Workload::Train { batch, .. } | Workload::Eval { batch } = &mut self.workload {
            *batch = b;
        }
    }

    /// One line for the table: the group and what the workload is, from the numbers themselves.
    pub fn title(&self) -> String {
        let (s, t) = (self.size, self.tokens);
        let (c, ctx) = self.unet.as_ref().map_or((0, 0), |u| (u.channels, u.context_dim.unwrap_or(0)));
        let what = match &self.workload {
            Workload::Matmul { n } => format!("matmul {n}x{n} float32"),
            Workload::Train { batch: b, loss, .. } => {
                format!("train step, batch {b}, {s}x{s}x{c}, context [{b}, {t}, {ctx}], {} loss, Adam", loss_name(*loss))
            }
            Workload::Eval { batch: b } => format!("eval forward, batch {b}, {s}x{s}x{c}, context [{b}, {t}, {ctx}]"),
            Workload::Ddim { digits, steps, guidance, .. } => {
                format!("DDIM {steps} steps, {digits} digits, guidance {guidance} (batch {}), Unet loop only", 2 * digits)
            }
        };
        format!("{}: {what}", self.group)
    }
}

fn loss_name(loss: LossType) -> &'static str {
    match loss {
        LossType::L1 => "l1",
        LossType::L2 => "l2",
        LossType::Huber => "huber",
    }
}

fn unet(channels: i64, context_dim: i64) -> UnetConfig {
    UnetConfig { dim: 32, dim_mults: vec![1, 2, 4], channels, context_dim: Some(context_dim), ..Default::default() }
}

/// The course project's training configuration, the workbook's latent default, the peak.
pub fn full() -> Vec<Case> {
    let course = unet(1, 512);
    // ldm/src/run.rs RunConfig::new(Space::Latent): 8x8x4 latents, context 128 (the text encoder's width).
    let latent = unet(4, 128);
    let case = |id: &str, group: &str, unet: Option<&UnetConfig>, size, workload, repeats, expect_params| Case {
        id: id.into(),
        group: group.into(),
        unet: unet.cloned(),
        size,
        tokens: 8,
        timesteps: 1000,
        workload,
        warmup: 1,
        repeats,
        expect_params,
    };
    vec![
        case("matmul", "peak", None, 0, Workload::Matmul { n: 2048 }, 20, None),
        case(
            "course_train",
            "course project",
            Some(&course),
            32,
            Workload::Train { batch: 64, loss: LossType::Huber, lr: 1e-3 },
            5,
            Some(7_261_345),
        ),
        case("course_eval", "course project", Some(&course), 32, Workload::Eval { batch: 10 }, 10, Some(7_261_345)),
        case(
            "latent_train",
            "latent default",
            Some(&latent),
            8,
            Workload::Train { batch: 64, loss: LossType::L2, lr: 1e-3 },
            10,
            None,
        ),
        case(
            "latent_ddim",
            "latent default",
            Some(&latent),
            8,
            Workload::Ddim { digits: 10, steps: 25, guidance: 6.0, seed: 0 },
            5,
            None,
        ),
    ]
}

/// The same cases on a tiny Unet and one repeat: a smoke test of the whole pipeline.
pub fn quick() -> Vec<Case> {
    let tiny = UnetConfig { dim: 16, dim_mults: vec![1, 2], channels: 1, context_dim: Some(16), ..Default::default() };
    let mut cases = full();
    for c in &mut cases {
        c.warmup = 1;
        c.repeats = 1;
        c.expect_params = None;
        c.group = format!("quick {}", c.group);
        c.tokens = 4;
        if c.unet.is_some() {
            c.unet = Some(tiny.clone());
            c.size = 8;
        }
        c.workload = match &c.workload {
            Workload::Matmul { .. } => Workload::Matmul { n: 512 },
            Workload::Train { loss, lr, .. } => Workload::Train { batch: 2, loss: *loss, lr: *lr },
            Workload::Eval { .. } => Workload::Eval { batch: 2 },
            Workload::Ddim { guidance, seed, .. } => Workload::Ddim { digits: 2, steps: 3, guidance: *guidance, seed: *seed },
        };
    }
    cases
}
