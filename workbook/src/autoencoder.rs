//! The first stage of latent diffusion: a small convolutional KL autoencoder
//! with downsampling factor f = 4, 32x32x1 -> 8x8x4 (mean, log-variance) ->
//! 32x32x1. Diffusion runs on `encode_latents`: the posterior mean shifted and
//! scaled per channel to zero mean and unit variance over the training digits
//! (the paper rescales its latents for the same reason).

use crate::checkpoint::{self, Metadata};
use crate::classifier::{all_images, batches, config_from_bytes, cosine_lr, param_count, progress_bar, Classifier};
use crate::data::mnist::{Mnist, Split};
use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;
use tch::{nn, nn::Module, nn::OptimizerConfig, Device, Kind, Tensor};

/// The shipped weights, compiled in (see `weights/README.md`).
const SHIPPED: &[u8] = include_bytes!("../../weights/autoencoder.safetensors");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AutoencoderConfig {
    pub in_channels: i64,
    pub latent_channels: i64,
    /// Channels at 32x32, 16x16 and 8x8.
    pub channels: [i64; 3],
    /// GroupNorm groups (every width must be a multiple).
    pub groups: i64,
}

impl Default for AutoencoderConfig {
    fn default() -> Self {
        AutoencoderConfig { in_channels: 1, latent_channels: 4, channels: [32, 64, 64], groups: 8 }
    }
}

/// GroupNorm -> SiLU -> 3x3 conv: the pre-activation unit of the LDM autoencoder.
#[derive(Debug)]
struct NormConv {
    norm: nn::GroupNorm,
    conv: nn::Conv2D,
}

impl NormConv {
    fn new(vs: nn::Path, groups: i64, cin: i64, cout: i64, stride: i64) -> Self {
        let conv = nn::ConvConfig { stride, padding: 1, ..Default::default() };
        NormConv { norm: nn::group_norm(&vs / "norm", groups, cin, Default::default()), conv: nn::conv2d(&vs / "conv", cin, cout, 3, conv) }
    }
    fn forward(&self, x: &Tensor) -> Tensor {
        self.conv.forward(&self.norm.forward(x).silu())
    }
    /// Normalise at the low resolution (nearest upsampling keeps the statistics), then 2x up, then conv.
    fn forward_up(&self, x: &Tensor) -> Tensor {
        let (h, w) = (x.size()[2], x.size()[3]);
        let a = self.norm.forward(x).silu().upsample_nearest2d([2 * h, 2 * w], None, None); // [N, C, H, W] -> [N, C, 2H, 2W]
        self.conv.forward(&a)
    }
}

/// x + two NormConvs, same width and resolution.
#[derive(Debug)]
struct ResBlock(NormConv, NormConv);

impl ResBlock {
    fn new(vs: nn::Path, groups: i64, c: i64) -> Self {
        ResBlock(NormConv::new(&vs / 0, groups, c, c, 1), NormConv::new(&vs / 1, groups, c, c, 1))
    }
    fn forward(&self, x: &Tensor) -> Tensor {
        x + self.1.forward(&self.0.forward(x))
    }
}

#[derive(Debug)]
pub struct Autoencoder {
    pub config: AutoencoderConfig,
    enc_in: nn::Conv2D,
    enc_down1: NormConv,
    enc_res1: ResBlock,
    enc_down2: NormConv,
    enc_res2: ResBlock,
    enc_out: NormConv,
    dec_in: nn::Conv2D,
    dec_res2: ResBlock,
    dec_up2: NormConv,
    dec_res1: ResBlock,
    dec_up1: NormConv,
    dec_out: NormConv,
    /// [1, L, 1, 1] each: latents for diffusion are (mean - shift) * scale.
    shift: Tensor,
    scale: Tensor,
}

