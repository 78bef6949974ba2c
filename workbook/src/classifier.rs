//! A small CNN that labels 32x32 MNIST digits in [-1, 1] (the `images_tensor`
//! format). It judges generated digits (does the sample show the prompted
//! class?) and its penultimate layer gives the features of a Frechet distance.
//! Trained on the train split only; measured on the held-out split.

use crate::checkpoint::{self, Metadata};
use crate::data::mnist::{Mnist, Split};
use anyhow::{anyhow, bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;
use tch::{nn, nn::Module, nn::OptimizerConfig, Device, Kind, Tensor};

/// The shipped weights, compiled in (see `weights/README.md`).
const SHIPPED: &[u8] = include_bytes!("../../weights/classifier.safetensors");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClassifierConfig {
    /// Channels of the three conv + max-pool stages (32 -> 16 -> 8 -> 4 pixels).
    pub channels: [i64; 3],
    /// Width of the penultimate layer: the Frechet distance's feature size.
    pub features: i64,
    pub dropout: f64,
    pub classes: i64,
}

impl Default for ClassifierConfig {
    fn default() -> Self {
        ClassifierConfig { channels: [32, 64, 128], features: 128, dropout: 0.3, classes: 10 }
    }
}

#[derive(Debug)]
pub struct Classifier {
    pub config: ClassifierConfig,
    convs: Vec<nn::Conv2D>,
    fc: nn::Linear,
    head: nn::Linear,
}

impl Classifier {
    pub fn new(vs: nn::Path, config: ClassifierConfig) -> Self {
        let pad = nn::ConvConfig { padding: 1, ..Default::default() };
        let mut cin = 1;
        let mut convs = Vec::new();
        for (i, &c) in config.channels.iter().enumerate() {
            convs.push(nn::conv2d(&vs / "convs" / i, cin, c, 3, pad));
            cin = c;
        }
        // Three 2x2 max-pools take 32x32 to 4x4.
        let fc = nn::linear(&vs / "fc", cin * 16, config.features, Default::default());
        let head = nn::linear(&vs / "head", config.features, config.classes, Default::default());
        Classifier { config, convs, fc, head }
    }

    fn features_t(&self, x: &Tensor) -> Tensor {
        // [N, 1, 32, 32] -> [N, c0, 16, 16] -> [N, c1, 8, 8] -> [N, c2, 4, 4]
        let h = self.convs.iter().fold(x.shallow_clone(), |h, conv| conv.forward(&h).relu().max_pool2d_default(2));
        // [N, c2, 4, 4] -> [N, c2 * 16]
        let h = h.flatten(1, -1);
        self.fc.forward(&h).relu()
    }

    fn logits_t(&self, x: &Tensor, train: bool) -> Tensor {
        self.head.forward(&self.features_t(x).dropout(self.config.dropout, train))
    }

    /// [N, 1, 32, 32] in [-1, 1] -> [N, classes] (evaluation mode: no dropout).
    pub fn logits(&self, x: &Tensor) -> Tensor {
        self.logits_t(x, false)
    }

    /// [N, 1, 32, 32] -> int64 labels [N].
    pub fn predict(&self, x: &Tensor) -> Tensor {
        self.logits(x).argmax(-1, false)
    }

    /// [N, 1, 32, 32] -> the penultimate layer (after ReLU), [N, features].
    pub fn features(&self, x: &Tensor) -> Tensor {
        self.features_t(x)
    }

    /// Fraction of the first `n` digits of `split` (all if `n` is larger) labelled correctly.
    pub fn accuracy(&self, split: &Split, n: usize) -> f64 {
        let n = n.min(split.len());
        let correct: i64 = tch::no_grad(|| {
            batches(n, 500)
                .map(|idx| self.predict(&split.images_tensor(&idx)).eq_tensor(&split.labels_tensor(&idx)))
                .map(|hits| hits.sum(Kind::Int64).int64_value(&[]))
                .sum()
        });
        correct as f64 / n.max(1) as f64
    }

    /// A classifier from checkpoint bytes: the `config` metadata builds it, then the weights load strictly.
    pub fn from_bytes(bytes: &[u8], file: &str) -> Result<(Classifier, nn::VarStore, Metadata)> {
        let config: ClassifierConfig = config_from_bytes(bytes, file)?;
        let vs = nn::VarStore::new(Device::Cpu);
        let clf = Classifier::new(vs.root(), config);
        let metadata = checkpoint::load_bytes(&vs, bytes, file)?;
        Ok((clf, vs, metadata))
    }

    pub fn load(path: &Path) -> Result<(Classifier, nn::VarStore, Metadata)> {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read classifier checkpoint {}", path.display()))?;
        Self::from_bytes(&bytes, &path.display().to_string())
    }

    /// The weights in `weights/classifier.safetensors`, compiled into the crate.
    pub fn shipped() -> Result<(Classifier, nn::VarStore)> {
        let (clf, vs, _) = Self::from_bytes(SHIPPED, "shipped weights/classifier.safetensors")?;
        Ok((clf, vs))
    }

    pub fn shipped_metadata() -> Result<Metadata> {
        Ok(Self::from_bytes(SHIPPED, "shipped weights/classifier.safetensors")?.2)
    }
}

/// Reads the `config` JSON of a checkpoint before any model exists (it decides the architecture).
pub(crate) fn config_from_bytes<T: serde::de::DeserializeOwned>(bytes: &[u8], file: &str) -> Result<T> {
    let (_, header) =
        safetensors::SafeTensors::read_metadata(bytes).map_err(|e| anyhow!("{file}: not a safetensors file ({e:?})"))?;
    let meta = header.metadata().clone().unwrap_or_default();
    let json = meta.get("config").ok_or_else(|| anyhow!("{file}: no `config` metadata"))?;
    serde_json::from_str(json).with_context(|| format!("{file}: `config` metadata is not a valid configuration: {json}"))
}

/// Index lists 0..n in chunks of `size` (the last one shorter).
pub(crate) fn batches(n: usize, size: usize) -> impl Iterator<Item = Vec<usize>> {
    (0..n).step_by(size.max(1)).map(move |s| (s..(s + size).min(n)).collect())
}

/// All images of a split as one float tensor [n, 1, 32, 32] (32 MB for 8,000 digits).
pub(crate) fn all_images(split: &Split) -> Tensor {
    split.images_tensor(&(0..split.len()).collect::<Vec<_>>())
}

/// A progress bar with the loss in its message, steps per second and the ETA.
pub(crate) fn progress_bar(steps: u64, what: &str) -> Result<ProgressBar> {
    let style = ProgressStyle::with_template(&format!(
        "{what} [{{elapsed_precise}}] {{bar:30}} {{pos}}/{{len}} {{per_sec}} ETA {{eta}} {{msg}}"
    ))
    .context("bad progress bar template")?;
    Ok(ProgressBar::new(steps).with_style(style))
}

pub(crate) fn param_count(vs: &nn::VarStore) -> i64 {
    vs.trainable_variables().iter().map(|t| t.numel() as i64).sum()
}

/// Moves each image by its own random offset in -max..=max pixels (rows and columns).
/// `roll` wraps around, which only moves background: the 2-pixel frame and
/// MNIST's own empty border are wider than the shift.
pub fn random_shift(x: &Tensor, max: i64) -> Tensor {
    let n = x.size()[0];
    let shifts = Vec::<i64>::try_from(Tensor::randint_low(-max, max + 1, [n, 2], (Kind::Int64, Device::Cpu)).flatten(0, -1))
        .expect("int64 tensor converts to Vec<i64>");
    // each [1, 32, 32] -> rolled -> stacked back to [n, 1, 32, 32]
    let moved: Vec<Tensor> = (0..n).map(|i| x.get(i).roll([shifts[2 * i as usize], shifts[2 * i as usize + 1]], [1, 2])).collect();
    Tensor::stack(&moved, 0)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClsTrainConfig {
    pub model: ClassifierConfig,
    pub seed: u64,
    pub epochs: usize,
    pub batch_size: usize,
    /// Adam's peak learning rate; it decays along a cosine to 5 % of this.
    pub lr: f64,
    /// Largest random shift of the augmentation, in pixels.
    pub max_shift: i64,
}

impl Default for ClsTrainConfig {
    fn default() -> Self {
        ClsTrainConfig { model: ClassifierConfig::default(), seed: 0, epochs: 15, batch_size: 64, lr: 1e-3, max_shift: 2 }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ClsReport {
    pub steps: usize,
    pub train_seconds: f64,
    pub final_loss: f64,
    pub heldout_accuracy: f64,
    pub parameters: i64,
}

/// Cosine decay from `lr` to 5 % of it over `total` steps.
pub(crate) fn cosine_lr(lr: f64, step: usize, total: usize) -> f64 {
    let t = step as f64 / total.max(1) as f64;
    lr * (0.05 + 0.95 * 0.5 * (1.0 + (std::f64::consts::PI * t).cos()))
}

/// Trains on `data.train` only (deterministic for a seed), then measures all of `data.heldout`.
pub fn train_classifier(data: &Mnist, cfg: &ClsTrainConfig) -> Result<(Classifier, nn::VarStore, ClsReport)> {
    if cfg.batch_size == 0 || cfg.epochs == 0 {
        bail!("train_classifier: batch_size ({}) and epochs ({}) must be positive", cfg.batch_size, cfg.epochs);
    }
    tch::manual_seed(cfg.seed as i64);
    let vs = nn::VarStore::new(Device::Cpu);
    let clf = Classifier::new(vs.root(), cfg.model.clone());
    let mut opt = nn::Adam::default().build(&vs, cfg.lr).context("cannot build Adam")?;
    let images = all_images(&data.train); // [8000, 1, 32, 32]
    let labels = data.train.labels_tensor(&(0..data.train.len()).collect::<Vec<_>>()); // [8000]
    let n = data.train.len() as i64;
    let per_epoch = (n / cfg.batch_size as i64) as usize; // the last partial batch is dropped
    let total = per_epoch * cfg.epochs;
    let bar = progress_bar(total as u64, "classifier")?;
    let (start, mut step, mut recent) = (Instant::now(), 0, Vec::new());
    for _ in 0..cfg.epochs {
        let perm = Tensor::randperm(n, (Kind::Int64, Device::Cpu));
        for b in 0..per_epoch as i64 {
            let idx = perm.narrow(0, b * cfg.batch_size as i64, cfg.batch_size as i64);
            let x = random_shift(&images.index_select(0, &idx), cfg.max_shift);
            let loss = clf.logits_t(&x, true).cross_entropy_for_logits(&labels.index_select(0, &idx));
            opt.set_lr(cosine_lr(cfg.lr, step, total));
            opt.backward_step(&loss);
            let l = loss.double_value(&[]);
            if !l.is_finite() {
                bail!("train_classifier: loss became {l} at step {step}");
            }
            recent.push(l);
            step += 1;
            bar.set_message(format!("loss {:.4}", recent[recent.len().saturating_sub(50)..].iter().sum::<f64>() / recent.len().min(50) as f64));
            bar.inc(1);
        }
    }
    bar.finish();
    let train_seconds = start.elapsed().as_secs_f64();
    let last = &recent[recent.len().saturating_sub(50)..];
    let report = ClsReport {
        steps: step,
        train_seconds,
        final_loss: last.iter().sum::<f64>() / last.len() as f64,
        heldout_accuracy: clf.accuracy(&data.heldout, data.heldout.len()),
        parameters: param_count(&vs),
    };
    Ok((clf, vs, report))
}

/// The checkpoint metadata of a trained classifier.
pub fn classifier_metadata(cfg: &ClsTrainConfig, report: &ClsReport, command: &str) -> Result<Metadata> {
    Ok([
        ("config", serde_json::to_string(&cfg.model).context("cannot serialise the classifier config")?),
        ("train_config", serde_json::to_string(cfg).context("cannot serialise the training config")?),
        ("command", command.to_string()),
        ("seed", cfg.seed.to_string()),
        ("steps", report.steps.to_string()),
        ("train_seconds", format!("{:.1}", report.train_seconds)),
        ("parameters", report.parameters.to_string()),
        ("heldout_accuracy", format!("{:.4}", report.heldout_accuracy)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifier_shapes_and_parameter_count() {
        let vs = nn::VarStore::new(Device::Cpu);
        let clf = Classifier::new(vs.root(), ClassifierConfig::default());
        let x = Tensor::rand([3, 1, 32, 32], (Kind::Float, Device::Cpu)) * 2.0 - 1.0;
        let (logits, feats, pred) = tch::no_grad(|| (clf.logits(&x), clf.features(&x), clf.predict(&x)));
        assert_eq!((logits.size(), feats.size(), pred.size(), pred.kind()), (vec![3, 10], vec![3, 128], vec![3], Kind::Int64));
        // By hand: convs 3*3*(1*32 + 32*64 + 64*128) + (32 + 64 + 128), fc 2048*128 + 128, head 128*10 + 10.
        let expected = 9 * (32 + 2048 + 8192) + 224 + 2048 * 128 + 128 + 1290;
        assert_eq!(param_count(&vs), expected);
    }

    #[test]
    fn random_shift_moves_each_image_by_at_most_max() {
        tch::manual_seed(1);
        // One ink pixel at (16, 16) in each of 40 images.
        let x = Tensor::full([40, 1, 32, 32], -1.0, (Kind::Float, Device::Cpu));
        let _ = x.narrow(2, 16, 1).narrow(3, 16, 1).fill_(1.0);
        let y = random_shift(&x, 2);
        assert_eq!(y.size(), vec![40, 1, 32, 32]);
        let mut offsets = std::collections::BTreeSet::new();
        for i in 0..40 {
            let pos = y.get(i).flatten(0, -1).argmax(0, false).int64_value(&[]);
            let (r, c) = (pos / 32 - 16, pos % 32 - 16);
            assert!(r.abs() <= 2 && c.abs() <= 2, "image {i} moved by ({r}, {c})");
            offsets.insert((r, c));
        }
        assert!(offsets.len() > 5, "shifts should vary per image: {offsets:?}");
        // Only moved, never changed: the same multiset of pixel values.
        assert_eq!(y.sum(Kind::Double).double_value(&[]), x.sum(Kind::Double).double_value(&[]));
    }

    #[test]
    fn shipped_classifier_is_at_least_98_percent_on_all_heldout_digits() {
        let (clf, _vs) = Classifier::shipped().unwrap();
        let m = Mnist::load(None).unwrap();
        let acc = clf.accuracy(&m.heldout, 2000);
        println!("held-out accuracy {acc:.4} on {} digits", m.heldout.len());
        assert!(acc >= 0.98, "held-out accuracy {acc}");
    }

    #[test]
    fn shipped_classifier_metadata_is_present_and_rebuilds_the_architecture() {
        let meta = Classifier::shipped_metadata().unwrap();
        for key in ["config", "command", "seed", "train_seconds", "heldout_accuracy"] {
            assert!(meta.contains_key(key), "missing metadata `{key}`: {meta:?}");
        }
        let config: ClassifierConfig = serde_json::from_str(&meta["config"]).unwrap();
        let vs = nn::VarStore::new(Device::Cpu);
        let _clf = Classifier::new(vs.root(), config);
        checkpoint::load_bytes(&vs, SHIPPED, "shipped").unwrap();
        assert!(meta["command"].contains("train-classifier"), "{}", meta["command"]);
        meta["seed"].parse::<u64>().unwrap();
        assert!(meta["train_seconds"].parse::<f64>().unwrap() > 0.0);
        let acc: f64 = meta["heldout_accuracy"].parse().unwrap();
        assert!((0.98..=1.0).contains(&acc), "{acc}");
    }
}
