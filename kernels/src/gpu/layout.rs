//! Data movement on the GPU (`shaders/layout.wgsl`): permute, slab copies along an axis
//! (narrow, concatenation), and row gathers with their scatter-add backward — the GPU side of
//! [`crate::cpu::layout`] and [`crate::cpu::pairwise`].

use super::context::Shader;
use super::{check_lens, grid_elems, u32_of, GpuBuffer, GpuError, Result};
use crate::cpu::binary::contiguous_strides;

pub(crate) const SHADER: Shader = Shader { name: "layout", source: include_str!("../../shaders/layout.wgsl") };

/// Most axes `permute` takes.
pub const MAX_RANK: usize = 8;

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct PermuteParams {
    n: u32,
    rank: u32,
    _pad: [u32; 2],
    dims: [u32; MAX_RANK],
    strides: [u32; MAX_RANK],
}

/// `y = x.permute(perm)`: `y`'s axis `d` is `x`'s axis `perm[d]` (`shape` is `x`'s).
pub fn permute(x: &GpuBuffer, shape: &[usize], perm: &[usize], y: &GpuBuffer) -> Result<()> {
    let n: usize = shape.iter().product();
    check_lens("permute", &[("x", x.len(), n), ("y", y.len(), n)])?;
    let rank = shape.len();
    let mut seen = [false; MAX_RANK];
    if rank > MAX_RANK || perm.len() != rank || perm.iter().any(|&p| p >= rank || std::mem::replace(&mut seen[p], true))
    {
        return Err(GpuError::Shape(format!("permute: {perm:?} of a rank-{rank} tensor (at most {MAX_RANK} axes)")));
    }
    let xs = contiguous_strides(shape);
    let mut p = PermuteParams { n: u32_of(n, "elements")?, rank: rank as u32, ..bytemuck::Zeroable::zeroed() };
    for (d, &a) in perm.iter().enumerate() {
        p.dims[d] = shape[a] as u32;
        p.strides[d] = xs[a] as u32;
    }
    y.context().launch(&SHADER, "permute", &[], &p, &[x, y], grid_elems(n)?)
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct AxisParams {
    n: u32,
    len: u32,
    inner: u32,
    src_total: u32,
    src_start: u32,
    dst_total: u32,
    dst_start: u32,
    _pad: u32,
}

/// One side of an [`axis_copy`]: a buffer read or written as `outer × total × inner`, with the
/// slab starting at `start` along the middle axis.
#[derive(Clone, Copy, Debug)]
pub struct Slab<'a> {
    pub buf: &'a GpuBuffer,
    pub total: usize,
    pub start: usize,
}