impl Autoencoder {
    pub fn new(vs: nn::Path, config: AutoencoderConfig) -> Self {
        let AutoencoderConfig { in_channels: cin, latent_channels: l, channels: [c0, c1, c2], groups: g } = config;
        let (e, d) = (&vs / "encoder", &vs / "decoder");
        let conv3 = nn::ConvConfig { padding: 1, ..Default::default() };
        let ones = Tensor::ones([1, l, 1, 1], (Kind::Float, vs.device()));
        Autoencoder {
            enc_in: nn::conv2d(&e / "conv_in", cin, c0, 3, conv3),
            enc_down1: NormConv::new(&e / "down1", g, c0, c1, 2),
            enc_res1: ResBlock::new(&e / "res1", g, c1),
            enc_down2: NormConv::new(&e / "down2", g, c1, c2, 2),
            enc_res2: ResBlock::new(&e / "res2", g, c2),
            enc_out: NormConv::new(&e / "conv_out", g, c2, 2 * l, 1),
            dec_in: nn::conv2d(&d / "conv_in", l, c2, 3, conv3),
            dec_res2: ResBlock::new(&d / "res2", g, c2),
            dec_up2: NormConv::new(&d / "up2", g, c2, c1, 1),
            dec_res1: ResBlock::new(&d / "res1", g, c1),
            dec_up1: NormConv::new(&d / "up1", g, c1, c0, 1),
            dec_out: NormConv::new(&d / "conv_out", g, c0, cin, 1),
            shift: ones.zeros_like(),
            scale: ones,
            config,
        }
    }

    /// x [N, 1, 32, 32] in [-1, 1] -> (mean, logvar), each [N, L, 8, 8].
    pub fn encode(&self, x: &Tensor) -> (Tensor, Tensor) {
        let h = self.enc_in.forward(x); // [N, c0, 32, 32]
        let h = self.enc_res1.forward(&self.enc_down1.forward(&h)); // [N, c1, 16, 16]
        let h = self.enc_res2.forward(&self.enc_down2.forward(&h)); // [N, c2, 8, 8]
        let moments = self.enc_out.forward(&h).chunk(2, 1); // [N, 2L, 8, 8] -> 2 x [N, L, 8, 8]
        // The clamp keeps exp(logvar) finite early in training, as in the LDM code.
        (moments[0].shallow_clone(), moments[1].clamp(-30.0, 20.0))
    }

    /// z [N, L, 8, 8] -> x [N, 1, 32, 32], unbounded: training uses this, because an
    /// L1 loss on a tanh output pushes the background (exactly -1) into saturation, where
    /// gradients vanish (a tanh version learned only blank images).
    fn decode_raw(&self, z: &Tensor) -> Tensor {
        let h = self.dec_res2.forward(&self.dec_in.forward(z)); // [N, c2, 8, 8]
        let h = self.dec_res1.forward(&self.dec_up2.forward_up(&h)); // [N, c1, 16, 16]
        let h = self.dec_up1.forward_up(&h); // [N, c0, 32, 32]
        self.dec_out.forward(&h) // [N, 1, 32, 32]
    }

    /// z [N, L, 8, 8] -> x [N, 1, 32, 32], clamped to [-1, 1].
    pub fn decode(&self, z: &Tensor) -> Tensor {
        self.decode_raw(z).clamp(-1.0, 1.0)
    }

    /// The deterministic reconstruction: decode the posterior mean.
    pub fn reconstruct(&self, x: &Tensor) -> Tensor {
        self.decode(&self.encode(x).0)
    }

    /// Posterior means -> diffusion latents: (mean - shift) * scale, per channel.
    pub fn normalize(&self, mean: &Tensor) -> Tensor {
        (mean - &self.shift) * &self.scale
    }

    /// Diffusion latents -> posterior-mean space: z / scale + shift.
    pub fn denormalize(&self, z: &Tensor) -> Tensor {
        z / &self.scale + &self.shift
    }

    /// x [N, 1, 32, 32] -> unit-variance latents [N, L, 8, 8] for the diffusion model.
    pub fn encode_latents(&self, x: &Tensor) -> Tensor {
        self.normalize(&self.encode(x).0)
    }

