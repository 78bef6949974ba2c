//! Attention, the paper's conditioning mechanism: FeedForward, CrossAttention,
//! BasicTransformerBlock and SpatialTransformer.

use crate::layers::{conv, group_norm, layer_norm, linear};
use anyhow::Result;
use serde::{Deserialize, Serialize};
use tch::{nn, nn::Module, Kind, Tensor};
use workbook::shape::{expect_same_batch, expect_shape, Dim};

// The engine's fast path over these modules (libtorch's fused attention); not an exercise.
mod fused;

// @region feed_forward_config
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedForwardConfig {
    pub dim: i64,
    pub dim_out: Option<i64>,
    pub mult: i64,
    pub dropout: f64,
}

impl Default for FeedForwardConfig {
    fn default() -> Self {
        FeedForwardConfig { dim: 16, dim_out: None, mult: 4, dropout: 0.0 }
    }
}

// @endregion

// @region feed_forward
#[derive(Debug)]
pub struct FeedForward {
    pub config: FeedForwardConfig,
    // @fields the two linear layers, for example `net_0: nn::Linear` and `net_3: nn::Linear`
    net_0: nn::Linear,
    net_3: nn::Linear,
    // @endfields
}

impl FeedForward {
    pub fn new(vs: nn::Path, config: FeedForwardConfig) -> Self {
        // @todo `net.0`: Linear(dim, dim * mult); `net.3`: Linear(dim * mult, dim_out or dim). // Build them on `&vs / "net" / 0` and `&vs / "net" / 3`, so the names are PyTorch's.
        let inner = config.dim * config.mult;
        let net_0 = linear(&vs / "net" / 0, config.dim, inner, true);
        let net_3 = linear(&vs / "net" / 3, inner, config.dim_out.unwrap_or(config.dim), true);
        FeedForward { config, net_0, net_3 }
        // @endtodo
    }

    /// x: [B, N, dim] -> [B, N, dim_out]
    pub fn forward(&self, x: &Tensor, train: bool) -> Tensor {
        // @todo Linear, exact GELU (`gelu("none")`), dropout (`dropout(p, train)`), Linear.
        let h = self.net_0.forward(x).gelu("none");
        let h = h.dropout(self.config.dropout, train);
        self.net_3.forward(&h)
        // @endtodo
    }
}
// @endregion

// @region feed_forward_checked
impl FeedForward {
    pub fn try_forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        expect_shape("FeedForward", "x", x, &[Dim::Any("B"), Dim::Any("N"), Dim::Is(self.config.dim, "dim")])?;
        Ok(self.forward(x, train))
    }
}
// @endregion

// @region cross_attention_config
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossAttentionConfig {
    pub query_dim: i64,
    pub context_dim: Option<i64>,
    pub heads: i64,
    pub dim_head: i64,
    pub dropout: f64,
}

impl Default for CrossAttentionConfig {
    fn default() -> Self {
        CrossAttentionConfig { query_dim: 16, context_dim: None, heads: 8, dim_head: 64, dropout: 0.0 }
    }
}

// @endregion

// @region cross_attention
#[derive(Debug)]
pub struct CrossAttention {
    pub config: CrossAttentionConfig,
    // @fields the projections `to_q`, `to_k`, `to_v` and the output `to_out.0`
    to_q: nn::Linear,
    to_k: nn::Linear,
    to_v: nn::Linear,
    to_out_0: nn::Linear,
    // @endfields
}

impl CrossAttention {
    pub fn new(vs: nn::Path, config: CrossAttentionConfig) -> Self {
        // @todo `to_q`: query_dim -> heads * dim_head; `to_k`, `to_v`: context_dim (or query_dim) -> heads * dim_head, all without bias. // `to_out.0`: heads * dim_head -> query_dim, with bias (path `&vs / "to_out" / 0`).
        let inner = config.heads * config.dim_head;
        let context_dim = config.context_dim.unwrap_or(config.query_dim);
        CrossAttention {
            to_q: linear(&vs / "to_q", config.query_dim, inner, false),
            to_k: linear(&vs / "to_k", context_dim, inner, false),
            to_v: linear(&vs / "to_v", context_dim, inner, false),
            to_out_0: linear(&vs / "to_out" / 0, inner, config.query_dim, true),
            config,
        }
        // @endtodo
    }

