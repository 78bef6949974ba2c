//! The sinusoidal time embedding that tells every ResnetBlock which step it denoises.

use tch::{Kind, Tensor};

// @region sinusoidal
#[derive(Debug, Clone, Copy)]
pub struct SinusoidalPosEmb {
    pub dim: i64,
}

impl SinusoidalPosEmb {
    pub fn new(dim: i64) -> Self {
        SinusoidalPosEmb { dim }
    }

    /// time: [B] (int64 or float) -> [B, dim]: [sin(t f_k), cos(t f_k)], f_k = exp(-k ln(10000) / (half - 1)).
    pub fn forward(&self, time: &Tensor) -> Tensor {
        let half = self.dim / 2;
        let step = (10000f64).ln() / (half - 1) as f64;
        let freqs = (Tensor::arange(half, (Kind::Float, time.device())) * -step).exp(); // [half]
        let args = time.to_kind(Kind::Float).unsqueeze(1) * freqs.unsqueeze(0); // [B, half]
        let emb = Tensor::cat(&[args.sin(), args.cos()], -1); // [B, 2*half]
        if self.dim % 2 == 1 {
            emb.pad([0, 1], "constant", Some(0.0)) // [B, dim]
        } else {
            emb
        }
    }
}
// @endregion
