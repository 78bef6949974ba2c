//! The schedules, the embedding and the three diffusion equations against values
//! worked out by hand (in f64 here, independently of the code under test).

use reference::*;
use tch::{Device, Kind, Tensor};

fn at(t: &Tensor, i: i64) -> f64 {
    t.double_value(&[i])
}

#[test]
fn sinusoidal_embedding_matches_hand_values() {
    // dim 4: half 2, frequencies exp(0) = 1 and exp(-ln 10000) = 1e-4.
    let emb = SinusoidalPosEmb::new(4).forward(&Tensor::from_slice(&[2i64]));
    let want = [2f64.sin(), (2e-4f64).sin(), 2f64.cos(), (2e-4f64).cos()];
    for (i, w) in want.iter().enumerate() {
        assert!((emb.double_value(&[0, i as i64]) - w).abs() < 1e-6);
    }
    let odd = SinusoidalPosEmb::new(5).forward(&Tensor::from_slice(&[3i64, 4]));
    assert_eq!(odd.size(), vec![2, 5]);
    assert_eq!(odd.double_value(&[1, 4]), 0.0, "odd dim pads one zero column");
}

fn alpha_bar_by_hand(betas: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut acc = 1.0;
    betas.map(|b| { acc *= 1.0 - b; acc }).collect()
}

#[test]
fn linear_schedule_terms_match_hand_derivation() {
    let s = Scheduler::new(SchedulerConfig { schedule: Schedule::Linear, timesteps: 200 });
    let betas: Vec<f64> = (0..200).map(|i| 1e-4 + (0.02 - 1e-4) * i as f64 / 199.0).collect();
    let ab = alpha_bar_by_hand(betas.iter().copied());
    // ORIGINAL.md: alpha_bar at the last of 200 linear steps is about 0.132.
    assert!((ab[199] - 0.132).abs() < 1e-3, "{}", ab[199]);
    for t in [0usize, 1, 50, 100, 199] {
        assert!((at(&s.betas, t as i64) - betas[t]).abs() < 1e-7);
        assert!((at(&s.sqrt_alphas_cumprod, t as i64) - ab[t].sqrt()).abs() < 1e-5);
        assert!((at(&s.sqrt_one_minus_alphas_cumprod, t as i64) - (1.0 - ab[t]).sqrt()).abs() < 1e-5);
        assert!((at(&s.sqrt_reciprocal_alphas, t as i64) - (1.0 / (1.0 - betas[t])).sqrt()).abs() < 1e-6);
        let prev = if t == 0 { 1.0 } else { ab[t - 1] };
        let var = betas[t] * (1.0 - prev) / (1.0 - ab[t]);
        // float32 cancellation in 1 - alpha_bar near t = 0 costs about 1e-3 relative.
        assert!((at(&s.posterior_variance, t as i64) - var).abs() < 1e-8 + 2e-3 * var, "t {t}");
    }
    assert_eq!(at(&s.posterior_variance, 0), 0.0, "alpha_bar_prev[0] = 1");
}

#[test]
fn other_schedules_match_their_formulas() {
    let q = Schedule::Quadratic.betas(50);
    assert!((at(&q, 0) - 1e-4).abs() < 1e-9 && (at(&q, 49) - 0.02).abs() < 1e-7);
    let mid = (1e-4f64.sqrt() + 0.02f64.sqrt()) / 2.0;
    let q3 = Schedule::Quadratic.betas(3);
    assert!((at(&q3, 1) - mid * mid).abs() < 1e-8);
    // sigmoid(0) = 1/2 at the middle of an odd-length linspace(-6, 6).
    let s = Schedule::Sigmoid.betas(101);
    assert!((at(&s, 50) - (0.5 * (0.02 - 1e-4) + 1e-4)).abs() < 1e-8);
    assert!((at(&s, 0) - (1e-4 + (0.02 - 1e-4) / (1.0 + 6f64.exp()))).abs() < 1e-8);
    // cosine: alpha_bar(t) = f(t)/f(0), f(t) = cos((t/T + s)/(1 + s) pi/2)^2, clipped betas.
    let c = Schedule::Cosine.betas(100);
    let f = |t: f64| (((t / 100.0) + 0.008) / 1.008 * std::f64::consts::FRAC_PI_2).cos().powi(2);
    for t in [10i64, 50, 90] {
        let want = 1.0 - f(t as f64 + 1.0) / f(t as f64);
        assert!((at(&c, t) - want).abs() < 1e-5, "t {t}: {} vs {want}", at(&c, t));
    }
    assert!((at(&c, 99) - 0.9999).abs() < 1e-6, "last beta is clipped to 0.9999");
    assert_eq!(c.size(), vec![100]);
}

