//! The shared machinery of the gradient checks.
//!
//! A [`Case`] holds an op's inputs (values drawn as f32, the same values read as f64 by the
//! reference) and the output shape the op must produce. [`Case::run`] takes the
//! engine forward and a plain-loop f64 reference forward and checks two things:
//!
//! 1. **forward**: every engine output `y` against the reference `ỹ` on the same inputs,
//!    `|y − ỹ| ≤ FWD_TOL · max(1, |ỹ|)`;
//! 2. **backward**: with a random projection `r` (non-zero entries), the engine's gradient of
//!    `L = Σ y∘r` (one `backward()` from `Tensor::param` leaves) against the f64 central
//!    difference of `Σ r·ref(x)` with step `H`, `|g − ñ| ≤ GRAD_TOL · max(1, |ñ|)`.
//!
//! The projection makes one backward pass check the whole vector-Jacobian product: a random `r`
//! gives every output a distinct weight, so a gradient routed to the wrong output cannot cancel.
//!
//! Why these tolerances:
//! - the reference is f64 and exact up to ~1e-15; the central difference with `H = 1e-6` errs by
//!   `H²·|f'''|/6 + ε₆₄·|f|/H ≈ 1e-12 + 1e-10·|f|`, below 1e-7 for our small cases;
//! - the engine runs in f32 (ε₃₂ ≈ 6e-8): a sum of `K ≤ ~100` terms of size ≤ 1 errs by
//!   `≲ K·ε₃₂·Σ|terms|` in the worst case and `≈ √K·ε₃₂` typically, i.e. 1e-6–1e-5;
//! - so `FWD_TOL = 1e-4` and `GRAD_TOL = 1e-3` (relative above 1, absolute below) sit one to
//!   two orders above the f32 error while staying orders below any real bug (a wrong index, a
//!   missing term or a wrong sign moves a value by O(1)·|r|, and |r| ≥ 0.1).
//!
//! Measured headroom: over every test the worst forward error was 5% of `FWD_TOL` (a matmul
//! with k = 300) and the worst gradient error 0.1% of `GRAD_TOL`; a soak of 6000 cases per
//! test found no tolerance failure.
//! Mis-scaling the gradient of a single output by 10% fails every test.

use engine::{Device, Tensor};
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError};

/// The central-difference step, in f64 on the reference.
pub const H: f64 = 1e-6;
/// Forward tolerance: `|engine − reference| ≤ FWD_TOL · max(1, |reference|)`.
pub const FWD_TOL: f64 = 1e-4;
/// Gradient tolerance: `|engine − central difference| ≤ GRAD_TOL · max(1, |central difference|)`.
pub const GRAD_TOL: f64 = 1e-3;

/// Proptest's configuration: `cases` cases per test, unless `PROPTEST_CASES` asks for another
/// number (a longer soak: `PROPTEST_CASES=2000 cargo test --release --test gradcheck`). A failing
/// case is saved next to its module as `<family>.regressions` and replayed first on the next run.
pub fn config(cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(cases);
    Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
        ..Config::default()
    }
}

/// SplitMix64: a tiny seeded generator, independent of the engine's own `Rng` so that the
/// tests do not lean on the code they test. Proptest draws the seed (and shrinks the shapes).
#[derive(Clone, Debug)]
pub struct Gen(u64);

impl Gen {
    pub fn new(seed: u64) -> Gen {
        Gen(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform integer in `0..n` (n > 0; the modulo bias is irrelevant here).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn coin(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }

    /// Uniform magnitude in [lo, hi] with a random sign: never zero when `lo > 0`.
    pub fn signed(&mut self, lo: f32, hi: f32) -> f32 {
        let m = lo + (hi - lo) * self.unit();
        if self.coin() {
            m
        } else {
            -m
        }
    }

    /// `n` values in ±[lo, hi].
    pub fn signed_vec(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.signed(lo, hi)).collect()
    }

    /// `n` values in ±[0.1, 1]: the default input, never zero, never large.
    pub fn values(&mut self, n: usize) -> Vec<f32> {
        self.signed_vec(n, 0.1, 1.0)
    }

    /// `n` values uniform in [lo, hi).
    pub fn uniform_vec(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| lo + (hi - lo) * self.unit()).collect()
    }

