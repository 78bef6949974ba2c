//! The Frechet distance between two sets of feature rows, each modelled as a
//! Gaussian (the FID of Heusel et al. 2017, here over the MNIST classifier's
//! penultimate layer instead of Inception's):
//! ||mu_a - mu_b||^2 + tr(Ca + Cb - 2 (Ca Cb)^{1/2}).

use anyhow::{bail, Result};
use tch::{Kind, Tensor};

/// Mean [F] and unbiased covariance [F, F] (divided by N - 1, like `numpy.cov`) of rows [N, F], in float64.
fn mean_cov(x: &Tensor) -> (Tensor, Tensor) {
    let n = x.size()[0];
    let mu = x.mean_dim(0, false, Kind::Double); // [F]
    let centred = x - mu.unsqueeze(0); // [N, F]
    let cov = centred.transpose(0, 1).matmul(&centred) / (n - 1) as f64; // [F, N] x [N, F] -> [F, F]
    (mu, cov)
}

/// A symmetric positive semi-definite matrix's square root from its eigen-decomposition:
/// V diag(sqrt(max(l, 0))) V^T (tiny negative eigenvalues are rounding, so clamped).
fn sqrtm_psd(c: &Tensor) -> Tensor {
    let (eigvals, eigvecs) = c.linalg_eigh("L"); // [F], [F, F] with eigenvectors in columns
    let scaled = &eigvecs * eigvals.clamp_min(0.0).sqrt().unsqueeze(0); // column j times sqrt(l_j)
    scaled.matmul(&eigvecs.transpose(0, 1))
}

/// The Frechet distance between the Gaussians fitted to rows `a` [Na, F] and `b` [Nb, F].
/// Errors if the inputs are not 2-D with the same F and at least two rows each.
pub fn try_frechet_distance(a: &Tensor, b: &Tensor) -> Result<f64> {
    let (sa, sb) = (a.size(), b.size());
    if sa.len() != 2 || sb.len() != 2 || sa[1] != sb[1] {
        bail!("frechet_distance: inputs have shapes {sa:?} and {sb:?}, expected [Na, F] and [Nb, F]");
    }
    if sa[0] < 2 || sb[0] < 2 {
        bail!("frechet_distance: {} and {} rows, expected at least 2 each for a covariance", sa[0], sb[0]);
    }
    let (a, b) = (a.to_kind(Kind::Double), b.to_kind(Kind::Double));
    let (mu_a, ca) = mean_cov(&a);
    let (mu_b, cb) = mean_cov(&b);
    let mean_term = (&mu_a - &mu_b).square().sum(Kind::Double).double_value(&[]);
    // tr (Ca Cb)^{1/2} = tr (sqrt(Ca) Cb sqrt(Ca))^{1/2}: same eigenvalues, but this one is symmetric.
    let root_a = sqrtm_psd(&ca);
    let m = root_a.matmul(&cb).matmul(&root_a);
    let m = (&m + m.transpose(0, 1)) / 2.0; // exact symmetry for eigh
    let tr_sqrt = m.linalg_eigvalsh("L").clamp_min(0.0).sqrt().sum(Kind::Double).double_value(&[]);
    let tr = |c: &Tensor| c.trace().double_value(&[]);
    Ok(mean_term + tr(&ca) + tr(&cb) - 2.0 * tr_sqrt)
}

