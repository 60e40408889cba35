//! Dense matrix multiply, the workhorse behind linear layers and (through im2col) convolutions.

/// `C = alpha · op(A) · op(B) + beta · C`, all row-major and contiguous.
///
/// `op(A)` is `m × k`: `A` is stored `m × k` when `ta` is false, `k × m` when true.
/// `op(B)` is `k × n`: `B` is stored `k × n` when `tb` is false, `n × k` when true.
/// With `beta == 0` the old contents of `C` are ignored (they may be NaN).
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    ta: bool,
    tb: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    b: &[f32],
    beta: f32,
    c: &mut [f32],
) {
    gemm_reference(ta, tb, m, n, k, alpha, a, b, beta, c)
}

/// The plain triple loop every fast path is checked against.
#[allow(clippy::too_many_arguments)]
pub fn gemm_reference(
    ta: bool,
    tb: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    b: &[f32],
    beta: f32,
    c: &mut [f32],
) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n, "gemm: slice too short");
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f32;
            for p in 0..k {
                let av = if ta { a[p * m + i] } else { a[i * k + p] };
                let bv = if tb { b[j * k + p] } else { b[p * n + j] };
                acc += av * bv;
            }
            let old = if beta == 0.0 { 0.0 } else { beta * c[i * n + j] };
            c[i * n + j] = alpha * acc + old;
        }
    }
}
