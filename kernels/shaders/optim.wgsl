// Fused parameter updates, in place (kernels/src/cpu/optim.rs): each parameter is read and
// written once per step. Bias corrections are computed on the host, as the CPU does.

struct Params {
    n: u32,
    _pad0: u32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    // Adam: 1 − β₁ᵗ and 1 − β₂ᵗ. SGD: momentum in bc1.
    bc1: f32,
    bc2: f32,
    _pad1: u32,
    _pad2: u32,
    _pad3: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> w: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;

// g ← g + λw; m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; w ← w − lr·m̂/(√v̂ + ε).
@compute @workgroup_size(256)
fn adam(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.n) { return; }
    let wi = w[i];
    let gi = g[i] + p.weight_decay * wi;
    let mi = p.beta1 * m[i] + (1.0 - p.beta1) * gi;
    let vi = p.beta2 * v[i] + (1.0 - p.beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    let mhat = mi / p.bc1;
    let vhat = vi / p.bc2;
    w[i] = wi - p.lr * mhat / (sqrt(vhat) + p.eps);
}

// b ← μb + g; w ← w − lr·b (momentum μ = bc1; b = m). With μ = 0 the buffer is not touched.
@compute @workgroup_size(256)
fn sgd(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.n) { return; }
    let wi = w[i];
    var step = g[i] + p.weight_decay * wi;
    if (p.bc1 != 0.0) {
        step = p.bc1 * m[i] + step;
        m[i] = step;
    }
    w[i] = wi - p.lr * step;
}
