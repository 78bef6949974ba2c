//! The engine's fast path through the same modules and weights: attention by libtorch's
//! fused kernel (`scaled_dot_product_attention`), which never materialises the
//! [B, H, N, M] probabilities that the exercise's explicit softmax(q k^T scale) v builds.
//! Not an exercise and not in the notebook; the public fixtures check it as they check
//! the explicit form (reference/tests/fused_pass.rs).

use super::{BasicTransformerBlock, CrossAttention, SpatialTransformer};
use tch::{nn::Module, Tensor};

impl CrossAttention {
    /// As `forward`: x [B, N, query_dim], context [B, M, context_dim] -> [B, N, query_dim].
    pub fn forward_fused(&self, x: &Tensor, context: Option<&Tensor>, train: bool) -> Tensor {
        let context = context.unwrap_or(x);
        let (h, d) = (self.config.heads, self.config.dim_head);
        // [B, N, H*D] -> [B, H, N, D]: a view, no copy; the kernel takes any strides.
        let heads = |t: Tensor| {
            let (b, n, _) = t.size3().expect("a [B, N, H*D] projection");
            t.view([b, n, h, d]).transpose(1, 2)
        };
        let q = heads(self.to_q.forward(x));
        let k = heads(self.to_k.forward(context));
        let v = heads(self.to_v.forward(context));
        let scale = (d as f64).powf(-0.5);
        // Dropout is 0 inside: the original applies dropout after `to_out`, not to the probabilities.
        let out = Tensor::scaled_dot_product_attention(&q, &k, &v, None::<Tensor>, 0.0, false, scale, false); // [B, H, N, D]
        let (b, _, n, _) = out.size4().expect("a [B, H, N, D] output");
        // [B, H, N, D] -> [B, N, H*D]; the CPU kernel lays its output out as [B, N, H, D], so this is a view.
        let out = out.transpose(1, 2).reshape([b, n, h * d]);
        self.to_out_0.forward(&out).dropout(self.config.dropout, train)
    }
}

impl BasicTransformerBlock {
    /// As `forward`, with fused attention.
    pub fn forward_fused(&self, x: &Tensor, context: Option<&Tensor>, train: bool) -> Tensor {
        let x = self.attn1.forward_fused(&self.norm1.forward(x), None, train) + x;
        let x = self.attn2.forward_fused(&self.norm2.forward(&x), context, train) + &x;
        self.ff.forward(&self.norm3.forward(&x), train) + &x
    }
}

impl SpatialTransformer {
    /// As `forward`, with fused attention: x [B, C, H, W] -> [B, C, H, W].
    pub fn forward_fused(&self, x: &Tensor, context: Option<&Tensor>, train: bool) -> Tensor {
        let (b, _, h, w) = x.size4().expect("a [B, C, H, W] input");
        let inner = self.config.n_heads * self.config.d_head;
        let mut t = self.proj_in.forward(&self.norm.forward(x));
        t = t.flatten(2, 3).transpose(1, 2); // [B, inner, H, W] -> [B, H*W, inner]
        for block in &self.transformer_blocks {
            t = block.forward_fused(&t, context, train);
        }
        let t = t.transpose(1, 2).reshape([b, inner, h, w]); // [B, H*W, inner] -> [B, inner, H, W]
        self.proj_out.forward(&t) + x
    }
}