    /// The inverse of `encode_latents` on the latent side, then the decoder: [N, L, 8, 8] -> [N, 1, 32, 32].
    pub fn decode_latents(&self, z: &Tensor) -> Tensor {
        self.decode(&self.denormalize(z))
    }

    pub fn set_latent_stats(&mut self, shift: &[f64], scale: &[f64]) -> Result<()> {
        let l = self.config.latent_channels as usize;
        if shift.len() != l || scale.len() != l || scale.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            bail!("latent stats: shift {shift:?} and scale {scale:?}, expected {l} values each, scales finite and > 0");
        }
        let as_t = |v: &[f64]| Tensor::from_slice(v).to_kind(Kind::Float).reshape([1, l as i64, 1, 1]); // [L] -> [1, L, 1, 1]
        (self.shift, self.scale) = (as_t(shift), as_t(scale));
        Ok(())
    }

    /// (shift, scale), one value per latent channel.
    pub fn latent_stats(&self) -> (Vec<f64>, Vec<f64>) {
        let v = |t: &Tensor| Vec::<f64>::try_from(t.to_kind(Kind::Double).flatten(0, -1)).expect("float tensor to Vec");
        (v(&self.shift), v(&self.scale))
    }

    /// Per-channel mean and 1/std of the posterior means of all of `split`; sets and returns them.
    pub fn fit_latent_stats(&mut self, split: &Split) -> Result<(Vec<f64>, Vec<f64>)> {
        let means = tch::no_grad(|| {
            let parts: Vec<Tensor> = batches(split.len(), 500).map(|i| self.encode(&split.images_tensor(&i)).0).collect();
            Tensor::cat(&parts, 0) // [N, L, 8, 8]
        });
        let per_channel = means.transpose(0, 1).flatten(1, -1).to_kind(Kind::Double); // [N, L, 8, 8] -> [L, N * 64]
        let shift = Vec::<f64>::try_from(per_channel.mean_dim(1, false, Kind::Double))?;
        let std = Vec::<f64>::try_from(per_channel.std_dim(1, false, false))?;
        let scale: Vec<f64> = std.iter().map(|s| 1.0 / s).collect();
        self.set_latent_stats(&shift, &scale).context("fitting latent stats on the training split")?;
        Ok(self.latent_stats()) // as the model holds them (float32), so the checkpoint matches exactly
    }

    /// Mean squared error on the [0, 1] pixel scale of the reconstructions of the first `n` digits.
    pub fn heldout_mse(&self, split: &Split, n: usize) -> f64 {
        // [-1, 1] -> [0, 1] halves differences, hence the / 2.
        let sq = |x: Tensor| ((self.reconstruct(&x) - x) / 2.0).square().sum(Kind::Double).double_value(&[]);
        sum_batches(split, n, |idx| sq(split.images_tensor(idx))) / (n.min(split.len()).max(1) * 32 * 32) as f64
    }

    /// How often `clf` labels the reconstructions of the first `n` digits of `split` correctly.
    pub fn classifier_accuracy_on_reconstructions(&self, clf: &Classifier, split: &Split, n: usize) -> f64 {
        let hits = |idx: &[usize]| clf.predict(&self.reconstruct(&split.images_tensor(idx))).eq_tensor(&split.labels_tensor(idx));
        sum_batches(split, n, |idx| hits(idx).sum(Kind::Double).double_value(&[])) / n.min(split.len()).max(1) as f64
    }

    /// An autoencoder from checkpoint bytes: `config` builds it, the weights load strictly and
    /// `latent_shift` / `latent_scale` (JSON arrays) set the latent normalisation.
    pub fn from_bytes(bytes: &[u8], file: &str) -> Result<(Autoencoder, nn::VarStore, Metadata)> {
        let config: AutoencoderConfig = config_from_bytes(bytes, file)?;
        let vs = nn::VarStore::new(Device::Cpu);
        let mut ae = Autoencoder::new(vs.root(), config);
        let metadata = checkpoint::load_bytes(&vs, bytes, file)?;
        let stat = |key: &str| -> Result<Vec<f64>> {
            let text = metadata.get(key).ok_or_else(|| anyhow!("{file}: no `{key}` metadata"))?;
            serde_json::from_str(text).with_context(|| format!("{file}: `{key}` is not a JSON list of numbers: {text}"))
        };
        ae.set_latent_stats(&stat("latent_shift")?, &stat("latent_scale")?).with_context(|| file.to_string())?;
        Ok((ae, vs, metadata))
    }

    pub fn load(path: &Path) -> Result<(Autoencoder, nn::VarStore, Metadata)> {
        let bytes = std::fs::read(path).with_context(|| format!("cannot read autoencoder checkpoint {}", path.display()))?;
        Self::from_bytes(&bytes, &path.display().to_string())
    }

    /// The weights in `weights/autoencoder.safetensors`, compiled into the crate.
    pub fn shipped() -> Result<(Autoencoder, nn::VarStore)> {
        let (ae, vs, _) = Self::from_bytes(SHIPPED, "shipped weights/autoencoder.safetensors")?;
        Ok((ae, vs))
    }

    pub fn shipped_metadata() -> Result<Metadata> {
        Ok(Self::from_bytes(SHIPPED, "shipped weights/autoencoder.safetensors")?.2)
    }
}

