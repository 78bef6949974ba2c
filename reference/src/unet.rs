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

// @region unet_config
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

    /// Consecutive pairs (a, b) of `dims`: one per level.
    pub fn in_out(&self) -> Vec<(i64, i64)> {
        self.dims().windows(2).map(|w| (w[0], w[1])).collect()
    }

    /// The time embedding's width, 4 * dim.
    pub fn time_dim(&self) -> i64 {
        4 * self.dim
    }

    pub fn resnet(&self, vs: nn::Path, dim: i64, dim_out: i64) -> ResnetBlock {
        ResnetBlock::new(vs, ResnetBlockConfig { dim, dim_out, time_emb_dim: self.time_dim(), dropout: self.dropout })
    }

    pub fn transformer(&self, vs: nn::Path, in_channels: i64) -> SpatialTransformer {
        let c = SpatialTransformerConfig {
            in_channels,
            n_heads: UNET_HEADS,
            d_head: UNET_DIM_HEAD,
            depth: 1,
            dropout: self.dropout,
            context_dim: self.context_dim,
        };
        SpatialTransformer::new(vs, c)
    }
}
// @endregion

// @region unet_parts
/// How a level changes resolution: a sampler, or a plain 3x3 conv at the last level.
#[derive(Debug)]
pub enum Resample {
    Down(Downsample),
    Up(Upsample),
    Conv(nn::Conv2D),
}

impl Resample {
    pub fn forward(&self, x: &Tensor) -> Tensor {
        match self {
            Resample::Down(d) => d.forward(x),
            Resample::Up(u) => u.forward(x),
            Resample::Conv(c) => c.forward(x),
        }
    }
}

/// One level: `{0}` ResnetBlock, `{1}` SpatialTransformer, `{2}` ResnetBlock, `{3}` SpatialTransformer, `{4}` resample.
#[derive(Debug)]
pub struct Level {
    pub block1: ResnetBlock,
    pub attn1: SpatialTransformer,
    pub block2: ResnetBlock,
    pub attn2: SpatialTransformer,
    pub resample: Resample,
}

#[derive(Debug)]
pub struct Unet {
    pub config: UnetConfig,
    pub init_conv: nn::Conv2D,
    pub time_pos_emb: SinusoidalPosEmb,
    pub time_mlp_1: nn::Linear,
    pub time_mlp_3: nn::Linear,
    pub downs: Vec<Level>,
    pub mid_block1: ResnetBlock,
    pub mid_attn: SpatialTransformer,
    pub mid_block2: ResnetBlock,
    pub ups: Vec<Level>,
    pub final_conv: nn::Conv2D,
    pub out_0: nn::GroupNorm,
    pub out_2: nn::Conv2D,
}
// @endregion

// @region unet_levels
/// `downs.{i}` for each pair (a, b): Resnet(a, a), ST(a), Resnet(a, a), ST(a), then
/// Downsample(a, b) at `.4`, or at the last level a 3x3 conv a -> b.
pub fn down_levels(vs: &nn::Path, c: &UnetConfig) -> Vec<Level> {
    // @todo One Level per pair of `c.in_out()`, on the path `vs / "downs" / i`. // Use `c.resnet(path, a, a)`, `c.transformer(path, a)`, `Downsample::new(path, a, b)` and `conv(path, a, b, 3)`.
    let in_out = c.in_out();
    let last = in_out.len() - 1;
    in_out
        .iter()
        .enumerate()
        .map(|(i, &(a, b))| {
            let p = vs / "downs" / i;
            let resample = if i < last { Resample::Down(Downsample::new(&p / 4, a, b)) } else { Resample::Conv(conv(&p / 4, a, b, 3)) };
            Level { block1: c.resnet(&p / 0, a, a), attn1: c.transformer(&p / 1, a), block2: c.resnet(&p / 2, a, a), attn2: c.transformer(&p / 3, a), resample }
        })
        .collect()
    // @endtodo
}

/// `ups.{i}` for each pair (a, b) in reverse: Resnet(b + a, b), ST(b), Resnet(b + a, b), ST(b),
/// then Upsample(b, a) at `.4`, or at the last level a 3x3 conv b -> a.
pub fn up_levels(vs: &nn::Path, c: &UnetConfig) -> Vec<Level> {
    // @todo As `down_levels`, over `c.in_out()` reversed; the ResnetBlocks take the skip's channels too (b + a).
    let in_out = c.in_out();
    let last = in_out.len() - 1;
    in_out
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &(a, b))| {
            let p = vs / "ups" / i;
            let resample = if i < last { Resample::Up(Upsample::new(&p / 4, b, a)) } else { Resample::Conv(conv(&p / 4, b, a, 3)) };
            Level { block1: c.resnet(&p / 0, b + a, b), attn1: c.transformer(&p / 1, b), block2: c.resnet(&p / 2, b + a, b), attn2: c.transformer(&p / 3, b), resample }
        })
        .collect()
    // @endtodo
}
// @endregion

