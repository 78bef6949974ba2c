//! The conditional Unet: ResnetBlocks and SpatialTransformers on every level,
//! skip connections from each down level to its up level.

use crate::attention::{SpatialTransformer, SpatialTransformerConfig};
use crate::embeddings::SinusoidalPosEmb;
use crate::layers::{conv, group_norm, linear};
use crate::resnet::{Downsample, ResnetBlock, ResnetBlockConfig, Upsample};
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use tch::{nn, nn::Module, Kind, Tensor};
use workbook::shape::{expect_same_batch, expect_shape, Dim};

/// SpatialTransformers inside the Unet use these, as in the original.
pub const UNET_HEADS: i64 = 4;
pub const UNET_DIM_HEAD: i64 = 32;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnetConfig {
    pub dim: i64,
    pub init_dim: Option<i64>,
    pub out_dim: Option<i64>,
    pub dim_mults: Vec<i64>,
    pub channels: i64,
    pub context_dim: Option<i64>,
    pub dropout: f64,
}

impl Default for UnetConfig {
    fn default() -> Self {
        UnetConfig { dim: 16, init_dim: None, out_dim: None, dim_mults: vec![1, 2, 4], channels: 1, context_dim: None, dropout: 0.0 }
    }
}

impl UnetConfig {
    /// [init_dim, dim*m for m in dim_mults]
    pub fn dims(&self) -> Vec<i64> {
        let mut dims = vec![self.init_dim.unwrap_or(self.dim)];
        dims.extend(self.dim_mults.iter().map(|m| self.dim * m));
        dims
    }
}

/// How a level changes resolution: a sampler, or a plain 3x3 conv at the last level.
#[derive(Debug)]
enum Resample {
    Down(Downsample),
    Up(Upsample),
    Conv(nn::Conv2D),
}

impl Resample {
    fn forward(&self, x: &Tensor) -> Tensor {
        match self {
            Resample::Down(d) => d.forward(x),
            Resample::Up(u) => u.forward(x),
            Resample::Conv(c) => c.forward(x),
        }
    }
}

/// One level: `{0}` ResnetBlock, `{1}` SpatialTransformer, `{2}` ResnetBlock, `{3}` SpatialTransformer, `{4}` resample.
#[derive(Debug)]
struct Level {
    block1: ResnetBlock,
    attn1: SpatialTransformer,
    block2: ResnetBlock,
    attn2: SpatialTransformer,
    resample: Resample,
}

#[derive(Debug)]
pub struct Unet {
    pub config: UnetConfig,
    init_conv: nn::Conv2D,
    time_pos_emb: SinusoidalPosEmb,
    time_mlp_1: nn::Linear,
    time_mlp_3: nn::Linear,
    downs: Vec<Level>,
    mid_block1: ResnetBlock,
    mid_attn: SpatialTransformer,
    mid_block2: ResnetBlock,
    ups: Vec<Level>,
    final_conv: nn::Conv2D,
    out_0: nn::GroupNorm,
    out_2: nn::Conv2D,
}

impl Unet {
    pub fn new(vs: nn::Path, config: UnetConfig) -> Self {
        let c = &config;
        let dims = c.dims();
        let init_dim = dims[0];
        let time_dim = 4 * c.dim;
        let in_out: Vec<(i64, i64)> = dims.windows(2).map(|w| (w[0], w[1])).collect();
        let last = in_out.len() - 1;
        let resnet = |path: nn::Path, dim, dim_out| {
            ResnetBlock::new(path, ResnetBlockConfig { dim, dim_out, time_emb_dim: time_dim, dropout: c.dropout })
        };
        let st = |path: nn::Path, in_channels| {
            let config = SpatialTransformerConfig {
                in_channels,
                n_heads: UNET_HEADS,
                d_head: UNET_DIM_HEAD,
                depth: 1,
                dropout: c.dropout,
                context_dim: c.context_dim,
            };
            SpatialTransformer::new(path, config)
        };
        let downs = in_out
            .iter()
            .enumerate()
            .map(|(i, &(a, b))| {
                let p = &vs / "downs" / i;
                let resample = if i < last {
                    Resample::Down(Downsample::new(&p / 4, a, b))
                } else {
                    Resample::Conv(conv(&p / 4, a, b, 3))
                };
                Level { block1: resnet(&p / 0, a, a), attn1: st(&p / 1, a), block2: resnet(&p / 2, a, a), attn2: st(&p / 3, a), resample }
            })
            .collect();
        let mid = *dims.last().unwrap();
        let ups = in_out
            .iter()
            .rev()
            .enumerate()
            .map(|(i, &(a, b))| {
                let p = &vs / "ups" / i;
                let resample =
                    if i < last { Resample::Up(Upsample::new(&p / 4, b, a)) } else { Resample::Conv(conv(&p / 4, b, a, 3)) };
                Level {
                    block1: resnet(&p / 0, b + a, b),
                    attn1: st(&p / 1, b),
                    block2: resnet(&p / 2, b + a, b),
                    attn2: st(&p / 3, b),
                    resample,
                }
            })
            .collect();
        Unet {
            init_conv: conv(&vs / "init_conv", c.channels, init_dim, 7),
            time_pos_emb: SinusoidalPosEmb::new(c.dim),
            time_mlp_1: linear(&vs / "time_mlp" / 1, c.dim, time_dim, true),
            time_mlp_3: linear(&vs / "time_mlp" / 3, time_dim, time_dim, true),
            downs,
            mid_block1: resnet(&vs / "mid_block1", mid, mid),
            mid_attn: st(&vs / "mid_attn", mid),
            mid_block2: resnet(&vs / "mid_block2", mid, mid),
            ups,
            final_conv: conv(&vs / "final_conv", 2 * init_dim, init_dim, 3),
            out_0: group_norm(&vs / "out" / 0, init_dim, 1e-5),
            out_2: conv(&vs / "out" / 2, init_dim, c.out_dim.unwrap_or(c.channels), 3),
            config,
        }
    }

