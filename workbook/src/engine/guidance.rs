//! Classifier-free guidance: one batched call for the prompt and the empty prompt,
//! then eps = eps_empty + w (eps_prompt - eps_empty).

use super::Denoiser;
use tch::Tensor;

/// The guided noise prediction. `context` and `empty` are [B, M, D]; scale 1 is no guidance.
pub fn guided_noise<D: Denoiser + ?Sized>(model: &D, x: &Tensor, t: &Tensor, context: &Tensor, empty: &Tensor, scale: f64) -> Tensor {
    if scale == 1.0 {
        return model.forward(x, t, Some(context), false);
    }
    let xx = Tensor::cat(&[x, x], 0); // [2B, C, H, W]
    let tt = Tensor::cat(&[t, t], 0); // [2B]
    let cc = Tensor::cat(&[context, empty], 0); // [2B, M, D]
    let eps = model.forward(&xx, &tt, Some(&cc), false).chunk(2, 0);
    &eps[1] + (&eps[0] - &eps[1]) * scale
}
