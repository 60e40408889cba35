//! First-layer filters from a sparse dictionary of image patches.
//!
//! The Deep SVDD authors' Theano code (`--weight_dict_init 1`) starts the autoencoder's first
//! convolution from the atoms of a dictionary learnt on its k×k patches: 500 training images,
//! every patch, each patch coordinate standardised over all patches, then scikit-learn's
//! `MiniBatchDictionaryLearning` with α = 1 and 1000 batches of 10 patches. That is online
//! dictionary learning (Mairal et al. 2009), rebuilt here:
//! - the dictionary starts as the top right singular vectors of the patches, scaled by their
//!   singular values;
//! - each batch is coded by the lasso, min ½‖x − Dc‖² + α‖c‖₁ (coordinate descent, which reaches
//!   the same optimum as scikit-learn's LARS);
//! - the running statistics A = Σ c cᵀ and B = Σ x cᵀ decay by scikit-learn's forgetting factor;
//! - one block-coordinate pass updates every atom, each rescaled to unit norm.
//!
//! Statistics are `f64`: A and B sum thousands of outer products.

use datasets::Dataset;
use engine::{Result, Rng, Tensor};

/// The Theano code's settings.
pub const IMAGES: usize = 500;
pub const ALPHA: f64 = 1.0;
pub const BATCHES: usize = 1000;
pub const BATCH_SIZE: usize = 10;

/// Sets a first convolution's `weight` (`out × in × k × k`) to `out` atoms learnt on every k×k
/// patch of [`IMAGES`] images of `data` drawn without replacement (all of them if fewer).
pub fn init_filters(weight: &Tensor, data: &Dataset, rng: &mut Rng) -> Result<()> {
    let (dims, shape) = (weight.dims(), &data.shape);
    assert!(dims.len() == 4 && shape.len() == 3 && dims[1] == shape[0], "filters {dims:?} for images {shape:?}");
    let mut chosen: Vec<usize> = (0..data.len()).collect();
    rng.shuffle(&mut chosen);
    chosen.truncate(IMAGES);
    let mut x = patches(chosen.iter().map(|&i| data.sample(i)), [shape[0], shape[1], shape[2]], dims[2]);
    let dim = dims[1] * dims[2] * dims[3];
    standardize(&mut x, dim);
    let atoms = learn(&x, dim, dims[0], rng);
    weight.set_data(atoms.iter().map(|&v| v as f32).collect())
}

/// Every k×k patch (stride 1, no padding) of the `images`, each `c·k·k` values in the
/// channel-major order of a convolution kernel's `in × k × k`. `shape` is one image's `[c, h, w]`.
pub fn patches<'a>(images: impl IntoIterator<Item = &'a [f32]>, shape: [usize; 3], k: usize) -> Vec<f64> {
    let [c, h, w] = shape;
    let mut out = Vec::new();
    for img in images {
        for y in 0..=h - k {
            for x in 0..=w - k {
                for ch in 0..c {
                    for dy in 0..k {
                        let row = (ch * h + y + dy) * w + x;
                        out.extend(img[row..row + k].iter().map(|&v| v as f64));
                    }
                }
            }
        }
    }
    out
}

/// Subtracts each coordinate's mean over all patches and divides by its standard deviation
/// (a constant coordinate only loses its mean).
pub fn standardize(x: &mut [f64], dim: usize) {
    let n = (x.len() / dim) as f64;
    for j in 0..dim {
        let mean = x.iter().skip(j).step_by(dim).sum::<f64>() / n;
        let var = x.iter().skip(j).step_by(dim).map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        let scale = if var > 0.0 { 1.0 / var.sqrt() } else { 1.0 };
        x.iter_mut().skip(j).step_by(dim).for_each(|v| *v = (*v - mean) * scale);
    }
}

