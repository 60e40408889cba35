// Sum of all elements in two passes (kernels/src/cpu/reduce.rs): `partial` leaves one sum per
// workgroup (each thread a strided sum, then a tree in workgroup memory), `finish` adds those
// in one workgroup and scales (a mean is a sum with scale 1/n). The split depends only on n,
// so a result is repeatable run to run.

struct Params {
    n: u32,
    groups: u32,
    scale: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> part: array<f32, 256>;

fn tree(t: u32) {
    workgroupBarrier();
    for (var h = 128u; h > 0u; h >>= 1u) {
        if (t < h) { part[t] += part[t + h]; }
        workgroupBarrier();
    }
}

// Grid: `groups` workgroups (≤ 1024); out[g] = Σ x[i] over i ≡ its threads (mod groups·256).
@compute @workgroup_size(256)
fn partial(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    var s = 0.0;
    for (var i = wid.x * 256u + t; i < p.n; i += p.groups * 256u) {
        s += x[i];
    }
    part[t] = s;
    tree(t);
    if (t == 0u) { out[wid.x] = part[0]; }
}

// Grid: one workgroup; out[0] = scale · Σ x[0..n].
@compute @workgroup_size(256)
fn finish(@builtin(local_invocation_index) t: u32) {
    var s = 0.0;
    for (var i = t; i < p.n; i += 256u) {
        s += x[i];
    }
    part[t] = s;
    tree(t);
    if (t == 0u) { out[0] = part[0] * p.scale; }
}