/// `f` summed over the first `n` digits of `split` in batches of 250, without gradients.
fn sum_batches(split: &Split, n: usize, f: impl Fn(&[usize]) -> f64) -> f64 {
    tch::no_grad(|| batches(n.min(split.len()), 250).map(|idx| f(&idx)).sum())
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AeTrainConfig {
    pub model: AutoencoderConfig,
    pub seed: u64,
    pub steps: usize,
    pub batch_size: usize,
    /// Adam's peak learning rate; it decays along a cosine to 5 % of this.
    pub lr: f64,
    /// Weight of the KL term. Both terms are means (L1 per pixel, KL per latent
    /// element), so 1e-5 here is 4e-5 in the LDM code's per-sample sums.
    pub kl_weight: f64,
    /// Weight of the squared error added to the L1 reconstruction loss.
    pub mse_weight: f64,
}

impl Default for AeTrainConfig {
    fn default() -> Self {
        AeTrainConfig { model: AutoencoderConfig::default(), seed: 0, steps: 2000, batch_size: 32, lr: 2e-3, kl_weight: 1e-5, mse_weight: 1.0 }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AeReport {
    pub steps: usize,
    pub train_seconds: f64,
    pub final_loss: f64,
    /// On the [0, 1] pixel scale, over all held-out digits.
    pub heldout_mse: f64,
    pub parameters: i64,
    pub latent_shift: Vec<f64>,
    pub latent_scale: Vec<f64>,
}

/// Trains on `data.train` only (deterministic for a seed), fits the latent
/// statistics on the train split, then measures all of `data.heldout`.
pub fn train_autoencoder(data: &Mnist, cfg: &AeTrainConfig) -> Result<(Autoencoder, nn::VarStore, AeReport)> {
    if cfg.batch_size == 0 || cfg.steps == 0 || cfg.batch_size > data.train.len() {
        bail!("train_autoencoder: batch_size {} must be in 1..={} and steps {} positive", cfg.batch_size, data.train.len(), cfg.steps);
    }
    let c = &cfg.model;
    if c.channels.iter().chain([&(2 * c.latent_channels)]).any(|w| *w <= 0 || w % c.groups != 0) {
        bail!("train_autoencoder: channels {:?} and 2 x latent_channels must be positive multiples of groups {}", c.channels, c.groups);
    }
    tch::manual_seed(cfg.seed as i64);
    let vs = nn::VarStore::new(Device::Cpu);
    let mut ae = Autoencoder::new(vs.root(), cfg.model.clone());
    // Start with posterior std e^-3 = 0.05 instead of 1: with unit noise the decoder
    // sees mostly noise, and the weak KL term let that waste the first ~100 steps.
    tch::no_grad(|| {
        let l = cfg.model.latent_channels;
        let bias = ae.enc_out.conv.bs.as_ref().expect("conv_out has a bias");
        let _ = bias.narrow(0, l, l).fill_(-6.0); // [2L]: means, then log-variances
    });
    let mut opt = nn::Adam::default().build(&vs, cfg.lr).context("cannot build Adam")?;
    let images = all_images(&data.train); // [8000, 1, 32, 32]
    let (n, bs) = (data.train.len() as i64, cfg.batch_size as i64);
    let bar = progress_bar(cfg.steps as u64, "autoencoder")?;
    let (start, mut recent, mut perm, mut pos) = (Instant::now(), Vec::new(), Tensor::zeros([0], (Kind::Int64, Device::Cpu)), n);
    for step in 0..cfg.steps {
        if pos + bs > n {
            // A fresh permutation each epoch; the partial batch at the end is skipped.
            (perm, pos) = (Tensor::randperm(n, (Kind::Int64, Device::Cpu)), 0);
        }
        let x = images.index_select(0, &perm.narrow(0, pos, bs)); // [B, 1, 32, 32]
        pos += bs;
        let (mean, logvar) = ae.encode(&x);
        let z = &mean + (&logvar * 0.5).exp() * mean.randn_like(); // reparameterised sample
        let err = ae.decode_raw(&z) - &x;
        // L1 alone has no path through blurry images (the per-pixel median is blank
        // background), so it plateaus early; the squared error gives that path.
        let rec = err.abs().mean(Kind::Float) + err.square().mean(Kind::Float) * cfg.mse_weight;
        // KL(N(mean, var) || N(0, 1)) per latent element.
        let kl = ((mean.square() + logvar.exp() - 1.0 - &logvar) * 0.5).mean(Kind::Float);
        let loss = &rec + kl * cfg.kl_weight;
        opt.set_lr(cosine_lr(cfg.lr, step, cfg.steps));
        opt.backward_step(&loss);
        let l = loss.double_value(&[]);
        if !l.is_finite() {
            bail!("train_autoencoder: loss became {l} at step {step}");
        }
        recent.push(l);
        let last = &recent[recent.len().saturating_sub(20)..];
        bar.set_message(format!("loss {:.4}", last.iter().sum::<f64>() / last.len() as f64));
        bar.inc(1);
    }
    bar.finish();
    let train_seconds = start.elapsed().as_secs_f64();
    let (latent_shift, latent_scale) = ae.fit_latent_stats(&data.train)?;
    let last = &recent[recent.len().saturating_sub(20)..];
    let report = AeReport {
        steps: cfg.steps,
        train_seconds,
        final_loss: last.iter().sum::<f64>() / last.len() as f64,
        heldout_mse: ae.heldout_mse(&data.heldout, data.heldout.len()),
        parameters: param_count(&vs),
        latent_shift,
        latent_scale,
    };
    Ok((ae, vs, report))
}

fn json<T: Serialize + ?Sized>(v: &T) -> Result<String> {
    serde_json::to_string(v).context("cannot serialise checkpoint metadata")
}

/// The checkpoint metadata of a trained autoencoder; `clf_accuracy` is the
/// classifier's accuracy on reconstructions of the held-out digits, if measured.
pub fn autoencoder_metadata(cfg: &AeTrainConfig, report: &AeReport, command: &str, clf_accuracy: Option<f64>) -> Result<Metadata> {
    let mut m: Metadata = [
        ("config", json(&cfg.model)?),
        ("train_config", json(cfg)?),
        ("latent_shift", json(&report.latent_shift[..])?),
        ("latent_scale", json(&report.latent_scale[..])?),
        ("command", command.to_string()),
        ("seed", cfg.seed.to_string()),
        ("steps", report.steps.to_string()),
        ("train_seconds", format!("{:.1}", report.train_seconds)),
        ("parameters", report.parameters.to_string()),
        ("heldout_mse", format!("{:.5}", report.heldout_mse)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if let Some(acc) = clf_accuracy {
        m.insert("classifier_accuracy_on_reconstructions".into(), format!("{acc:.4}"));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_1x32x32_to_4x8x8_to_1x32x32_and_parameter_count() {
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let ae = Autoencoder::new(vs.root(), AutoencoderConfig::default());
        let x = Tensor::rand([2, 1, 32, 32], (Kind::Float, Device::Cpu)) * 2.0 - 1.0;
        let (mean, logvar, y, z) = tch::no_grad(|| {
            let (m, l) = ae.encode(&x);
            let y = ae.decode(&m);
            (m, l, y, ae.encode_latents(&x))
        });
        assert_eq!((mean.size(), logvar.size(), z.size()), (vec![2, 4, 8, 8], vec![2, 4, 8, 8], vec![2, 4, 8, 8]));
        assert_eq!(y.size(), vec![2, 1, 32, 32]);
        assert!(y.abs().max().double_value(&[]) <= 1.0);
        // By hand: a 3x3 conv a->b has 9ab + b parameters, a GroupNorm over c channels 2c.
        let conv = |a: i64, b: i64| 9 * a * b + b;
        let nc = |a: i64, b: i64| 2 * a + conv(a, b);
        let res = |c: i64| 2 * nc(c, c);
        let encoder = conv(1, 32) + nc(32, 64) + res(64) + nc(64, 64) + res(64) + nc(64, 8);
        let decoder = conv(4, 64) + res(64) + nc(64, 64) + res(64) + nc(64, 32) + nc(32, 1);
        assert_eq!(param_count(&vs), encoder + decoder);
        assert!((300_000..500_000).contains(&(encoder + decoder)));
    }

    #[test]
    fn encode_latents_and_decode_latents_invert_each_other_on_the_latent_side() {
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let mut ae = Autoencoder::new(vs.root(), AutoencoderConfig::default());
        ae.set_latent_stats(&[0.5, -1.0, 2.0, 0.0], &[2.0, 0.25, 1.0, 4.0]).unwrap();
        let x = Tensor::rand([3, 1, 32, 32], (Kind::Float, Device::Cpu)) * 2.0 - 1.0;
        tch::no_grad(|| {
            let mean = ae.encode(&x).0;
            let z = ae.encode_latents(&x);
            // Channel 1 by hand: (mean + 1) * 0.25.
            let by_hand = (mean.narrow(1, 1, 1) + 1.0) * 0.25;
            assert!(z.narrow(1, 1, 1).allclose(&by_hand, 1e-6, 1e-6, false));
            assert!(ae.denormalize(&z).allclose(&mean, 1e-5, 1e-5, false));
            let w = Tensor::randn([3, 4, 8, 8], (Kind::Float, Device::Cpu));
            assert!(ae.normalize(&ae.denormalize(&w)).allclose(&w, 1e-5, 1e-5, false));
            assert!(ae.decode_latents(&z).allclose(&ae.decode(&mean), 1e-5, 1e-5, false));
        });
        assert_eq!(ae.latent_stats(), (vec![0.5, -1.0, 2.0, 0.0], vec![2.0, 0.25, 1.0, 4.0]));
        assert!(ae.set_latent_stats(&[0.0; 4], &[1.0, 0.0, 1.0, 1.0]).is_err());
        assert!(ae.set_latent_stats(&[0.0; 3], &[1.0; 3]).is_err());
    }

    #[test]
    fn shipped_autoencoder_reconstructs_heldout_digits_the_classifier_still_reads() {
        let (ae, _vs) = Autoencoder::shipped().unwrap();
        let (clf, _cvs) = Classifier::shipped().unwrap();
        let m = Mnist::load(None).unwrap();
        let mse = ae.heldout_mse(&m.heldout, 500);
        assert!(mse < 0.012, "held-out MSE on [0, 1] {mse}");
        let acc = ae.classifier_accuracy_on_reconstructions(&clf, &m.heldout, 500);
        println!("first 500 held-out digits: MSE {mse:.5} on [0, 1], classifier accuracy on reconstructions {acc:.4}");
        assert!(acc >= 0.96, "classifier accuracy on reconstructions {acc}");
    }

    #[test]
    fn shipped_latents_have_about_zero_mean_and_unit_variance_per_channel() {
        let (ae, _vs) = Autoencoder::shipped().unwrap();
        let m = Mnist::load(None).unwrap();
        let z = tch::no_grad(|| ae.encode_latents(&m.train.images_tensor(&(0..500).collect::<Vec<_>>())));
        let per_channel = z.transpose(0, 1).flatten(1, -1); // [500, 4, 8, 8] -> [4, 500 * 64]
        let means = Vec::<f64>::try_from(per_channel.mean_dim(1, false, Kind::Double)).unwrap();
        let stds = Vec::<f64>::try_from(per_channel.to_kind(Kind::Double).std_dim(1, false, false)).unwrap();
        assert!(means.iter().all(|m| m.abs() < 0.15), "{means:?}");
        assert!(stds.iter().all(|s| (0.85..1.15).contains(s)), "{stds:?}");
    }

    #[test]
    fn shipped_metadata_is_present_and_rebuilds_the_architecture() {
        let meta = Autoencoder::shipped_metadata().unwrap();
        let keys = ["config", "latent_shift", "latent_scale", "command", "seed", "train_seconds", "heldout_mse"];
        for key in keys.iter().chain(&["classifier_accuracy_on_reconstructions"]) {
            assert!(meta.contains_key(*key), "missing metadata `{key}`: {meta:?}");
        }
        let config: AutoencoderConfig = serde_json::from_str(&meta["config"]).unwrap();
        let vs = nn::VarStore::new(Device::Cpu);
        let _ae = Autoencoder::new(vs.root(), config);
        checkpoint::load_bytes(&vs, SHIPPED, "shipped").unwrap();
        for key in ["latent_shift", "latent_scale"] {
            let v: Vec<f64> = serde_json::from_str(&meta[key]).unwrap();
            assert!(v.len() == 4 && v.iter().all(|x| x.is_finite()), "{key}: {v:?}");
        }
        assert!(meta["command"].contains("train-autoencoder"), "{}", meta["command"]);
        meta["seed"].parse::<u64>().unwrap();
        assert!(meta["train_seconds"].parse::<f64>().unwrap() > 0.0);
        let mse: f64 = meta["heldout_mse"].parse().unwrap();
        let acc: f64 = meta["classifier_accuracy_on_reconstructions"].parse().unwrap();
        assert!(mse > 0.0 && mse < 0.012 && (0.96..=1.0).contains(&acc), "{mse} {acc}");
    }

    #[test]
    fn a_few_training_steps_fill_the_report_and_metadata() {
        let m = Mnist::load(None).unwrap();
        let cut = |s: &Split, n: usize| Split::new(s.images[..n * 784].to_vec(), s.labels[..n].to_vec()).unwrap();
        let small = Mnist { train: cut(&m.train, 64), heldout: cut(&m.heldout, 32), source: m.source };
        let model = AutoencoderConfig { channels: [8, 16, 16], ..Default::default() };
        let cfg = AeTrainConfig { model, steps: 6, batch_size: 16, ..Default::default() };
        let (ae, _vs, report) = train_autoencoder(&small, &cfg).unwrap();
        assert!(report.steps == 6 && report.final_loss.is_finite() && report.heldout_mse > 0.0);
        assert_eq!(ae.latent_stats(), (report.latent_shift.clone(), report.latent_scale.clone()));
        let meta = autoencoder_metadata(&cfg, &report, "ldm train-autoencoder --steps 6", Some(0.5)).unwrap();
        assert_eq!(serde_json::from_str::<AutoencoderConfig>(&meta["config"]).unwrap(), cfg.model);
    }
}