/// [`try_frechet_distance`], panicking (with its message) on malformed inputs, like slice indexing.
pub fn frechet_distance(a: &Tensor, b: &Tensor) -> f64 {
    try_frechet_distance(a, b).unwrap_or_else(|e| panic!("{e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn rows(values: &[f64], f: i64) -> Tensor {
        Tensor::from_slice(values).reshape([-1, f]) // [N * F] -> [N, F]
    }

    /// Columns 2..4 of the 4x4 Hadamard matrix: each column has mean 0 and
    /// sum of squares 4, columns are orthogonal, so the unbiased covariance is
    /// exactly diag(4/3, 4/3, 4/3).
    const H4: [f64; 12] = [1., 1., 1., -1., 1., -1., 1., -1., -1., -1., -1., 1.];

    /// mu + H4 * diag(s): mean mu, covariance diag(4/3 s_i^2).
    fn patterned(mu: [f64; 3], s: [f64; 3]) -> Tensor {
        rows(&H4, 3) * Tensor::from_slice(&s).unsqueeze(0) + Tensor::from_slice(&mu).unsqueeze(0)
    }

    #[test]
    fn diagonal_covariances_give_the_closed_form() {
        // Variances 4/3 s^2, so FD = |mu_a - mu_b|^2 + 4/3 sum (s_a - s_b)^2
        // = (1 + 4 + 4) + 4/3 (1 + 0 + 4) = 9 + 20/3 = 47/3.
        let a = patterned([0., 0., 0.], [1., 2., 3.]);
        let b = patterned([1., 2., 2.], [2., 2., 1.]);
        let fd = frechet_distance(&a, &b);
        assert!((fd - 47.0 / 3.0).abs() < 1e-10, "{fd}");
        // Only a mean shift: FD is |mu diff|^2 = 9 + 16 + 0 = 25.
        let fd = frechet_distance(&patterned([0., 0., 0.], [1., 1., 1.]), &patterned([3., 4., 0.], [1., 1., 1.]));
        assert!((fd - 25.0).abs() < 1e-10, "{fd}");
    }

    #[test]
    fn different_sample_counts_and_float32_input() {
        // b stacks H4 twice: 8 rows, sum of squares 8, covariance diag(8/7 s^2).
        let h8 = Tensor::cat(&[rows(&H4, 3), rows(&H4, 3)], 0); // [8, 3]
        let b = (h8 * Tensor::from_slice(&[1.0, 0.5, 2.0]).unsqueeze(0)).to_kind(Kind::Float);
        let a = patterned([1., 0., 0.], [1., 1., 1.]).to_kind(Kind::Float);
        let (va, vb) = (4.0f64 / 3.0, 8.0f64 / 7.0);
        let expected = 1.0
            + [1.0f64, 0.5, 2.0].iter().map(|s| (va.sqrt() - (vb * s * s).sqrt()).powi(2)).sum::<f64>();
        let fd = frechet_distance(&a, &b);
        assert!((fd - expected).abs() < 1e-6, "{fd} vs {expected}");
    }

    #[test]
    fn identical_sets_give_zero_even_when_rank_deficient() {
        tch::manual_seed(0);
        for (n, f) in [(200, 16), (10, 32)] {
            let a = Tensor::randn([n, f], (Kind::Double, Device::Cpu)).matmul(&Tensor::randn([f, f], (Kind::Double, Device::Cpu)));
            let fd = frechet_distance(&a, &a);
            // Relative to the total variance: the square roots of eigenvalues that are
            // zero up to rounding (1e-13) add about 1e-7 each when N < F.
            let total = a.var_dim(0, true, false).sum(Kind::Double).double_value(&[]);
            assert!(fd.abs() < 1e-6 * total, "n {n} f {f}: {fd} (total variance {total})");
        }
    }

    #[test]
    fn invariant_under_a_common_rotation_and_translation_and_symmetric() {
        tch::manual_seed(1);
        let opts = (Kind::Double, Device::Cpu);
        let a = Tensor::randn([300, 6], opts).matmul(&Tensor::randn([6, 6], opts));
        let b = Tensor::randn([250, 6], opts).matmul(&Tensor::randn([6, 6], opts)) + 0.5;
        let (q, _) = Tensor::linalg_qr(&Tensor::randn([6, 6], opts), "reduced"); // an orthogonal matrix
        let t = Tensor::randn([1, 6], opts);
        let fd = frechet_distance(&a, &b);
        let moved = frechet_distance(&(a.matmul(&q) + &t), &(b.matmul(&q) + &t));
        assert!(fd > 1.0 && (fd - moved).abs() < 1e-8 * fd, "{fd} vs {moved}");
        // The formula is written asymmetrically (sqrt(Ca) Cb sqrt(Ca)); the distance is not.
        let swapped = frechet_distance(&b, &a);
        assert!((fd - swapped).abs() < 1e-8 * fd, "{fd} vs {swapped}");
        // The hand example rotated: covariances no longer diagonal, FD still 47/3.
        let (q3, _) = Tensor::linalg_qr(&Tensor::randn([3, 3], opts), "reduced");
        let a3 = patterned([0., 0., 0.], [1., 2., 3.]).matmul(&q3);
        let b3 = patterned([1., 2., 2.], [2., 2., 1.]).matmul(&q3);
        let fd3 = frechet_distance(&a3, &b3);
        assert!((fd3 - 47.0 / 3.0).abs() < 1e-9, "{fd3}");
    }

    #[test]
    fn matches_the_eigenvalues_of_ca_cb_directly() {
        // Independent route: tr (Ca Cb)^{1/2} = sum sqrt(eig(Ca Cb)), eigenvalues real and >= 0.
        tch::manual_seed(2);
        let opts = (Kind::Double, Device::Cpu);
        let a = Tensor::randn([100, 4], opts).matmul(&Tensor::randn([4, 4], opts));
        let b = Tensor::randn([120, 4], opts) * 2.0 + 1.0;
        let (mu_a, ca) = (a.mean_dim(0, false, Kind::Double), a.transpose(0, 1).cov(1, None::<Tensor>, None::<Tensor>));
        let (mu_b, cb) = (b.mean_dim(0, false, Kind::Double), b.transpose(0, 1).cov(1, None::<Tensor>, None::<Tensor>));
        let eig = ca.matmul(&cb).linalg_eigvals().real().clamp_min(0.0).sqrt().sum(Kind::Double).double_value(&[]);
        let expected = (&mu_a - &mu_b).square().sum(Kind::Double).double_value(&[])
            + ca.trace().double_value(&[])
            + cb.trace().double_value(&[])
            - 2.0 * eig;
        let fd = frechet_distance(&a, &b);
        assert!((fd - expected).abs() < 1e-8 * expected.abs().max(1.0), "{fd} vs {expected}");
    }

    #[test]
    fn malformed_inputs_are_errors() {
        let a = Tensor::zeros([5, 3], (Kind::Float, Device::Cpu));
        let msg = try_frechet_distance(&a, &Tensor::zeros([5, 4], (Kind::Float, Device::Cpu))).unwrap_err().to_string();
        assert!(msg.contains("[5, 3] and [5, 4]"), "{msg}");
        let msg = try_frechet_distance(&a, &Tensor::zeros([1, 3], (Kind::Float, Device::Cpu))).unwrap_err().to_string();
        assert!(msg.contains("at least 2"), "{msg}");
    }
}
