//! The diffusion model's three equations: q_sample (noising in closed form),
//! p_losses (the training loss) and p_sample (one reverse step).

use crate::schedule::{extract, Scheduler};
use serde::{Deserialize, Serialize};
use tch::{Reduction, Tensor};

// @region loss_type
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LossType {
    L1,
    L2,
    Huber,
}
// @endregion

// @region q_sample
/// x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) noise
pub fn q_sample(s: &Scheduler, x_start: &Tensor, t: &Tensor, noise: &Tensor) -> Tensor {
    // @todo `extract` sqrt(alpha_bar_t) and sqrt(1 - alpha_bar_t) for each batch element, then mix.
    let rank = x_start.dim();
    extract(&s.sqrt_alphas_cumprod, t, rank) * x_start + extract(&s.sqrt_one_minus_alphas_cumprod, t, rank) * noise
    // @endtodo
}
// @endregion

// @region p_losses
/// loss(noise, model(x_t, t, context)): the model learns to predict the noise that was added.
pub fn p_losses<M>(
    s: &Scheduler,
    model: M,
    x_start: &Tensor,
    t: &Tensor,
    context: Option<&Tensor>,
    noise: &Tensor,
    loss_type: LossType,
) -> Tensor
where
    M: Fn(&Tensor, &Tensor, Option<&Tensor>) -> Tensor,
{
    // @todo x_t = q_sample(...); predicted = model(x_t, t, context); the loss between noise and predicted: // L1 `l1_loss`, L2 `mse_loss`, Huber `smooth_l1_loss` with beta 1, all with `Reduction::Mean`.
    let x_noisy = q_sample(s, x_start, t, noise);
    let predicted_noise = model(&x_noisy, t, context);
    match loss_type {
        LossType::L1 => noise.l1_loss(&predicted_noise, Reduction::Mean),
        LossType::L2 => noise.mse_loss(&predicted_noise, Reduction::Mean),
        LossType::Huber => noise.smooth_l1_loss(&predicted_noise, Reduction::Mean, 1.0),
    }
    // @endtodo
}
// @endregion

// @region p_sample
/// One reverse step x_t -> x_{t-1}: the posterior mean, plus sqrt(posterior variance) z unless t_index is 0.
pub fn p_sample<M>(
    s: &Scheduler,
    model: M,
    x: &Tensor,
    t: &Tensor,
    t_index: i64,
    context: Option<&Tensor>,
    noise: &Tensor,
) -> Tensor
where
    M: Fn(&Tensor, &Tensor, Option<&Tensor>) -> Tensor,
{
    // @todo mean = sqrt(1 / alpha_t) (x - beta_t model(x, t, context) / sqrt(1 - alpha_bar_t)). // At t_index 0 return the mean; otherwise add sqrt(posterior_variance_t) * noise.
    let rank = x.dim();
    let betas_t = extract(&s.betas, t, rank);
    let sqrt_one_minus_t = extract(&s.sqrt_one_minus_alphas_cumprod, t, rank);
    let sqrt_recip_alphas_t = extract(&s.sqrt_reciprocal_alphas, t, rank);
    let model_mean = sqrt_recip_alphas_t * (x - betas_t * model(x, t, context) / sqrt_one_minus_t);
    if t_index == 0 {
        model_mean
    } else {
        model_mean + extract(&s.posterior_variance, t, rank).sqrt() * noise
    }
    // @endtodo
}
// @endregion