fn sched() -> Scheduler {
    Scheduler::new(SchedulerConfig { schedule: Schedule::Linear, timesteps: 200 })
}

#[test]
fn q_sample_mixes_with_alpha_bar_not_alpha() {
    let s = sched();
    let x0 = Tensor::ones([2, 1, 2, 2], (Kind::Float, Device::Cpu));
    let noise = Tensor::full([2, 1, 2, 2], 2.0, (Kind::Float, Device::Cpu));
    let t = Tensor::from_slice(&[50i64, 100]);
    let xt = q_sample(&s, &x0, &t, &noise);
    let ab = alpha_bar_by_hand((0..200).map(|i| 1e-4 + (0.02 - 1e-4) * i as f64 / 199.0));
    for (b, step) in [(0i64, 50usize), (1, 100)] {
        let want = ab[step].sqrt() + 2.0 * (1.0 - ab[step]).sqrt();
        assert!((xt.double_value(&[b, 0, 1, 1]) - want).abs() < 1e-5);
    }
}

#[test]
fn p_losses_compares_the_noise_with_the_prediction() {
    let s = sched();
    let noise = Tensor::from_slice(&[0.5f32, -2.0, 1.0, 0.0]).reshape([1, 1, 2, 2]);
    let x0 = Tensor::ones([1, 1, 2, 2], (Kind::Float, Device::Cpu));
    let t = Tensor::from_slice(&[10i64]);
    let zero = |x: &Tensor, _: &Tensor, _: Option<&Tensor>| x.zeros_like();
    let loss = |kind| p_losses(&s, zero, &x0, &t, None, &noise, kind).double_value(&[]);
    // Against a zero prediction: l1 = mean|n| = 3.5/4, l2 = mean n^2 = 5.25/4,
    // huber = mean(0.5 n^2 if |n| < 1 else |n| - 0.5) = (0.125 + 1.5 + 0.5 + 0)/4.
    assert!((loss(LossType::L1) - 0.875).abs() < 1e-6);
    assert!((loss(LossType::L2) - 1.3125).abs() < 1e-6);
    assert!((loss(LossType::Huber) - 0.53125).abs() < 1e-6);
}

#[test]
fn p_sample_adds_noise_except_at_the_last_step() {
    let s = sched();
    let x = Tensor::full([1, 1, 1, 1], 0.8, (Kind::Float, Device::Cpu));
    let z = Tensor::full([1, 1, 1, 1], 1.5, (Kind::Float, Device::Cpu));
    let eps = |x: &Tensor, _: &Tensor, _: Option<&Tensor>| x.ones_like() * 0.3;
    let betas: Vec<f64> = (0..200).map(|i| 1e-4 + (0.02 - 1e-4) * i as f64 / 199.0).collect();
    let ab = alpha_bar_by_hand(betas.iter().copied());
    for step in [0usize, 120] {
        let t = Tensor::from_slice(&[step as i64]);
        let got = p_sample(&s, eps, &x, &t, step as i64, None, &z).double_value(&[0, 0, 0, 0]);
        let mean = (0.8 - betas[step] * 0.3 / (1.0 - ab[step]).sqrt()) / (1.0 - betas[step]).sqrt();
        let want = if step == 0 { mean } else { mean + (betas[step] * (1.0 - ab[step - 1]) / (1.0 - ab[step])).sqrt() * 1.5 };
        assert!((got - want).abs() < 1e-5, "step {step}: {got} vs {want}");
    }
}