    /// `n` distinct values at least 0.006 apart (a shuffled ladder of step 0.01 around zero, plus
    /// noise in [0.001, 0.004)), so maxima are unique and a step of `H` never changes a winner.
    pub fn distinct(&mut self, n: usize) -> Vec<f32> {
        let mut rank: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.below(i + 1);
            rank.swap(i, j);
        }
        rank.iter().map(|&r| (r as f32 - (n / 2) as f32) * 0.01 + 0.001 + 0.003 * self.unit()).collect()
    }
}

/// One input of a case: shape, f32 values, and whether its gradient is checked.
struct Input {
    dims: Vec<usize>,
    data: Vec<f32>,
    /// A `Tensor::param` whose gradient is checked; otherwise a constant (e.g. BCE targets).
    grad: bool,
}

/// One checked invocation of an op; build it, then [`Case::run`] it.
pub struct Case {
    name: String,
    inputs: Vec<Input>,
    out_dims: Vec<usize>,
    seed: u64,
}

/// The worst violation seen so far: `err / allowed` and its description; `want` names what the
/// engine is compared with.
struct Worst {
    ratio: f64,
    message: String,
    want: &'static str,
}

impl Worst {
    fn new(want: &'static str) -> Worst {
        Worst { ratio: 0.0, message: String::new(), want }
    }

    fn see(&mut self, got: f64, want: f64, tol: f64, what: impl FnOnce() -> String) {
        let allowed = tol * want.abs().max(1.0);
        let err = (got - want).abs();
        // A NaN anywhere is the worst possible error.
        let ratio = if err.is_nan() { f64::INFINITY } else { err / allowed };
        if ratio > self.ratio {
            self.ratio = ratio;
            self.message = format!(
                "{}: engine {got:.7e}, {} {want:.7e}, |diff| {err:.2e} > allowed {allowed:.2e}",
                what(),
                self.want
            );
        }
    }
}

fn fail(msg: String) -> TestCaseError {
    TestCaseError::fail(msg)
}

impl Case {
    /// `name` describes the case (shapes, flags) and is printed on failure; `seed` picks the
    /// projection `r`.
    pub fn new(name: impl Into<String>, seed: u64) -> Case {
        Case { name: name.into(), inputs: Vec::new(), out_dims: Vec::new(), seed }
    }

    /// A differentiable input (`Tensor::param`); its gradient is checked.
    pub fn input(mut self, dims: &[usize], data: Vec<f32>) -> Case {
        assert_eq!(dims.iter().product::<usize>(), data.len(), "{}: input {dims:?}", self.name);
        self.inputs.push(Input { dims: dims.to_vec(), data, grad: true });
        self
    }

    /// A constant input (`Tensor::from_vec`): passed to both forwards, no gradient checked.
    pub fn constant(mut self, dims: &[usize], data: Vec<f32>) -> Case {
        assert_eq!(dims.iter().product::<usize>(), data.len(), "{}: constant {dims:?}", self.name);
        self.inputs.push(Input { dims: dims.to_vec(), data, grad: false });
        self
    }

    /// The shape the engine's output must have.
    pub fn output(mut self, dims: &[usize]) -> Case {
        self.out_dims = dims.to_vec();
        self
    }

