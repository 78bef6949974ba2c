//! The engine's fast Unet: the reference `Unet` (same modules, same state_dict keys)
//! walked as in `Unet::forward`, with each SpatialTransformer's attention through
//! libtorch's fused kernel (see attention/fused.rs). The exercise keeps the explicit
//! softmax(q k^T scale) v; the `ldm` command trains and samples with this one.

use crate::unet::{Unet, UnetConfig};
use tch::{nn, nn::Module, Tensor};
use workbook::engine::Denoiser;

#[derive(Debug)]
pub struct FastUnet {
    pub unet: Unet,
}

impl FastUnet {
    pub fn new(vs: nn::Path, config: UnetConfig) -> Self {
        FastUnet { unet: Unet::new(vs, config) }
    }

    /// As `Unet::forward`: x [B, channels, H, W], time [B], context [B, M, context_dim] -> [B, out_dim, H, W].
    pub fn forward(&self, x: &Tensor, time: &Tensor, context: Option<&Tensor>, train: bool) -> Tensor {
        let u = &self.unet;
        let mut x = u.init_conv.forward(x);
        let r = x.shallow_clone();
        let t = u.time_embedding(time);
        let mut skips = Vec::with_capacity(2 * u.downs.len());
        for level in &u.downs {
            x = level.attn1.forward_fused(&level.block1.forward(&x, &t, train), context, train);
            skips.push(x.shallow_clone());
            x = level.attn2.forward_fused(&level.block2.forward(&x, &t, train), context, train);
            skips.push(x.shallow_clone());
            x = level.resample.forward(&x);
        }
        x = u.mid_block1.forward(&x, &t, train);
        x = u.mid_attn.forward_fused(&x, context, train);
        x = u.mid_block2.forward(&x, &t, train);
        for level in &u.ups {
            let skip = skips.pop().expect("one skip per down block");
            x = level.attn1.forward_fused(&level.block1.forward(&Tensor::cat(&[&x, &skip], 1), &t, train), context, train);
            let skip = skips.pop().expect("one skip per down block");
            x = level.attn2.forward_fused(&level.block2.forward(&Tensor::cat(&[&x, &skip], 1), &t, train), context, train);
            x = level.resample.forward(&x);
        }
        let x = u.final_conv.forward(&Tensor::cat(&[&x, &r], 1));
        u.out_2.forward(&u.out_0.forward(&x).silu())
    }
}

impl Denoiser for FastUnet {
    fn forward(&self, x: &Tensor, time: &Tensor, context: Option<&Tensor>, train: bool) -> Tensor {
        FastUnet::forward(self, x, time, context, train)
    }
}
