//! Data movement: reshape (and flatten), permute (and t), concat, narrow, select_rows. Each
//! forward is an index map, so the reference is the same map written as a gather, and the
//! gradient is its transpose (scatter-add where indices repeat).

use crate::check::{strides, unravel, Case, Gen};
use proptest::prelude::*;

fn numel(d: &[usize]) -> usize {
    d.iter().product()
}

/// Shapes of rank 1–4 with sizes 1–5.
fn shape() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(1usize..=5, 1..=4)
}

/// `y = x.permute(perm)`: `y`'s axis `d` is `x`'s axis `perm[d]`.
pub fn ref_permute(x: &[f64], dims: &[usize], perm: &[usize]) -> Vec<f64> {
    let out: Vec<usize> = perm.iter().map(|&p| dims[p]).collect();
    let st = strides(dims);
    (0..x.len())
        .map(|k| {
            let idx = unravel(k, &out);
            x[idx.iter().zip(perm).map(|(&i, &p)| i * st[p]).sum::<usize>()]
        })
        .collect()
}

/// Concatenation of `parts` (shapes `dims[i]`) along `axis`.
pub fn ref_concat(parts: &[Vec<f64>], dims: &[Vec<usize>], axis: usize) -> Vec<f64> {
    let outer: usize = dims[0][..axis].iter().product();
    let inner: usize = dims[0][axis + 1..].iter().product();
    let mut y = Vec::new();
    for o in 0..outer {
        for (p, d) in parts.iter().zip(dims) {
            let slab = d[axis] * inner;
            y.extend_from_slice(&p[o * slab..(o + 1) * slab]);
        }
    }
    y
}

/// The slab `[start, start+len)` of `axis`.
pub fn ref_narrow(x: &[f64], dims: &[usize], axis: usize, start: usize, len: usize) -> Vec<f64> {
    let mut out = dims.to_vec();
    out[axis] = len;
    let st = strides(dims);
    (0..numel(&out))
        .map(|k| {
            let mut idx = unravel(k, &out);
            idx[axis] += start;
            x[idx.iter().zip(&st).map(|(i, s)| i * s).sum::<usize>()]
        })
        .collect()
}

/// Rows `rows` of the first axis, in order.
pub fn ref_select_rows(x: &[f64], row_len: usize, rows: &[usize]) -> Vec<f64> {
    rows.iter().flat_map(|&r| x[r * row_len..(r + 1) * row_len].iter().copied()).collect()
}

/// A shape with the same element count: the sizes of `dims` shuffled, neighbours merged at
/// random, and size-1 axes sprinkled in.
fn regroup(dims: &[usize], gen: &mut Gen) -> Vec<usize> {
    let mut sizes = dims.to_vec();
    for i in (1..sizes.len()).rev() {
        sizes.swap(i, gen.below(i + 1));
    }
    let mut out: Vec<usize> = Vec::new();
    for s in sizes {
        match out.last_mut() {
            Some(last) if gen.coin() => *last *= s,
            _ => out.push(s),
        }
        if gen.below(4) == 0 {
            out.push(1);
        }
    }
    out
}

