// Batch normalisation without affine parameters, training mode (kernels/src/cpu/norm.rs).
// Layout n × c × spatial. Per-channel statistics: one workgroup per channel, each thread a
// strided f32 sum over the channel's n·spatial cells, then a tree in workgroup memory. Like
// the CPU, two passes (mean, then squared deviations): E[x²] − E[x]² cancels catastrophically
// when |mean| ≫ std.

struct Params {
    n: u32,
    c: u32,
    spatial: u32,
    eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;

var<workgroup> part: array<f32, 256>;

// part[0] ← Σ part over the workgroup; every thread sees the result.
fn tree_sum(t: u32, s: f32) -> f32 {
    part[t] = s;
    workgroupBarrier();
    for (var h = 128u; h > 0u; h >>= 1u) {
        if (t < h) { part[t] += part[t + h]; }
        workgroupBarrier();
    }
    let total = part[0];
    workgroupBarrier(); // before part is reused
    return total;
}

// Cell j (0 ≤ j < n·spatial) of channel ch.
fn at(ch: u32, j: u32) -> u32 {
    return ((j / p.spatial) * p.c + ch) * p.spatial + j % p.spatial;
}

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> mean: array<f32>;
@group(0) @binding(3) var<storage, read_write> var_: array<f32>;

// Grid: one workgroup per channel (2-D past 65535). Writes the mean and the biased variance.
@compute @workgroup_size(256)
fn stats(@builtin(local_invocation_index) t: u32,
         @builtin(workgroup_id) wid: vec3<u32>,
         @builtin(num_workgroups) nwg: vec3<u32>) {
    let ch = wid.x + wid.y * nwg.x;
    if (ch >= p.c) { return; }
    let m = p.n * p.spatial;
    var s = 0.0;
    for (var j = t; j < m; j += 256u) { s += x[at(ch, j)]; }
    let mu = tree_sum(t, s) / f32(m);
    var q = 0.0;
    for (var j = t; j < m; j += 256u) {
        let d = x[at(ch, j)] - mu;
        q += d * d;
    }
    let v = tree_sum(t, q) / f32(m);
    if (t == 0u) {
        mean[ch] = mu;
        var_[ch] = v;
    }
}

@group(0) @binding(1) var<storage, read> nx: array<f32>;
@group(0) @binding(2) var<storage, read> nmean: array<f32>;
@group(0) @binding(3) var<storage, read> nvar: array<f32>;
@group(0) @binding(4) var<storage, read_write> ny: array<f32>;

// y = (x − mean)/√(var + eps), one thread per cell.
@compute @workgroup_size(256)
fn normalize(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.n * p.c * p.spatial) { return; }
    let ch = (i / p.spatial) % p.c;
    ny[i] = (nx[i] - nmean[ch]) * (1.0 / sqrt(nvar[ch] + p.eps));
}

@group(0) @binding(1) var<storage, read> by: array<f32>;
@group(0) @binding(2) var<storage, read> bdy: array<f32>;
@group(0) @binding(3) var<storage, read_write> coef: array<f32>;

// Grid: one workgroup per channel. coef[2ch] = mean(dy), coef[2ch + 1] = mean(dy · x̂).
@compute @workgroup_size(256)
fn backward_stats(@builtin(local_invocation_index) t: u32,
                  @builtin(workgroup_id) wid: vec3<u32>,
                  @builtin(num_workgroups) nwg: vec3<u32>) {
    let ch = wid.x + wid.y * nwg.x;
    if (ch >= p.c) { return; }
    let m = p.n * p.spatial;
    var s = 0.0;
    var q = 0.0;
    for (var j = t; j < m; j += 256u) {
        let i = at(ch, j);
        s += bdy[i];
        q += bdy[i] * by[i];
    }
    let mdy = tree_sum(t, s) / f32(m);
    let mdyy = tree_sum(t, q) / f32(m);
    if (t == 0u) {
        coef[2u * ch] = mdy;
        coef[2u * ch + 1u] = mdyy;
    }
}

@group(0) @binding(1) var<storage, read> ay: array<f32>;
@group(0) @binding(2) var<storage, read> avar: array<f32>;
@group(0) @binding(3) var<storage, read> ady: array<f32>;
@group(0) @binding(4) var<storage, read> acoef: array<f32>;
@group(0) @binding(5) var<storage, read_write> adx: array<f32>;

// dx = invstd · (dy − mean(dy) − x̂ · mean(dy · x̂)), x̂ = y.
@compute @workgroup_size(256)
fn backward_apply(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.n * p.c * p.spatial) { return; }
    let ch = (i / p.spatial) % p.c;
    let invstd = 1.0 / sqrt(avar[ch] + p.eps);
    adx[i] = invstd * (ady[i] - acoef[2u * ch] - ay[i] * acoef[2u * ch + 1u]);
}
