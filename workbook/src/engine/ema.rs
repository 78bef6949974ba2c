//! Exponential moving average of the weights: samples come from the average,
//! which is smoother than the last step's weights.

use std::collections::BTreeMap;
use tch::{nn::VarStore, Tensor};

#[derive(Debug)]
pub struct Ema {
    pub decay: f64,
    shadow: BTreeMap<String, Tensor>,
}

impl Ema {
    pub fn new(vs: &VarStore, decay: f64) -> Self {
        let shadow = vs.variables().into_iter().map(|(k, v)| (k, v.detach().copy())).collect();
        Ema { decay, shadow }
    }

    /// shadow = decay * shadow + (1 - decay) * weights; early steps use a smaller decay
    /// ((1 + n) / (10 + n)) so the average is not dominated by the random start.
    pub fn update(&mut self, vs: &VarStore, step: usize) {
        let decay = self.decay.min((1.0 + step as f64) / (10.0 + step as f64));
        tch::no_grad(|| {
            for (name, var) in vs.variables() {
                if let Some(s) = self.shadow.get_mut(&name) {
                    let _ = s.g_mul_scalar_(decay).g_add_(&(var * (1.0 - decay)));
                }
            }
        });
    }

    /// Runs `f` with the averaged weights in `vs`, then puts the live weights back.
    pub fn with_averaged<T>(&self, vs: &VarStore, f: impl FnOnce() -> T) -> T {
        let vars = vs.variables();
        let live: BTreeMap<String, Tensor> = vars.iter().map(|(k, v)| (k.clone(), v.detach().copy())).collect();
        self.load_into(vs);
        let out = f();
        tch::no_grad(|| {
            for (name, var) in &vars {
                var.shallow_clone().copy_(&live[name]);
            }
        });
        out
    }

    /// Copies the averaged weights into `vs` for good (for saving or sampling).
    pub fn load_into(&self, vs: &VarStore) {
        tch::no_grad(|| {
            for (name, var) in vs.variables() {
                if let Some(s) = self.shadow.get(&name) {
                    var.shallow_clone().copy_(s);
                }
            }
        });
    }

    pub fn tensors(&self) -> &BTreeMap<String, Tensor> {
        &self.shadow
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn average_moves_toward_weights_and_live_weights_come_back() {
        let vs = VarStore::new(Device::Cpu);
        let w = vs.root().zeros("w", &[2]);
        let mut ema = Ema::new(&vs, 0.9);
        tch::no_grad(|| { let _ = w.shallow_clone().fill_(1.0); });
        ema.update(&vs, 1000); // decay 0.9 after warm-up: 0.9 * 0 + 0.1 * 1
        assert!((ema.tensors()["w"].double_value(&[0]) - 0.1).abs() < 1e-6);
        let seen = ema.with_averaged(&vs, || w.double_value(&[1]));
        assert!((seen - 0.1).abs() < 1e-6);
        assert_eq!(w.double_value(&[1]), 1.0, "live weights restored");
    }
}