    /// [B, N, H*D] -> [B*H, N, D]
    fn split_heads(&self, t: &Tensor) -> Tensor {
        // @todo Split the last axis as (heads, dim_head) and fold the heads into the batch.
        let (b, n, _) = t.size3().unwrap();
        let (h, d) = (self.config.heads, self.config.dim_head);
        t.reshape([b, n, h, d]).permute([0, 2, 1, 3]).reshape([b * h, n, d])
        // @endtodo
    }

    /// x: [B, N, query_dim], context: [B, M, context_dim] (None: attend to x) -> [B, N, query_dim]
    pub fn forward(&self, x: &Tensor, context: Option<&Tensor>, train: bool) -> Tensor {
        // @todo q from x; k and v from the context (x itself when None); softmax(q k^T * dim_head^-0.5) v per head. // Then merge the heads back to [B, N, heads * dim_head], `to_out.0`, dropout.
        let context = context.unwrap_or(x);
        let q = self.split_heads(&self.to_q.forward(x));
        let k = self.split_heads(&self.to_k.forward(context));
        let v = self.split_heads(&self.to_v.forward(context));
        let scale = (self.config.dim_head as f64).powf(-0.5);
        let attn = (q.matmul(&k.transpose(1, 2)) * scale).softmax(-1, Kind::Float); // [B*H, N, M]
        let out = attn.matmul(&v); // [B*H, N, D]
        let (bh, n, d) = out.size3().unwrap();
        let h = self.config.heads;
        // [B*H, N, D] -> [B, N, H*D]
        let out = out.reshape([bh / h, h, n, d]).permute([0, 2, 1, 3]).reshape([bh / h, n, h * d]);
        self.to_out_0.forward(&out).dropout(self.config.dropout, train)
        // @endtodo
    }
}
// @endregion

// @region cross_attention_checked
impl CrossAttention {
    pub fn try_forward(&self, x: &Tensor, context: Option<&Tensor>, train: bool) -> Result<Tensor> {
        let c = &self.config;
        expect_shape("CrossAttention", "x", x, &[Dim::Any("B"), Dim::Any("N"), Dim::Is(c.query_dim, "query_dim")])?;
        if let Some(ctx) = context {
            let (dim, arg) = match c.context_dim {
                Some(d) => (d, "context_dim"),
                None => (c.query_dim, "query_dim, as context_dim is None"),
            };
            expect_shape("CrossAttention", "context", ctx, &[Dim::Any("B"), Dim::Any("M"), Dim::Is(dim, arg)])?;
            expect_same_batch("CrossAttention", ("x", x), ("context", ctx))?;
        }
        Ok(self.forward(x, context, train))
    }
}
// @endregion

// @region transformer_block
#[derive(Debug)]
pub struct BasicTransformerBlock {
    attn1: CrossAttention,
    ff: FeedForward,
    attn2: CrossAttention,
    norm1: nn::LayerNorm,
    norm2: nn::LayerNorm,
    norm3: nn::LayerNorm,
}

impl BasicTransformerBlock {
    pub fn new(vs: nn::Path, dim: i64, n_heads: i64, d_head: i64, dropout: f64, context_dim: Option<i64>) -> Self {
        let attn = |name: &str, context_dim| {
            let config = CrossAttentionConfig { query_dim: dim, context_dim, heads: n_heads, dim_head: d_head, dropout };
            CrossAttention::new(&vs / name, config)
        };
        BasicTransformerBlock {
            attn1: attn("attn1", None),
            attn2: attn("attn2", context_dim),
            ff: FeedForward::new(&vs / "ff", FeedForwardConfig { dim, dim_out: None, mult: 4, dropout }),
            norm1: layer_norm(&vs / "norm1", dim),
            norm2: layer_norm(&vs / "norm2", dim),
            norm3: layer_norm(&vs / "norm3", dim),
        }
    }