proptest! {
    #![proptest_config(crate::check::config(64))]

    #[test]
    fn gradcheck_reshape(dims in shape(), seed in any::<u64>()) {
        let mut gen = Gen::new(seed);
        let to = regroup(&dims, &mut gen);
        // A multiply after the reshape, so a gradient handed back in the wrong layout shows.
        let w = gen.values(numel(&to));
        let w64: Vec<f64> = w.iter().map(|&v| v as f64).collect();
        Case::new(format!("reshape {dims:?} → {to:?}, then ∘ w"), seed)
            .input(&dims, gen.values(numel(&dims)))
            .constant(&to, w)
            .output(&to)
            .run(|t| t[0].reshape(&to)?.mul(&t[1]), |x| x[0].iter().zip(&w64).map(|(a, b)| a * b).collect())?;
    }

    #[test]
    fn gradcheck_reshape_flatten(dims in shape(), seed in any::<u64>()) {
        let mut gen = Gen::new(seed);
        let flat = [dims[0], numel(&dims) / dims[0]];
        Case::new(format!("flatten {dims:?}"), seed)
            .input(&dims, gen.values(numel(&dims)))
            .output(&flat)
            .run(|t| t[0].flatten(), |x| x[0].clone())?;
    }

    #[test]
    fn gradcheck_permute(
        (dims, perm) in shape().prop_flat_map(|d| {
            let r = d.len();
            (Just(d), Just((0..r).collect::<Vec<_>>()).prop_shuffle())
        }),
        seed in any::<u64>(),
    ) {
        let mut gen = Gen::new(seed);
        let out: Vec<usize> = perm.iter().map(|&p| dims[p]).collect();
        Case::new(format!("permute {dims:?} by {perm:?}"), seed)
            .input(&dims, gen.values(numel(&dims)))
            .output(&out)
            .run(|t| t[0].permute(&perm), |x| ref_permute(&x[0], &dims, &perm))?;
    }

    #[test]
    fn gradcheck_permute_t(m in 1usize..=7, n in 1usize..=7, seed in any::<u64>()) {
        let mut gen = Gen::new(seed);
        Case::new(format!("t {m}×{n}"), seed)
            .input(&[m, n], gen.values(m * n))
            .output(&[n, m])
            .run(|t| t[0].t(), |x| ref_permute(&x[0], &[m, n], &[1, 0]))?;
    }

    #[test]
    fn gradcheck_concat(
        base in shape(), axis in 0usize..4, lens in proptest::collection::vec(1usize..=4, 1..=3), seed in any::<u64>(),
    ) {
        let axis = axis % base.len();
        let dims: Vec<Vec<usize>> = lens.iter().map(|&l| { let mut d = base.clone(); d[axis] = l; d }).collect();
        let mut out = base.clone();
        out[axis] = lens.iter().sum();
        let mut gen = Gen::new(seed);
        let mut case = Case::new(format!("concat {dims:?} along {axis}"), seed);
        for d in &dims {
            case = case.input(d, gen.values(numel(d)));
        }
        case.output(&out).run(
            |t| engine::Tensor::concat(&t.iter().collect::<Vec<_>>(), axis),
            |x| ref_concat(x, &dims, axis),
        )?;
    }

    #[test]
    fn gradcheck_narrow(dims in shape(), axis in 0usize..4, a in 0usize..5, b in 0usize..5, seed in any::<u64>()) {
        let axis = axis % dims.len();
        let size = dims[axis];
        let (start, end) = { let (a, b) = (a % size, b % size); (a.min(b), a.max(b) + 1) };
        let len = end - start;
        let mut out = dims.clone();
        out[axis] = len;
        let mut gen = Gen::new(seed);
        Case::new(format!("narrow {dims:?} axis {axis} [{start}, {end})"), seed)
            .input(&dims, gen.values(numel(&dims)))
            .output(&out)
            .run(|t| t[0].narrow(axis, start, len), |x| ref_narrow(&x[0], &dims, axis, start, len))?;
    }

    /// Rows picked at random with repeats (at least one repeated row): their gradients add up.
    #[test]
    fn gradcheck_select_rows(
        dims in proptest::collection::vec(1usize..=5, 1..=3), picks in proptest::collection::vec(any::<u32>(), 1..=8),
        seed in any::<u64>(),
    ) {
        let n = dims[0];
        let mut rows: Vec<usize> = picks.iter().map(|&p| p as usize % n).collect();
        rows.push(rows[0]);
        let row_len = numel(&dims) / n;
        let mut out = dims.clone();
        out[0] = rows.len();
        let mut gen = Gen::new(seed);
        Case::new(format!("select_rows {dims:?} rows {rows:?}"), seed)
            .input(&dims, gen.values(numel(&dims)))
            .output(&out)
            .run(|t| t[0].select_rows(&rows), |x| ref_select_rows(&x[0], row_len, &rows))?;
    }
}