/// Copies the `outer × len × inner` block from `src`'s slab to `dst`'s; nothing else of `dst` is
/// written. Narrow: `src` = (x, total, start), `dst` = (y, len, 0). Concatenation and narrow's
/// backward: `src` = (x, len, 0), `dst` = (y, total, start).
pub fn axis_copy(src: Slab, dst: Slab, outer: usize, len: usize, inner: usize) -> Result<()> {
    check_lens(
        "axis_copy",
        &[("src", src.buf.len(), outer * src.total * inner), ("dst", dst.buf.len(), outer * dst.total * inner)],
    )?;
    if src.start + len > src.total || dst.start + len > dst.total {
        return Err(GpuError::Shape(format!(
            "axis_copy: {len} rows from {} of {} to {} of {}",
            src.start, src.total, dst.start, dst.total
        )));
    }
    let n = outer * len * inner;
    if n == 0 {
        return Ok(());
    }
    let p = AxisParams {
        n: u32_of(n, "elements")?,
        len: len as u32,
        inner: inner as u32,
        src_total: src.total as u32,
        src_start: src.start as u32,
        dst_total: dst.total as u32,
        dst_start: dst.start as u32,
        _pad: 0,
    };
    dst.buf.context().launch(&SHADER, "axis_copy", &[], &p, &[src.buf, dst.buf], grid_elems(n)?)
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct RowParams {
    rows: u32,
    d: u32,
    _pad: [u32; 2],
}

/// `y[r] = Σ w · x[i]` over the `(i, w)` of `terms[r]`, in that order, for row-major matrices of
/// row length `d` (`x`: `x.len() / d` rows; `y`: `terms.len()` rows, overwritten; a row with no
/// terms becomes 0).
pub fn combine_rows(x: &GpuBuffer, d: usize, terms: &[Vec<(usize, f32)>], y: &GpuBuffer) -> Result<()> {
    let rows_in = x.len().checked_div(d).unwrap_or(0);
    check_lens("combine_rows", &[("x", x.len(), rows_in * d), ("y", y.len(), terms.len() * d)])?;
    let mut off = Vec::with_capacity(terms.len() + 1);
    let (mut idx, mut w) = (Vec::new(), Vec::new());
    off.push(0u32);
    for row in terms {
        for &(i, wi) in row {
            if i >= rows_in {
                return Err(GpuError::Shape(format!("combine_rows: row {i} of {rows_in}")));
            }
            idx.push(u32_of(i, "row")?);
            w.push(wi);
        }
        off.push(u32_of(idx.len(), "terms")?);
    }
    if terms.is_empty() || d == 0 {
        return Ok(());
    }
    let ctx = y.context();
    // Storage bindings must not be empty: pad the term lists (their contents are never read).
    if idx.is_empty() {
        idx.push(0);
        w.push(0.0);
    }
    let (off, idx, w) =
        (GpuBuffer::from_slice_u32(ctx, &off)?, GpuBuffer::from_slice_u32(ctx, &idx)?, GpuBuffer::from_slice(ctx, &w)?);
    let p = RowParams { rows: u32_of(terms.len(), "rows")?, d: u32_of(d, "row length")?, _pad: [0; 2] };
    ctx.launch(&SHADER, "combine_rows", &[], &p, &[x, &off, &idx, &w, y], grid_elems(terms.len() * d)?)
}

/// `y[i] = x[rows[i]]`.
pub fn gather_rows(x: &GpuBuffer, d: usize, rows: &[usize], y: &GpuBuffer) -> Result<()> {
    let terms: Vec<Vec<(usize, f32)>> = rows.iter().map(|&r| vec![(r, 1.0)]).collect();
    combine_rows(x, d, &terms, y)
}

/// The backward of [`gather_rows`]: `dx[r] = Σ dy[i]` over the `i` with `rows[i] = r`, in
/// increasing `i` (as the CPU adds them); `dx` has `n` rows, overwritten.
pub fn scatter_add_rows(dy: &GpuBuffer, d: usize, rows: &[usize], n: usize, dx: &GpuBuffer) -> Result<()> {
    let mut terms = vec![Vec::new(); n];
    for (i, &r) in rows.iter().enumerate() {
        terms.get_mut(r).ok_or_else(|| GpuError::Shape(format!("scatter_add_rows: row {r} of {n}")))?.push((i, 1.0));
    }
    combine_rows(dy, d, &terms, dx)
}

/// `y[p] = z[i_p] − z[j_p]`.
pub fn pairwise_diff_forward(z: &GpuBuffer, d: usize, pairs: &[(usize, usize)], y: &GpuBuffer) -> Result<()> {
    let terms: Vec<Vec<(usize, f32)>> = pairs.iter().map(|&(i, j)| vec![(i, 1.0), (j, -1.0)]).collect();
    combine_rows(z, d, &terms, y)
}

/// `dz[r] = Σ_{p: i_p = r} dy[p] − Σ_{p: j_p = r} dy[p]`, pairs in order (the CPU's order); `dz`
/// has `n` rows, overwritten.
pub fn pairwise_diff_backward(
    dy: &GpuBuffer,
    d: usize,
    pairs: &[(usize, usize)],
    n: usize,
    dz: &GpuBuffer,
) -> Result<()> {
    let mut terms = vec![Vec::new(); n];
    for (p, &(i, j)) in pairs.iter().enumerate() {
        if i >= n || j >= n {
            return Err(GpuError::Shape(format!("pairwise_diff_backward: pair ({i}, {j}) of {n} rows")));
        }
        terms[i].push((p, 1.0));
        terms[j].push((p, -1.0));
    }
    combine_rows(dy, d, &terms, dz)
}
