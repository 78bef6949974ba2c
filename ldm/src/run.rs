//! A training run: its configuration, the models it builds, and its files
//! (`model.safetensors`, `ema.safetensors`, `history.json` in the run folder).

use anyhow::{bail, Context, Result};
use reference::{Diffusion, FastUnet, LossType, Schedule, SchedulerConfig, UnetConfig};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tch::{nn, Device};
use workbook::checkpoint::{self, Metadata};
use workbook::engine::train::{LogEntry, TrainConfig};
use workbook::text::{TextEncoder, TextEncoderConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Space {
    /// Diffuse the autoencoder's 8x8x4 latents (the paper's LDM-4).
    Latent,
    /// Diffuse the 32x32 pixels directly (LDM-1, for comparison).
    Pixel,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    pub space: Space,
    pub unet: UnetConfig,
    pub text: TextEncoderConfig,
    pub scheduler: SchedulerConfig,
    pub loss_type: LossType,
    pub train: TrainConfig,
    /// Zero the last conv of every residual branch and of the output, as LDM does.
    pub zero_init: bool,
}

impl Space {
    pub fn stage(&self) -> Result<workbook::engine::stage::FirstStage> {
        workbook::engine::stage::FirstStage::new(*self == Space::Latent)
    }
}

impl RunConfig {
    pub fn new(space: Space) -> Self {
        let channels = match space {
            Space::Latent => 4,
            Space::Pixel => 1,
        };
        let text = TextEncoderConfig::default();
        RunConfig {
            space,
            unet: UnetConfig {
                dim: 32,
                init_dim: None,
                out_dim: None,
                dim_mults: vec![1, 2, 4],
                channels,
                context_dim: Some(text.width),
                dropout: 0.0,
            },
            text,
            scheduler: SchedulerConfig { schedule: Schedule::Linear, timesteps: 1000 },
            loss_type: LossType::L2,
            train: TrainConfig::default(),
            zero_init: true,
        }
    }
}

/// The trainable pieces of a run, in one VarStore: `unet.*` and `text.*`.
pub struct Models {
    pub vs: nn::VarStore,
    /// The reference Unet with fused attention: the same weights, faster and smaller in memory.
    pub unet: FastUnet,
    pub text: TextEncoder,
    pub diffusion: Diffusion,
}

impl Models {
    pub fn new(config: &RunConfig) -> Models {
        let vs = nn::VarStore::new(Device::Cpu);
        let unet = FastUnet::new(vs.root() / "unet", config.unet.clone());
        let text = TextEncoder::new(vs.root() / "text", config.text.clone());
        if config.zero_init {
            workbook::engine::init::zero_branch_outputs(&vs, "unet.");
        }
        let diffusion = Diffusion::new(config.scheduler.clone(), config.loss_type);
        Models { vs, unet, text, diffusion }
    }

    pub fn parameters(&self, prefix: &str) -> i64 {
        self.vs.variables().iter().filter(|(k, _)| k.starts_with(prefix)).map(|(_, v)| v.numel() as i64).sum()
    }
}

pub struct RunFiles {
    pub dir: PathBuf,
}

impl RunFiles {
    pub fn new(dir: &Path) -> Self {
        RunFiles { dir: dir.to_path_buf() }
    }
    pub fn model(&self) -> PathBuf {
        self.dir.join("model.safetensors")
    }
    pub fn ema(&self) -> PathBuf {
        self.dir.join("ema.safetensors")
    }
    pub fn history(&self) -> PathBuf {
        self.dir.join("history.json")
    }

    pub fn metadata(config: &RunConfig, step: usize, seconds: f64) -> Metadata {
        [
            ("run".to_string(), serde_json::to_string(config).expect("config serialises")),
            ("step".to_string(), step.to_string()),
            ("train_seconds".to_string(), format!("{seconds:.1}")),
            ("command".to_string(), std::env::args().collect::<Vec<_>>().join(" ")),
        ]
        .into()
    }

    pub fn save(&self, models: &Models, ema: &workbook::engine::ema::Ema, meta: &Metadata, history: &[LogEntry]) -> Result<()> {
        checkpoint::save(&models.vs, &self.model(), meta)?;
        checkpoint::save_tensors(ema.tensors(), &self.ema(), meta)?;
        let json = serde_json::to_string(history)?;
        std::fs::write(self.history(), json).with_context(|| format!("cannot write {}", self.history().display()))
    }

    /// The run's configuration and metadata, read from its model file.
    pub fn read_config(&self) -> Result<(RunConfig, Metadata)> {
        let path = self.model();
        if !path.exists() {
            bail!("no trained run in {}: expected {} (train one with `ldm train --out {}`)", self.dir.display(), path.display(), self.dir.display());
        }
        let meta = checkpoint::read_metadata(&path)?;
        let run = meta.get("run").with_context(|| format!("{}: metadata has no `run`", path.display()))?;
        let config = serde_json::from_str(run).with_context(|| format!("{}: metadata `run` is not a run configuration", path.display()))?;
        Ok((config, meta))
    }

    /// Builds the run's models with the EMA weights (for sampling) or the live ones (to resume).
    pub fn load(&self, averaged: bool) -> Result<(RunConfig, Metadata, Models)> {
        let (config, meta) = self.read_config()?;
        let models = Models::new(&config);
        checkpoint::load(&models.vs, &if averaged { self.ema() } else { self.model() })?;
        Ok((config, meta, models))
    }

    pub fn read_history(&self) -> Result<Vec<LogEntry>> {
        let text = std::fs::read_to_string(self.history()).with_context(|| format!("cannot read {}", self.history().display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is not a loss log", self.history().display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use workbook::engine::ema::Ema;

    #[test]
    fn a_run_saved_and_loaded_has_the_same_weights_config_and_history() {
        let dir = std::env::temp_dir().join(format!("ldm-run-test-{}", std::process::id()));
        let mut config = RunConfig::new(Space::Latent);
        config.unet.dim = 16;
        config.unet.dim_mults = vec![1];
        let models = Models::new(&config);
        let ema = Ema::new(&models.vs, 0.999);
        // Make live and averaged weights differ, so the test sees which file is which.
        tch::no_grad(|| {
            for (_, v) in models.vs.variables() {
                let _ = v.shallow_clone().g_add_scalar_(0.5);
            }
        });
        let history = vec![LogEntry { step: 1, loss: 0.9, seconds: 1.5 }, LogEntry { step: 2, loss: 0.7, seconds: 3.0 }];
        let files = RunFiles::new(&dir);
        files.save(&models, &ema, &RunFiles::metadata(&config, 2, 3.0), &history).unwrap();

        let (back, meta, live) = files.load(false).unwrap();
        assert_eq!(back, config);
        assert_eq!(meta["step"], "2");
        let (_, _, averaged) = files.load(true).unwrap();
        let key = "unet.init_conv.weight";
        assert!(live.vs.variables()[key].equal(&models.vs.variables()[key]));
        assert!(averaged.vs.variables()[key].equal(&ema.tensors()[key]));
        assert!(!averaged.vs.variables()[key].equal(&live.vs.variables()[key]));
        let h = files.read_history().unwrap();
        assert_eq!((h.len(), h[1].step, h[1].loss), (2, 2, 0.7));
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn zero_init_zeroes_exactly_the_branch_outputs() {
        let mut config = RunConfig::new(Space::Latent);
        config.unet.dim = 16;
        config.unet.dim_mults = vec![1];
        let vars = Models::new(&config).vs.variables();
        let is_zero = |k: &str| vars[k].abs().max().double_value(&[]) == 0.0;
        assert!(is_zero("unet.out.2.weight") && is_zero("unet.downs.0.0.out_layers.3.weight") && is_zero("unet.mid_attn.proj_out.weight"));
        assert!(!is_zero("unet.downs.0.0.in_layers.2.weight") && !is_zero("unet.mid_attn.proj_in.weight"));
    }

    #[test]
    fn a_missing_run_names_the_folder_and_the_fix() {
        let err = RunFiles::new(Path::new("/nonexistent/run")).read_config().unwrap_err().to_string();
        assert!(err.contains("/nonexistent/run") && err.contains("ldm train"), "{err}");
    }
}
