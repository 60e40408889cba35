// Data movement (kernels/src/gpu/layout.rs): permute, copies of a slab along one axis, and
// weighted row combinations, one thread per output element.
//
//   permute       y = x.permute(perm) for rank ≤ 8: the host passes the output's dims and, for
//                 each output axis, the input stride it walks.
//   axis_copy     the block outer × len × inner from x's axis [src_start, +len) (x's axis holds
//                 src_total) to y's axis [dst_start, +len) (y's holds dst_total); only that block
//                 of y is written. Narrow, concatenation and narrow's backward.
//   combine_rows  y[r, :] = Σ_e w[e] · x[idx[e], :] over e in [off[r], off[r+1]) — row gather,
//                 its scatter-add backward (as a gather over each row's users, so no atomics and
//                 a fixed summation order), and pairwise differences with their backward.

struct PermuteParams {
    n: u32,
    rank: u32,
    _pad0: u32,
    _pad1: u32,
    dims: array<vec4<u32>, 2>,
    strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> pp: PermuteParams;
@group(0) @binding(1) var<storage, read> px: array<f32>;
@group(0) @binding(2) var<storage, read_write> py: array<f32>;

fn at(v: array<vec4<u32>, 2>, d: u32) -> u32 {
    return v[d / 4u][d % 4u];
}

@compute @workgroup_size(256)
fn permute(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= pp.n) { return; }
    var rest = i;
    var src = 0u;
    for (var d = pp.rank; d > 0u; d--) {
        let len = at(pp.dims, d - 1u);
        src += (rest % len) * at(pp.strides, d - 1u);
        rest = rest / len;
    }
    py[i] = px[src];
}

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

@group(0) @binding(0) var<uniform> ap: AxisParams;
@group(0) @binding(1) var<storage, read> ax: array<f32>;
@group(0) @binding(2) var<storage, read_write> ay: array<f32>;

@compute @workgroup_size(256)
fn axis_copy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= ap.n) { return; }
    let k = i % ap.inner;
    let l = (i / ap.inner) % ap.len;
    let o = i / (ap.inner * ap.len);
    ay[(o * ap.dst_total + ap.dst_start + l) * ap.inner + k] = ax[(o * ap.src_total + ap.src_start + l) * ap.inner + k];
}

struct RowParams {
    rows: u32,
    d: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> rp: RowParams;
@group(0) @binding(1) var<storage, read> rx: array<f32>;
@group(0) @binding(2) var<storage, read> off: array<u32>;
@group(0) @binding(3) var<storage, read> idx: array<u32>;
@group(0) @binding(4) var<storage, read> wt: array<f32>;
@group(0) @binding(5) var<storage, read_write> ry: array<f32>;

@compute @workgroup_size(256)
fn combine_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= rp.rows * rp.d) { return; }
    let r = i / rp.d;
    let j = i % rp.d;
    var s = 0.0;
    for (var e = off[r]; e < off[r + 1u]; e++) {
        s = fma(wt[e], rx[idx[e] * rp.d + j], s);
    }
    ry[i] = s;
}