// @region unet_new
impl Unet {
    pub fn new(vs: nn::Path, config: UnetConfig) -> Self {
        // @todo `init_conv` 7x7 (channels -> init_dim); `time_mlp.1` Linear(dim, 4 dim), `time_mlp.3` Linear(4 dim, 4 dim). // the levels; `mid_block1`, `mid_attn`, `mid_block2` at the last dim; `final_conv` 3x3 (2 init_dim -> init_dim); `out.0` group_norm, `out.2` 3x3 conv to out_dim (or channels).
        let c = &config;
        let dims = c.dims();
        let (init_dim, mid) = (dims[0], *dims.last().expect("at least one level"));
        Unet {
            init_conv: conv(&vs / "init_conv", c.channels, init_dim, 7),
            time_pos_emb: SinusoidalPosEmb::new(c.dim),
            time_mlp_1: linear(&vs / "time_mlp" / 1, c.dim, c.time_dim(), true),
            time_mlp_3: linear(&vs / "time_mlp" / 3, c.time_dim(), c.time_dim(), true),
            downs: down_levels(&vs, c),
            mid_block1: c.resnet(&vs / "mid_block1", mid, mid),
            mid_attn: c.transformer(&vs / "mid_attn", mid),
            mid_block2: c.resnet(&vs / "mid_block2", mid, mid),
            ups: up_levels(&vs, c),
            final_conv: conv(&vs / "final_conv", 2 * init_dim, init_dim, 3),
            out_0: group_norm(&vs / "out" / 0, init_dim, 1e-5),
            out_2: conv(&vs / "out" / 2, init_dim, c.out_dim.unwrap_or(c.channels), 3),
            config,
        }
        // @endtodo
    }
}
// @endregion

// @region unet_forward
impl Unet {
    /// The time embedding: [B] -> [B, 4 dim].
    pub fn time_embedding(&self, time: &Tensor) -> Tensor {
        // @todo SinusoidalPosEmb, `time_mlp.1`, SiLU, `time_mlp.3`.
        self.time_mlp_3.forward(&self.time_mlp_1.forward(&self.time_pos_emb.forward(time)).silu())
        // @endtodo
    }

    /// The contracting path: each level pushes the output of each (resnet, transformer) pair.
    pub fn down(&self, x: Tensor, t: &Tensor, context: Option<&Tensor>, train: bool, skips: &mut Vec<Tensor>) -> Tensor {
        // @todo For each level: x = attn1(block1(x, t), context), push; x = attn2(block2(x, t), context), push; x = resample(x).
        let mut x = x;
        for level in &self.downs {
            x = level.attn1.forward(&level.block1.forward(&x, t, train), context, train);
            skips.push(x.shallow_clone());
            x = level.attn2.forward(&level.block2.forward(&x, t, train), context, train);
            skips.push(x.shallow_clone());
            x = level.resample.forward(&x);
        }
        x
        // @endtodo
    }

    /// The expanding path: the last skip pushed is the first concatenated (on channels, after x).
    pub fn up(&self, x: Tensor, t: &Tensor, context: Option<&Tensor>, train: bool, skips: &mut Vec<Tensor>) -> Tensor {
        // @todo For each level: x = attn1(block1(cat[x, pop], t), context); x = attn2(block2(cat[x, pop], t), context); x = resample(x).
        let mut x = x;
        for level in &self.ups {
            let skip = skips.pop().expect("one skip per down block");
            x = level.attn1.forward(&level.block1.forward(&Tensor::cat(&[&x, &skip], 1), t, train), context, train);
            let skip = skips.pop().expect("one skip per down block");
            x = level.attn2.forward(&level.block2.forward(&Tensor::cat(&[&x, &skip], 1), t, train), context, train);
            x = level.resample.forward(&x);
        }
        x
        // @endtodo
    }

    /// x: [B, channels, H, W], time: [B] (int64), context: [B, M, context_dim] -> [B, out_dim, H, W]
    pub fn forward(&self, x: &Tensor, time: &Tensor, context: Option<&Tensor>, train: bool) -> Tensor {
        // @todo init_conv (keep r), time embedding, down, the middle (block, attention, block), up. // Then cat[x, r], `final_conv`, and `out` (norm, SiLU, conv).
        let x = self.init_conv.forward(x);
        let r = x.shallow_clone();
        let t = self.time_embedding(time);
        let mut skips = Vec::new();
        let x = self.down(x, &t, context, train, &mut skips);
        let x = self.mid_block1.forward(&x, &t, train);
        let x = self.mid_attn.forward(&x, context, train);
        let x = self.mid_block2.forward(&x, &t, train);
        let x = self.up(x, &t, context, train, &mut skips);
        let x = self.final_conv.forward(&Tensor::cat(&[&x, &r], 1));
        self.out_2.forward(&self.out_0.forward(&x).silu())
        // @endtodo
    }
}
// @endregion

// @region unet_checked
impl Unet {
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
// @endregion
