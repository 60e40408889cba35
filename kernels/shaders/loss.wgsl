// Fused, numerically stable losses, mean over all elements (kernels/src/cpu/loss.rs).
// Forward: per-element losses summed as in reduce.wgsl (`*_partial`, then `finish` with
// scale 1/n). Backward: elementwise, with the upstream gradient g folded into `scale`.

struct Params {
    n: u32,
    groups: u32,
    // finish: 1/n. Backward: g/n (bce) or 2g/n (mse).
    scale: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> u: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

var<workgroup> part: array<f32, 256>;

fn tree(t: u32) {
    workgroupBarrier();
    for (var h = 128u; h > 0u; h >>= 1u) {
        if (t < h) { part[t] += part[t + h]; }
        workgroupBarrier();
    }
}

// log(1 + w) for w ∈ [0, 1], accurate when w is tiny (see activation.wgsl).
fn log1p_pos(w: f32) -> f32 {
    let z = 1.0 + w;
    if (z == 1.0) { return w; }
    return log(z) * w / (z - 1.0);
}

// max(x,0) − x·t + log(1 + e^{−|x|}): never the log of 0, never an overflowing exp.
fn bce(x: f32, t: f32) -> f32 {
    return max(x, 0.0) - x * t + log1p_pos(exp(-abs(x)));
}

fn sigmoid(x: f32) -> f32 {
    if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
    let e = exp(x);
    return e / (1.0 + e);
}

// Grid: `groups` workgroups; out[g] = Σ bce(x, t) over its threads' elements. u = x, v = t.
@compute @workgroup_size(256)
fn bce_partial(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    var s = 0.0;
    for (var i = wid.x * 256u + t; i < p.n; i += p.groups * 256u) {
        s += bce(u[i], v[i]);
    }
    part[t] = s;
    tree(t);
    if (t == 0u) { out[wid.x] = part[0]; }
}

// u = a, v = b.
@compute @workgroup_size(256)
fn mse_partial(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    var s = 0.0;
    for (var i = wid.x * 256u + t; i < p.n; i += p.groups * 256u) {
        let d = u[i] - v[i];
        s += d * d;
    }
    part[t] = s;
    tree(t);
    if (t == 0u) { out[wid.x] = part[0]; }
}

// finish bindings: the partial sums in, the loss out.
@group(0) @binding(1) var<storage, read> fin: array<f32>;
@group(0) @binding(2) var<storage, read_write> fout: array<f32>;

@compute @workgroup_size(256)
fn finish(@builtin(local_invocation_index) t: u32) {
    var s = 0.0;
    for (var i = t; i < p.n; i += 256u) {
        s += fin[i];
    }
    part[t] = s;
    tree(t);
    if (t == 0u) { fout[0] = part[0] * p.scale; }
}

// dx = (g/n)·(σ(x) − t).
@compute @workgroup_size(256)
fn bce_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.n) { return; }
    out[i] = p.scale * (sigmoid(u[i]) - v[i]);
}

// da = (2g/n)·(a − b).
@compute @workgroup_size(256)
fn mse_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.n) { return; }
    out[i] = p.scale * (u[i] - v[i]);
}
