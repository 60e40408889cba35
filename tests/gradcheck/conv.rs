//! `conv2d` and `conv_transpose2d` against their definitions as plain loops: strides 1–3,
//! padding 0–2, kernels 1–5 (also non-square), non-square images, batch 1 and 2.

use crate::check::{Case, Gen};
use proptest::prelude::*;

/// Cross-correlation of `x` (`n × c_in × h × w`) with `w` (`c_out × c_in × kh × kw`), zero
/// padding `pad` on every side: `y[n,o,i,j] = Σ_{c,a,b} x[n,c,i·s+a−pad,j·s+b−pad]·w[o,c,a,b]`.
pub fn ref_conv2d(x: &[f64], xs: [usize; 4], w: &[f64], ws: [usize; 4], stride: usize, pad: usize) -> Vec<f64> {
    let [n, ci, h, wd] = xs;
    let [co, ci2, kh, kw] = ws;
    assert_eq!(ci, ci2);
    let oh = (h + 2 * pad - kh) / stride + 1;
    let ow = (wd + 2 * pad - kw) / stride + 1;
    let mut y = vec![0.0; n * co * oh * ow];
    for s in 0..n {
        for o in 0..co {
            for i in 0..oh {
                for j in 0..ow {
                    let mut acc = 0.0;
                    for c in 0..ci {
                        for a in 0..kh {
                            for b in 0..kw {
                                let (r, q) = (
                                    (i * stride + a) as isize - pad as isize,
                                    (j * stride + b) as isize - pad as isize,
                                );
                                if r < 0 || q < 0 || r >= h as isize || q >= wd as isize {
                                    continue;
                                }
                                acc += x[((s * ci + c) * h + r as usize) * wd + q as usize]
                                    * w[((o * ci + c) * kh + a) * kw + b];
                            }
                        }
                    }
                    y[((s * co + o) * oh + i) * ow + j] = acc;
                }
            }
        }
    }
    y
}

/// PyTorch's `conv_transpose2d` by its definition: every input cell `x[n,c,i,j]` is scattered
/// through the kernel `w[c,o,·,·]` (`c_in × c_out × kh × kw`) onto `y[n,o,i·s+a−pad,j·s+b−pad]`;
/// the output side is `(h−1)·s − 2·pad + k + output_padding`.
pub fn ref_conv_transpose2d(
    x: &[f64],
    xs: [usize; 4],
    w: &[f64],
    ws: [usize; 4],
    stride: usize,
    pad: usize,
    output_padding: usize,
) -> Vec<f64> {
    let [n, ci, h, wd] = xs;
    let [ci2, co, kh, kw] = ws;
    assert_eq!(ci, ci2);
    let oh = (h - 1) * stride + kh + output_padding - 2 * pad;
    let ow = (wd - 1) * stride + kw + output_padding - 2 * pad;
    let mut y = vec![0.0; n * co * oh * ow];
    for s in 0..n {
        for c in 0..ci {
            for i in 0..h {
                for j in 0..wd {
                    let v = x[((s * ci + c) * h + i) * wd + j];
                    for o in 0..co {
                        for a in 0..kh {
                            for b in 0..kw {
                                let (r, q) = (
                                    (i * stride + a) as isize - pad as isize,
                                    (j * stride + b) as isize - pad as isize,
                                );
                                if r < 0 || q < 0 || r >= oh as isize || q >= ow as isize {
                                    continue;
                                }
                                y[((s * co + o) * oh + r as usize) * ow + q as usize] +=
                                    v * w[((c * co + o) * kh + a) * kw + b];
                            }
                        }
                    }
                }
            }
        }
    }
    y
}

proptest! {
    #![proptest_config(crate::check::config(32))]

    #[test]
    fn gradcheck_conv2d(
        n in 1usize..=2, c_in in 1usize..=3, c_out in 1usize..=3,
        kh in 1usize..=5, kw in 1usize..=5, square: bool,
        stride in 1usize..=3, pad in 0usize..=2,
        h in 1usize..=9, w in 1usize..=9,
        seed in any::<u64>(),
    ) {
        // Half the cases use a square kernel, the layers' usual shape.
        let kw = if square { kh } else { kw };
        // The kernel must fit the padded image.
        let (h, w) = (h.max(kh.saturating_sub(2 * pad)), w.max(kw.saturating_sub(2 * pad)));
        let (oh, ow) = ((h + 2 * pad - kh) / stride + 1, (w + 2 * pad - kw) / stride + 1);
        let (xs, ws) = ([n, c_in, h, w], [c_out, c_in, kh, kw]);
        let mut gen = Gen::new(seed);
        Case::new(format!("conv2d x {xs:?} w {ws:?} stride {stride} pad {pad}"), seed)
            .input(&xs, gen.values(xs.iter().product()))
            .input(&ws, gen.values(ws.iter().product()))
            .output(&[n, c_out, oh, ow])
            .run(|t| t[0].conv2d(&t[1], stride, pad), |x| ref_conv2d(&x[0], xs, &x[1], ws, stride, pad))?;
    }

    #[test]
    fn gradcheck_conv_transpose2d(
        n in 1usize..=2, c_in in 1usize..=3, c_out in 1usize..=3,
        kh in 1usize..=5, kw in 1usize..=5, square: bool,
        stride in 1usize..=3, pad in 0usize..=2, output_padding in 0usize..=2,
        h in 1usize..=6, w in 1usize..=6,
        seed in any::<u64>(),
    ) {
        let kw = if square { kh } else { kw };
        // PyTorch's rule: output_padding < stride.
        let output_padding = output_padding % stride;
        // The output must keep at least one cell: (i−1)·s + k + output_padding − 2·pad ≥ 1.
        let room = |i: usize, k: usize| ((i - 1) * stride + k + output_padding - 1) / 2;
        let pad = pad.min(room(h, kh)).min(room(w, kw));
        let oh = (h - 1) * stride + kh + output_padding - 2 * pad;
        let ow = (w - 1) * stride + kw + output_padding - 2 * pad;
        let (xs, ws) = ([n, c_in, h, w], [c_in, c_out, kh, kw]);
        let mut gen = Gen::new(seed);
        Case::new(
            format!("conv_transpose2d x {xs:?} w {ws:?} stride {stride} pad {pad} output_padding {output_padding}"),
            seed,
        )
        .input(&xs, gen.values(xs.iter().product()))
        .input(&ws, gen.values(ws.iter().product()))
        .output(&[n, c_out, oh, ow])
        .run(
            |t| t[0].conv_transpose2d(&t[1], stride, pad, output_padding),
            |x| ref_conv_transpose2d(&x[0], xs, &x[1], ws, stride, pad, output_padding),
        )?;
    }
}