    /// x: [B, channels, H, W], time: [B] (int64), context: [B, M, context_dim] -> [B, out_dim, H, W]
    pub fn forward(&self, x: &Tensor, time: &Tensor, context: Option<&Tensor>, train: bool) -> Tensor {
        let x = self.init_conv.forward(x);
        let r = x.shallow_clone();
        let t = self.time_mlp_3.forward(&self.time_mlp_1.forward(&self.time_pos_emb.forward(time)).silu());
        let mut skips = Vec::new();
        let mut x = x;
        for level in &self.downs {
            x = level.attn1.forward(&level.block1.forward(&x, &t, train), context, train);
            skips.push(x.shallow_clone());
            x = level.attn2.forward(&level.block2.forward(&x, &t, train), context, train);
            skips.push(x.shallow_clone());
            x = level.resample.forward(&x);
        }
        x = self.mid_block1.forward(&x, &t, train);
        x = self.mid_attn.forward(&x, context, train);
        x = self.mid_block2.forward(&x, &t, train);
        for level in &self.ups {
            let skip = skips.pop().expect("one skip per down block");
            x = level.attn1.forward(&level.block1.forward(&Tensor::cat(&[&x, &skip], 1), &t, train), context, train);
            let skip = skips.pop().expect("one skip per down block");
            x = level.attn2.forward(&level.block2.forward(&Tensor::cat(&[&x, &skip], 1), &t, train), context, train);
            x = level.resample.forward(&x);
        }
        let x = self.final_conv.forward(&Tensor::cat(&[&x, &r], 1));
        self.out_2.forward(&self.out_0.forward(&x).silu())
    }

    pub fn try_forward(&self, x: &Tensor, time: &Tensor, context: Option<&Tensor>, train: bool) -> Result<Tensor> {
        let c = &self.config;
        let dims = [Dim::Any("B"), Dim::Is(c.channels, "channels"), Dim::Any("H"), Dim::Any("W")];
        expect_shape("Unet", "x", x, &dims)?;
        expect_shape("Unet", "time", time, &[Dim::Any("B")])?;
        expect_same_batch("Unet", ("x", x), ("time", time))?;
        if !matches!(time.kind(), Kind::Int64 | Kind::Int | Kind::Float) {
            bail!("Unet: input `time` has kind {:?}, expected int64 step indices", time.kind());
        }
        let factor = 1i64 << (c.dim_mults.len() - 1);
        let (_, _, h, w) = x.size4()?;
        if h % factor != 0 || w % factor != 0 {
            bail!("Unet: input `x` is {h}x{w}, expected height and width divisible by {factor} (2^(len(dim_mults) - 1))");
        }
        if let Some(ctx) = context {
            let dim = c.context_dim.unwrap_or(UNET_HEADS * UNET_DIM_HEAD);
            expect_shape("Unet", "context", ctx, &[Dim::Any("B"), Dim::Any("M"), Dim::Is(dim, "context_dim")])?;
            expect_same_batch("Unet", ("x", x), ("context", ctx))?;
        }
        Ok(self.forward(x, time, context, train))
    }
}