    /// Checks `engine` (on tensors, in input order) against `reference` (on the same values in
    /// f64, in input order, returning the output row-major).
    pub fn run(
        self,
        engine: impl Fn(&[Tensor]) -> engine::Result<Tensor>,
        reference: impl Fn(&[Vec<f64>]) -> Vec<f64>,
    ) -> Result<(), TestCaseError> {
        let name = &self.name;
        let tensors = self
            .inputs
            .iter()
            .map(|i| {
                if i.grad {
                    Tensor::param(i.data.clone(), &i.dims, Device::Cpu)
                } else {
                    Tensor::from_vec(i.data.clone(), &i.dims, Device::Cpu)
                }
            })
            .collect::<engine::Result<Vec<_>>>()
            .map_err(|e| fail(format!("{name}: making inputs: {e}")))?;
        let mut x64: Vec<Vec<f64>> = self.inputs.iter().map(|i| i.data.iter().map(|&v| v as f64).collect()).collect();

        // 1. Forward against the reference.
        let y = engine(&tensors).map_err(|e| fail(format!("{name}: engine forward failed: {e}")))?;
        if y.dims() != self.out_dims.as_slice() {
            return Err(fail(format!("{name}: engine output shape {:?}, expected {:?}", y.dims(), self.out_dims)));
        }
        let want = reference(&x64);
        if want.len() != y.numel() {
            return Err(fail(format!(
                "{name}: reference gave {} values for shape {:?} (test bug)",
                want.len(),
                y.dims()
            )));
        }
        let got = y.to_vec();
        let mut worst = Worst::new("f64 reference");
        for (k, (&g, &w)) in got.iter().zip(&want).enumerate() {
            worst.see(g as f64, w, FWD_TOL, || format!("forward output [{k}] of {:?}", y.dims()));
        }
        if worst.ratio > 1.0 {
            return Err(fail(format!("{name}: forward mismatch (fwd tol {:e}); worst {}", FWD_TOL, worst.message)));
        }

        // 2. Gradient of L = Σ y∘r against central differences of Σ r·ref(x).
        if !self.inputs.iter().any(|i| i.grad) {
            return Ok(());
        }
        let mut gen = Gen::new(self.seed ^ 0x5EED_F00D_2A11_CE55);
        let r = gen.signed_vec(y.numel(), 0.1, 1.0);
        let r64: Vec<f64> = r.iter().map(|&v| v as f64).collect();
        let r_t = Tensor::from_vec(r, y.dims(), Device::Cpu).map_err(|e| fail(format!("{name}: {e}")))?;
        y.mul(&r_t)
            .and_then(|p| p.sum_all())
            .and_then(|l| l.backward())
            .map_err(|e| fail(format!("{name}: engine backward failed: {e}")))?;
        let project = |x: &[Vec<f64>]| -> f64 { reference(x).iter().zip(&r64).map(|(a, b)| a * b).sum() };

        let mut worst = Worst::new("f64 central difference");
        for (i, (inp, t)) in self.inputs.iter().zip(&tensors).enumerate() {
            if !inp.grad {
                continue;
            }
            let g = t.grad().ok_or_else(|| fail(format!("{name}: input {i} {:?} got no gradient", inp.dims)))?;
            if g.dims() != inp.dims.as_slice() {
                return Err(fail(format!(
                    "{name}: gradient of input {i} has shape {:?}, input {:?}",
                    g.dims(),
                    inp.dims
                )));
            }
            let g = g.to_vec();
            for j in 0..inp.data.len() {
                let x0 = x64[i][j];
                x64[i][j] = x0 + H;
                let fp = project(&x64);
                x64[i][j] = x0 - H;
                let fm = project(&x64);
                x64[i][j] = x0;
                let numeric = (fp - fm) / (2.0 * H);
                worst
                    .see(g[j] as f64, numeric, GRAD_TOL, || format!("d/d input {i} {:?} [{j}] (x = {x0:e})", inp.dims));
            }
        }
        if worst.ratio > 1.0 {
            return Err(fail(format!("{name}: gradient mismatch (grad tol {:e}); worst {}", GRAD_TOL, worst.message)));
        }
        Ok(())
    }
}

/// Row-major strides of `dims`.
pub fn strides(dims: &[usize]) -> Vec<usize> {
    let mut s = vec![1; dims.len()];
    for d in (0..dims.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * dims[d + 1];
    }
    s
}

/// The multi-index of flat position `flat` in `dims` (row-major).
pub fn unravel(mut flat: usize, dims: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; dims.len()];
    for d in (0..dims.len()).rev() {
        idx[d] = flat % dims[d];
        flat /= dims[d];
    }
    idx
}
