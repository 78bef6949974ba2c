//! The first stage: what the diffusion model sees (the autoencoder's latents, or
//! pixels) and how its samples become images again.

use crate::autoencoder::Autoencoder;
use crate::data::Split;
use anyhow::Result;
use tch::{nn::VarStore, Tensor};

pub enum FirstStage {
    Pixel,
    /// The shipped KL autoencoder (f = 4): 32x32x1 <-> 8x8x4, latents scaled to unit variance.
    Latent(Autoencoder, VarStore),
}

impl FirstStage {
    /// The shipped autoencoder (latent space) or the identity (pixel space).
    pub fn new(latent: bool) -> Result<Self> {
        Ok(if latent {
            let (ae, vs) = Autoencoder::shipped()?;
            FirstStage::Latent(ae, vs)
        } else {
            FirstStage::Pixel
        })
    }

    /// Every image of the split, as the diffusion model's training examples.
    pub fn encode_split(&self, split: &Split) -> Tensor {
        let all: Vec<usize> = (0..split.len()).collect();
        match self {
            FirstStage::Pixel => split.images_tensor(&all), // [N, 1, 32, 32] in [-1, 1]
            FirstStage::Latent(ae, _) => tch::no_grad(|| {
                let parts: Vec<Tensor> = all.chunks(500).map(|c| ae.encode_latents(&split.images_tensor(c))).collect();
                Tensor::cat(&parts, 0) // [N, 4, 8, 8], unit variance
            }),
        }
    }

    /// Samples -> images [N, 1, 32, 32] in [-1, 1].
    pub fn decode(&self, x: &Tensor) -> Tensor {
        match self {
            FirstStage::Pixel => x.clamp(-1.0, 1.0),
            FirstStage::Latent(ae, _) => tch::no_grad(|| ae.decode_latents(x).clamp(-1.0, 1.0)),
        }
    }

    /// The shape of one sample: [C, H, W].
    pub fn sample_shape(&self) -> [i64; 3] {
        match self {
            FirstStage::Pixel => [1, 32, 32],
            FirstStage::Latent(..) => [4, 8, 8],
        }
    }
}
