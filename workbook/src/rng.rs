//! A small seeded generator of our own. Unlike libtorch's global generator it is
//! owned by its caller, so parallel tests and threads cannot disturb each other's draws,
//! and its numbers do not change with the libtorch version.

use tch::Tensor;

#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut r = Rng(seed ^ 0x9e37_79b9_7f4a_7c15);
        r.next_u64();
        r
    }

    /// splitmix64: full period, well mixed.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Standard normal by Box-Muller.
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// A float32 tensor of standard normals.
    pub fn randn(&mut self, shape: &[i64]) -> Tensor {
        let n: i64 = shape.iter().product();
        let v: Vec<f32> = (0..n).map(|_| self.normal() as f32).collect();
        Tensor::from_slice(&v).reshape(shape)
    }

    /// An int64 tensor of `n` integers in [0, high).
    pub fn randint(&mut self, high: i64, n: i64) -> Tensor {
        let v: Vec<i64> = (0..n).map(|_| self.below(high as usize) as i64).collect();
        Tensor::from_slice(&v)
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_draws_and_normals_look_normal() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        assert_eq!((0..5).map(|_| a.next_u64()).collect::<Vec<_>>(), (0..5).map(|_| b.next_u64()).collect::<Vec<_>>());
        let x = Rng::new(1).randn(&[100_000]);
        let (mean, std) = (x.mean(tch::Kind::Double).double_value(&[]), x.std(true).double_value(&[]));
        assert!(mean.abs() < 0.01 && (std - 1.0).abs() < 0.01, "mean {mean} std {std}");
        let k = Rng::new(2).randint(10, 10_000);
        assert_eq!((k.min().int64_value(&[]), k.max().int64_value(&[])), (0, 9));
    }
}