    /// x: [B, N, dim] -> [B, N, dim]
    pub fn forward(&self, x: &Tensor, context: Option<&Tensor>, train: bool) -> Tensor {
        let x = self.attn1.forward(&self.norm1.forward(x), None, train) + x;
        let x = self.attn2.forward(&self.norm2.forward(&x), context, train) + &x;
        self.ff.forward(&self.norm3.forward(&x), train) + &x
    }
}
// @endregion

// @region spatial_transformer
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpatialTransformerConfig {
    pub in_channels: i64,
    pub n_heads: i64,
    pub d_head: i64,
    pub depth: i64,
    pub dropout: f64,
    pub context_dim: Option<i64>,
}

impl Default for SpatialTransformerConfig {
    fn default() -> Self {
        SpatialTransformerConfig { in_channels: 16, n_heads: 4, d_head: 32, depth: 1, dropout: 0.0, context_dim: None }
    }
}

#[derive(Debug)]
pub struct SpatialTransformer {
    pub config: SpatialTransformerConfig,
    norm: nn::GroupNorm,
    proj_in: nn::Conv2D,
    transformer_blocks: Vec<BasicTransformerBlock>,
    proj_out: nn::Conv2D,
}

impl SpatialTransformer {
    pub fn new(vs: nn::Path, config: SpatialTransformerConfig) -> Self {
        let c = &config;
        let inner = c.n_heads * c.d_head;
        let blocks = (0..c.depth)
            .map(|i| {
                BasicTransformerBlock::new(&vs / "transformer_blocks" / i, inner, c.n_heads, c.d_head, c.dropout, c.context_dim)
            })
            .collect();
        SpatialTransformer {
            norm: group_norm(&vs / "norm", c.in_channels, 1e-6),
            proj_in: conv(&vs / "proj_in", c.in_channels, inner, 1),
            transformer_blocks: blocks,
            proj_out: conv(&vs / "proj_out", inner, c.in_channels, 1),
            config,
        }
    }

    /// x: [B, C, H, W], context: [B, M, context_dim] -> [B, C, H, W]
    pub fn forward(&self, x: &Tensor, context: Option<&Tensor>, train: bool) -> Tensor {
        let (b, _, h, w) = x.size4().unwrap();
        let inner = self.config.n_heads * self.config.d_head;
        let mut t = self.proj_in.forward(&self.norm.forward(x));
        t = t.flatten(2, 3).transpose(1, 2); // [B, inner, H, W] -> [B, H*W, inner]
        for block in &self.transformer_blocks {
            t = block.forward(&t, context, train);
        }
        let t = t.transpose(1, 2).reshape([b, inner, h, w]); // [B, H*W, inner] -> [B, inner, H, W]
        self.proj_out.forward(&t) + x
    }

    pub fn try_forward(&self, x: &Tensor, context: Option<&Tensor>, train: bool) -> Result<Tensor> {
        let c = &self.config;
        let dims = [Dim::Any("B"), Dim::Is(c.in_channels, "in_channels"), Dim::Any("H"), Dim::Any("W")];
        expect_shape("SpatialTransformer", "x", x, &dims)?;
        if let Some(ctx) = context {
            let dim = c.context_dim.unwrap_or(c.n_heads * c.d_head);
            expect_shape("SpatialTransformer", "context", ctx, &[Dim::Any("B"), Dim::Any("M"), Dim::Is(dim, "context_dim")])?;
            expect_same_batch("SpatialTransformer", ("x", x), ("context", ctx))?;
        }
        Ok(self.forward(x, context, train))
    }
}
// @endregion