/// Learns `atoms` unit-norm atoms of `dim` values from the rows of `x` (`n × dim`), returned as
/// `atoms × dim`.
pub fn learn(x: &[f64], dim: usize, atoms: usize, rng: &mut Rng) -> Vec<f64> {
    let n = x.len() / dim;
    assert!(n > 0 && atoms > 0, "dictionary learning needs patches and atoms");
    let mut d = initial_dictionary(x, dim, atoms);
    // scikit-learn shuffles the patches and cycles through batches of them in that order.
    let mut order: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut order);
    let (mut a, mut b) = (vec![0.0; atoms * atoms], vec![0.0; dim * atoms]);
    let mut code = vec![0.0; atoms];
    let mut codes = Vec::with_capacity(BATCH_SIZE * atoms);
    for it in 0..BATCHES {
        let batch: Vec<&[f64]> =
            (0..BATCH_SIZE).map(|i| &order[(it * BATCH_SIZE + i) % n]).map(|&r| &x[r * dim..(r + 1) * dim]).collect();
        let gram = gram(&d, dim, atoms);
        codes.clear();
        for row in &batch {
            lasso(&gram, &correlations(&d, row, dim), ALPHA, &mut code);
            codes.extend_from_slice(&code);
        }
        // Old batches are forgotten as scikit-learn does (its `dict_learning_online`).
        let s = BATCH_SIZE as f64;
        let theta = if it + 1 < BATCH_SIZE { (it + 1) as f64 * s } else { s * s + it as f64 + 1.0 - s };
        let beta = (theta + 1.0 - s) / (theta + 1.0);
        a.iter_mut().chain(b.iter_mut()).for_each(|v| *v *= beta);
        for (row, c) in batch.iter().zip(codes.chunks(atoms)) {
            for i in 0..atoms {
                for j in 0..atoms {
                    a[i * atoms + j] += c[i] * c[j];
                }
                for f in 0..dim {
                    b[f * atoms + i] += row[f] * c[i];
                }
            }
        }
        update_dictionary(&mut d, &mut a, &b, dim, atoms, rng);
    }
    d
}

/// The top `atoms` right singular vectors of `x`, scaled by their singular values (scikit-learn's
/// start), as eigenvectors of xᵀx; each signed so its largest entry is positive.
fn initial_dictionary(x: &[f64], dim: usize, atoms: usize) -> Vec<f64> {
    let mut xtx = vec![0.0; dim * dim];
    for row in x.chunks(dim) {
        for i in 0..dim {
            for j in i..dim {
                xtx[i * dim + j] += row[i] * row[j];
            }
        }
    }
    for i in 0..dim {
        for j in 0..i {
            xtx[i * dim + j] = xtx[j * dim + i];
        }
    }
    let (values, vectors) = symmetric_eigen(xtx, dim);
    let mut by_value: Vec<usize> = (0..dim).collect();
    by_value.sort_by(|&p, &q| values[q].total_cmp(&values[p]));
    let mut d = vec![0.0; atoms * dim];
    for (k, &e) in by_value.iter().take(atoms).enumerate() {
        let v: Vec<f64> = (0..dim).map(|f| vectors[f * dim + e]).collect();
        let peak = v.iter().fold(0.0f64, |m, &t| if t.abs() > m.abs() { t } else { m });
        let scale = values[e].max(0.0).sqrt() * peak.signum();
        d[k * dim..(k + 1) * dim].iter_mut().zip(&v).for_each(|(o, t)| *o = t * scale);
    }
    d
}

