//! The time-conditioned ResnetBlock and the Unet's down and up samplers.

use crate::layers::{conv, group_norm, linear};
use anyhow::Result;
use serde::{Deserialize, Serialize};
use tch::{nn, nn::Module, Tensor};
use workbook::shape::{expect_same_batch, expect_shape, Dim};

// @region resnet_block_config
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResnetBlockConfig {
    pub dim: i64,
    pub dim_out: i64,
    pub time_emb_dim: i64,
    pub dropout: f64,
}

impl Default for ResnetBlockConfig {
    fn default() -> Self {
        ResnetBlockConfig { dim: 32, dim_out: 32, time_emb_dim: 128, dropout: 0.0 }
    }
}

// @endregion

// @region resnet_block
#[derive(Debug)]
pub struct ResnetBlock {
    pub config: ResnetBlockConfig,
    // @fields `time_emb_layers.1`, `in_layers.0` and `.2`, `out_layers.0` and `.3`, and an optional `skip_connection`
    time_emb_layers_1: nn::Linear,
    in_layers_0: nn::GroupNorm,
    in_layers_2: nn::Conv2D,
    out_layers_0: nn::GroupNorm,
    out_layers_3: nn::Conv2D,
    skip_connection: Option<nn::Conv2D>,
    // @endfields
}

impl ResnetBlock {
    pub fn new(vs: nn::Path, config: ResnetBlockConfig) -> Self {
        // @todo `time_emb_layers.1`: Linear(time_emb_dim, 2 * dim_out); `in_layers.0`: group_norm(dim), `.2`: 3x3 conv dim -> dim_out. // `out_layers.0`: group_norm(dim_out), `.3`: 3x3 conv; `skip_connection`: 1x1 conv, only when dim != dim_out.
        let ResnetBlockConfig { dim, dim_out, time_emb_dim, .. } = config;
        ResnetBlock {
            time_emb_layers_1: linear(&vs / "time_emb_layers" / 1, time_emb_dim, 2 * dim_out, true),
            in_layers_0: group_norm(&vs / "in_layers" / 0, dim, 1e-5),
            in_layers_2: conv(&vs / "in_layers" / 2, dim, dim_out, 3),
            out_layers_0: group_norm(&vs / "out_layers" / 0, dim_out, 1e-5),
            out_layers_3: conv(&vs / "out_layers" / 3, dim_out, dim_out, 3),
            skip_connection: (dim != dim_out).then(|| conv(&vs / "skip_connection", dim, dim_out, 1)),
            config,
        }
        // @endtodo
    }

    /// x: [B, dim, H, W], time_emb: [B, time_emb_dim] -> [B, dim_out, H, W]
    pub fn forward(&self, x: &Tensor, time_emb: &Tensor, train: bool) -> Tensor {
        // @todo h = conv(silu(norm(x))); (scale, shift) from Linear(silu(time_emb)), shaped [B, dim_out, 1, 1]. // h = norm(h) * (1 + scale) + shift, then SiLU, dropout, conv; return skip(x) + h.
        let h = self.in_layers_2.forward(&self.in_layers_0.forward(x).silu());
        let emb = self.time_emb_layers_1.forward(&time_emb.silu()).unsqueeze(-1).unsqueeze(-1); // [B, 2*dim_out, 1, 1]
        let scale_shift = emb.chunk(2, 1);
        let (scale, shift) = (&scale_shift[0], &scale_shift[1]);
        let h = self.out_layers_0.forward(&h) * (scale + 1.0) + shift;
        let h = self.out_layers_3.forward(&h.silu().dropout(self.config.dropout, train));
        let skip = match &self.skip_connection {
            Some(conv) => conv.forward(x),
            None => x.shallow_clone(),
        };
        skip + h
        // @endtodo
    }
}
// @endregion

// @region resnet_block_checked
impl ResnetBlock {
    pub fn try_forward(&self, x: &Tensor, time_emb: &Tensor, train: bool) -> Result<Tensor> {
        let c = &self.config;
        expect_shape("ResnetBlock", "x", x, &[Dim::Any("B"), Dim::Is(c.dim, "dim"), Dim::Any("H"), Dim::Any("W")])?;
        expect_shape("ResnetBlock", "time_emb", time_emb, &[Dim::Any("B"), Dim::Is(c.time_emb_dim, "time_emb_dim")])?;
        expect_same_batch("ResnetBlock", ("x", x), ("time_emb", time_emb))?;
        Ok(self.forward(x, time_emb, train))
    }
}
// @endregion

// @region samplers
/// Halves the resolution without losing pixels: 2x2 space-to-depth, then a 1x1 conv.
#[derive(Debug)]
pub struct Downsample {
    conv: nn::Conv2D,
}

impl Downsample {
    /// `vs` is the sampler's own path; the conv sits at `.1` as in the PyTorch Sequential.
    pub fn new(vs: nn::Path, dim: i64, dim_out: i64) -> Self {
        Downsample { conv: conv(&vs / 1, dim * 4, dim_out, 1) }
    }

    /// x: [B, C, H, W] -> [B, C*4, H/2, W/2] (channel order c, p1, p2) -> [B, dim_out, H/2, W/2]
    pub fn forward(&self, x: &Tensor) -> Tensor {
        self.conv.forward(&x.pixel_unshuffle(2))
    }
}

/// Doubles the resolution: nearest-neighbour x2, then a 3x3 conv.
#[derive(Debug)]
pub struct Upsample {
    conv: nn::Conv2D,
}

impl Upsample {
    pub fn new(vs: nn::Path, dim: i64, dim_out: i64) -> Self {
        Upsample { conv: conv(&vs / 1, dim, dim_out, 3) }
    }

    /// x: [B, C, H, W] -> [B, C, 2H, 2W] -> [B, dim_out, 2H, 2W]
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let (_, _, h, w) = x.size4().unwrap();
        self.conv.forward(&x.upsample_nearest2d([2 * h, 2 * w], None, None))
    }
}
// @endregion
