//! Data movement on the GPU vs `kernels::cpu::{layout, pairwise}`: permute, slab copies along an
//! axis, row gathers with their scatter-add backward, pairwise row differences. Pure copies, and
//! sums of ±1-weighted terms in the CPU's order: the results must be bit-identical.

use crate::{down, gpu, poisoned, up, Rng};
use kernels::gpu::layout::{self as gl, Slab};
use kernels::{cpu, gpu};

#[test]
fn gpu_parity_permute() {
    let ctx = gpu!();
    let mut rng = Rng::new(70);
    let cases: [(&[usize], &[usize]); 5] = [
        (&[3, 5, 7, 2], &[2, 0, 3, 1]),
        (&[13, 17], &[1, 0]),
        (&[2, 3, 4, 5, 3], &[4, 3, 2, 1, 0]),
        (&[1, 1, 1], &[2, 1, 0]),
        (&[257, 3], &[0, 1]),
    ];
    for (shape, perm) in cases {
        let n: usize = shape.iter().product();
        let x = rng.vec(n, -1.0, 1.0);
        let mut want = vec![f32::NAN; n];
        cpu::layout::permute(&x, shape, perm, &mut want);
        let y = poisoned(ctx, n);
        gl::permute(&up(ctx, &x), shape, perm, &y).unwrap();
        assert_eq!(down(&y), want, "permute {shape:?} by {perm:?}");
    }
    assert!(gl::permute(&up(ctx, &[0.0; 6]), &[2, 3], &[0, 0], &poisoned(ctx, 6)).is_err());
}

#[test]
fn gpu_parity_axis_copy() {
    let ctx = gpu!();
    let mut rng = Rng::new(71);
    // (outer, total, inner, start, len): narrow / place along the middle axis.
    for (outer, total, inner, start, len) in [(3, 7, 5, 2, 4), (1, 300, 1, 17, 283), (4, 2, 9, 1, 1), (5, 6, 33, 0, 6)]
    {
        let x = rng.vec(outer * total * inner, -1.0, 1.0);
        let mut want = vec![f32::NAN; outer * len * inner];
        cpu::layout::copy_from_axis(&x, outer, total, inner, start, len, &mut want);
        let y = poisoned(ctx, outer * len * inner);
        let xb = up(ctx, &x);
        gl::axis_copy(Slab { buf: &xb, total, start }, Slab { buf: &y, total: len, start: 0 }, outer, len, inner)
            .unwrap();
        assert_eq!(down(&y), want, "narrow ({outer}, {total}, {inner}) [{start}, +{len})");

        // Placing the slab back writes it and nothing else.
        let base = rng.vec(outer * total * inner, 2.0, 3.0);
        let mut want = base.clone();
        cpu::layout::copy_into_axis(&down(&y), outer, len, inner, &mut want, total, start);
        let dst = up(ctx, &base);
        gl::axis_copy(Slab { buf: &y, total: len, start: 0 }, Slab { buf: &dst, total, start }, outer, len, inner)
            .unwrap();
        assert_eq!(down(&dst), want, "place ({outer}, {total}, {inner}) [{start}, +{len})");
    }
}

#[test]
fn gpu_parity_select_rows() {
    let ctx = gpu!();
    let mut rng = Rng::new(72);
    let (n, d) = (11, 37);
    let x = rng.vec(n * d, -1.0, 1.0);
    // Repeats, gaps (rows 1 and 9 never chosen) and an out-of-order pick.
    let rows = [3, 0, 3, 10, 5, 3, 7, 0, 2, 4, 6, 8];
    let mut want = vec![f32::NAN; rows.len() * d];
    cpu::layout::gather_rows(&x, d, &rows, &mut want);
    let y = poisoned(ctx, rows.len() * d);
    gl::gather_rows(&up(ctx, &x), d, &rows, &y).unwrap();
    assert_eq!(down(&y), want, "gather_rows");

    let dy = rng.vec(rows.len() * d, -1.0, 1.0);
    let mut want = vec![0.0f32; n * d];
    for (i, &r) in rows.iter().enumerate() {
        for k in 0..d {
            want[r * d + k] += dy[i * d + k];
        }
    }
    let dx = poisoned(ctx, n * d);
    gl::scatter_add_rows(&up(ctx, &dy), d, &rows, n, &dx).unwrap();
    assert_eq!(down(&dx), want, "scatter_add_rows (rows never chosen get 0)");
}

#[test]
fn gpu_parity_pairwise_diff() {
    let ctx = gpu!();
    let mut rng = Rng::new(73);
    let (n, d) = (9, 19);
    let z = rng.vec(n * d, -1.0, 1.0);
    let mut pairs = cpu::pairwise::all_pairs(n);
    pairs.extend([(4, 4), (8, 0), (2, 7)]);
    let mut want = vec![f32::NAN; pairs.len() * d];
    cpu::pairwise::pairwise_diff_forward(&z, d, &pairs, &mut want);
    let y = poisoned(ctx, pairs.len() * d);
    gpu::layout::pairwise_diff_forward(&up(ctx, &z), d, &pairs, &y).unwrap();
    assert_eq!(down(&y), want, "pairwise_diff forward");

    let dy = rng.vec(pairs.len() * d, -1.0, 1.0);
    let mut want = vec![f32::NAN; n * d];
    cpu::pairwise::pairwise_diff_backward(&dy, d, &pairs, &mut want);
    let dz = poisoned(ctx, n * d);
    gpu::layout::pairwise_diff_backward(&up(ctx, &dy), d, &pairs, n, &dz).unwrap();
    assert_eq!(down(&dz), want, "pairwise_diff backward");
}