/// Eigenvalues and eigenvectors (columns of the returned `dim × dim` matrix) of a symmetric
/// matrix, by cyclic Jacobi rotations.
fn symmetric_eigen(mut m: Vec<f64>, dim: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0.0; dim * dim];
    (0..dim).for_each(|i| v[i * dim + i] = 1.0);
    for _sweep in 0..100 {
        let off: f64 = (0..dim)
            .flat_map(|i| (0..dim).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[i * dim + j].powi(2))
            .sum();
        let total: f64 = m.iter().map(|t| t * t).sum();
        if off <= 1e-24 * total.max(f64::MIN_POSITIVE) {
            break;
        }
        for p in 0..dim {
            for q in p + 1..dim {
                let apq = m[p * dim + q];
                if apq == 0.0 {
                    continue;
                }
                // The rotation that zeroes m[p][q] (Golub & Van Loan, §8.5).
                let tau = (m[q * dim + q] - m[p * dim + p]) / (2.0 * apq);
                // (signum(0) = 1: tau = 0 gives the 45° rotation.)
                let t = tau.signum() / (tau.abs() + (1.0 + tau * tau).sqrt());
                let (c, s) = (1.0 / (1.0 + t * t).sqrt(), t / (1.0 + t * t).sqrt());
                for k in 0..dim {
                    let (mkp, mkq) = (m[k * dim + p], m[k * dim + q]);
                    m[k * dim + p] = c * mkp - s * mkq;
                    m[k * dim + q] = s * mkp + c * mkq;
                }
                for k in 0..dim {
                    let (mpk, mqk) = (m[p * dim + k], m[q * dim + k]);
                    m[p * dim + k] = c * mpk - s * mqk;
                    m[q * dim + k] = s * mpk + c * mqk;
                }
                for k in 0..dim {
                    let (vkp, vkq) = (v[k * dim + p], v[k * dim + q]);
                    v[k * dim + p] = c * vkp - s * vkq;
                    v[k * dim + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..dim).map(|i| m[i * dim + i]).collect(), v)
}

/// DᵀD of the atoms (rows of `d`).
fn gram(d: &[f64], dim: usize, atoms: usize) -> Vec<f64> {
    let mut g = vec![0.0; atoms * atoms];
    for i in 0..atoms {
        for j in 0..atoms {
            g[i * atoms + j] = dot(&d[i * dim..(i + 1) * dim], &d[j * dim..(j + 1) * dim]);
        }
    }
    g
}

/// Dᵀx.
fn correlations(d: &[f64], x: &[f64], dim: usize) -> Vec<f64> {
    d.chunks(dim).map(|atom| dot(atom, x)).collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(p, q)| p * q).sum()
}

/// min_c ½‖x − Dc‖² + α‖c‖₁ from the Gram matrix DᵀD and Dᵀx, by cyclic coordinate descent
/// from c = 0 until no coordinate moves by more than 1e-10. An all-zero atom keeps a zero code.
fn lasso(gram: &[f64], dtx: &[f64], alpha: f64, code: &mut [f64]) {
    let k = dtx.len();
    code.iter_mut().for_each(|c| *c = 0.0);
    for _sweep in 0..1000 {
        let mut moved = 0.0f64;
        for j in 0..k {
            let gjj = gram[j * k + j];
            if gjj <= 0.0 {
                continue;
            }
            let others: f64 = (0..k).filter(|&i| i != j).map(|i| gram[j * k + i] * code[i]).sum();
            let rho = dtx[j] - others;
            let new = rho.signum() * (rho.abs() - alpha).max(0.0) / gjj;
            moved = moved.max((new - code[j]).abs());
            code[j] = new;
        }
        if moved <= 1e-10 {
            break;
        }
    }
}

/// One block-coordinate pass over the atoms (scikit-learn's `_update_dict` with Y = B and
/// code = A): atom k becomes (B − D A + d_k A_k)·A_kᵀ, rescaled to unit norm. An atom that
/// vanishes is redrawn at random and its row of A cleared.
fn update_dictionary(d: &mut [f64], a: &mut [f64], b: &[f64], dim: usize, atoms: usize, rng: &mut Rng) {
    // Residual R = B − D·A, `dim × atoms`.
    let mut r = b.to_vec();
    for f in 0..dim {
        for j in 0..atoms {
            r[f * atoms + j] -= (0..atoms).map(|k| d[k * dim + f] * a[k * atoms + j]).sum::<f64>();
        }
    }
    for k in 0..atoms {
        for f in 0..dim {
            for j in 0..atoms {
                r[f * atoms + j] += d[k * dim + f] * a[k * atoms + j];
            }
        }
        for f in 0..dim {
            d[k * dim + f] = (0..atoms).map(|j| r[f * atoms + j] * a[k * atoms + j]).sum();
        }
        let atom = &mut d[k * dim..(k + 1) * dim];
        let norm2 = dot(atom, atom);
        if norm2 < 1e-20 {
            atom.iter_mut().for_each(|v| *v = rng.normal() as f64);
            let n = dot(atom, atom).sqrt();
            atom.iter_mut().for_each(|v| *v /= n);
            a[k * atoms..(k + 1) * atoms].iter_mut().for_each(|v| *v = 0.0);
        } else {
            let n = norm2.sqrt();
            atom.iter_mut().for_each(|v| *v /= n);
            for f in 0..dim {
                for j in 0..atoms {
                    r[f * atoms + j] -= d[k * dim + f] * a[k * atoms + j];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lasso's optimality conditions: where c_j ≠ 0, (Dᵀ(x − Dc))_j = α·sign(c_j); where
    /// c_j = 0, |(Dᵀ(x − Dc))_j| ≤ α.
    #[test]
    fn lasso_codes_satisfy_the_optimality_conditions() {
        let rng = &mut Rng::new(5);
        let (dim, k) = (6, 4);
        let d: Vec<f64> = (0..k * dim).map(|_| rng.normal() as f64).collect();
        let g = gram(&d, dim, k);
        for alpha in [0.1, 1.0, 3.0] {
            let x: Vec<f64> = (0..dim).map(|_| 2.0 * rng.normal() as f64).collect();
            let mut c = vec![0.0; k];
            lasso(&g, &correlations(&d, &x, dim), alpha, &mut c);
            let recon: Vec<f64> = (0..dim).map(|f| (0..k).map(|j| d[j * dim + f] * c[j]).sum()).collect();
            let resid: Vec<f64> = x.iter().zip(&recon).map(|(p, q)| p - q).collect();
            for j in 0..k {
                let grad = dot(&d[j * dim..(j + 1) * dim], &resid);
                if c[j] != 0.0 {
                    assert!((grad - alpha * c[j].signum()).abs() < 1e-6, "α {alpha}, atom {j}: {grad}");
                } else {
                    assert!(grad.abs() <= alpha + 1e-6, "α {alpha}, atom {j}: {grad}");
                }
            }
        }
    }

    #[test]
    fn jacobi_finds_the_eigenpairs_of_a_symmetric_matrix() {
        let rng = &mut Rng::new(2);
        let dim = 7;
        let q: Vec<f64> = (0..dim * dim).map(|_| rng.normal() as f64).collect();
        // m = qᵀq is symmetric positive semi-definite.
        let m: Vec<f64> =
            (0..dim * dim).map(|ij| (0..dim).map(|t| q[t * dim + ij / dim] * q[t * dim + ij % dim]).sum()).collect();
        let (values, vectors) = symmetric_eigen(m.clone(), dim);
        for e in 0..dim {
            let v: Vec<f64> = (0..dim).map(|f| vectors[f * dim + e]).collect();
            assert!((dot(&v, &v) - 1.0).abs() < 1e-9);
            for i in 0..dim {
                let mv: f64 = (0..dim).map(|j| m[i * dim + j] * v[j]).sum();
                assert!((mv - values[e] * v[i]).abs() < 1e-8, "eigenpair {e}");
            }
        }
    }

    /// Data drawn as sparse combinations of four known atoms: the learnt dictionary holds each
    /// of them (|cosine| > 0.95), and every atom has unit norm.
    #[test]
    fn recovers_the_atoms_that_generated_sparse_data() {
        let rng = &mut Rng::new(11);
        let (dim, k) = (16, 4);
        let mut truth: Vec<f64> = (0..k * dim).map(|_| rng.normal() as f64).collect();
        for atom in truth.chunks_mut(dim) {
            let n = dot(atom, atom).sqrt();
            atom.iter_mut().for_each(|v| *v /= n);
        }
        let n = 4000;
        let mut x = vec![0.0; n * dim];
        for row in x.chunks_mut(dim) {
            // One or two active atoms per sample, with weights of either sign well above α.
            for _ in 0..1 + rng.below(2) {
                let j = rng.below(k);
                let w = (3.0 + 3.0 * rng.uniform() as f64) * if rng.uniform() < 0.5 { -1.0 } else { 1.0 };
                row.iter_mut().zip(&truth[j * dim..(j + 1) * dim]).for_each(|(v, t)| *v += w * t);
            }
            row.iter_mut().for_each(|v| *v += 0.02 * rng.normal() as f64);
        }
        let learnt = learn(&x, dim, k, rng);
        for atom in learnt.chunks(dim) {
            assert!((dot(atom, atom) - 1.0).abs() < 1e-9);
        }
        for t in truth.chunks(dim) {
            let best = learnt.chunks(dim).map(|a| dot(a, t).abs()).fold(0.0, f64::max);
            assert!(best > 0.95, "a generating atom is matched only to |cos| {best}");
        }
    }

    #[test]
    fn patches_follow_the_kernel_layout_and_standardize_per_coordinate() {
        // Two channels of 3×3, values c·100 + y·10 + x.
        let img: Vec<f32> =
            (0..2).flat_map(|c| (0..3).flat_map(move |y| (0..3).map(move |x| (c * 100 + y * 10 + x) as f32))).collect();
        let p = patches([img.as_slice()], [2, 3, 3], 2);
        // Four 2×2 positions, 8 values each; the patch at (y 1, x 0) is channel 0 then channel 1.
        assert_eq!(p.len(), 4 * 8);
        assert_eq!(&p[16..24], &[10.0, 11.0, 20.0, 21.0, 110.0, 111.0, 120.0, 121.0]);
        let mut q = p.clone();
        standardize(&mut q, 8);
        for j in 0..8 {
            let col: Vec<f64> = q.iter().skip(j).step_by(8).copied().collect();
            let mean = col.iter().sum::<f64>() / 4.0;
            let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 4.0;
            assert!(mean.abs() < 1e-12 && (var - 1.0).abs() < 1e-12);
        }
    }
}
