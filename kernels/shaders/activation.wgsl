// Elementwise unary functions and their derivatives (kernels/src/cpu/activation.rs).
// The op is a uniform code, so every thread of a dispatch takes the same branch.
// Grids are 2-D (x ≤ 65535 workgroups): element i = gid.x + gid.y · nwg.x · 256.

struct Params {
    n: u32,
    op: u32,
    // LeakyRelu's negative slope; `affine`'s a and b.
    slope: f32,
    a: f32,
    b: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

const RELU: u32 = 0u;
const LEAKY_RELU: u32 = 1u;
const SIGMOID: u32 = 2u;
const TANH: u32 = 3u;
const EXP: u32 = 4u;
const LOG: u32 = 5u;
const SOFTPLUS: u32 = 6u;
const LOG_SIGMOID: u32 = 7u;
const NEG: u32 = 8u;
const SQR: u32 = 9u;
const SQRT: u32 = 10u;
const ABS: u32 = 11u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;

// log(1 + u) for u ≥ 0 without losing u when it is tiny: log(w)·u/(w − 1), w = 1 + u (Goldberg's
// trick; WGSL has no log1p). Exact to a few ulp, and equal to u when 1 + u rounds to 1.
fn log1p_pos(u: f32) -> f32 {
    let w = 1.0 + u;
    if (w == 1.0) { return u; }
    return log(w) * u / (w - 1.0);
}

// log(1 + eˣ) = max(x, 0) + log1p(e^{−|x|}): never overflows.
fn softplus(v: f32) -> f32 {
    return max(v, 0.0) + log1p_pos(exp(-abs(v)));
}

// Two branches so that exp never overflows.
fn sigmoid(v: f32) -> f32 {
    if (v >= 0.0) { return 1.0 / (1.0 + exp(-v)); }
    let e = exp(v);
    return e / (1.0 + e);
}

// tanh from e^{−2|x|} ∈ (0, 1]: no inf/inf for large |x| (some drivers' built-in tanh has it).
fn tanh_stable(v: f32) -> f32 {
    let t = exp(-2.0 * abs(v));
    return sign(v) * (1.0 - t) / (1.0 + t);
}

fn apply(op: u32, v: f32) -> f32 {
    switch op {
        case 0u: { return max(v, 0.0); }
        case 1u: { return select(p.slope * v, v, v > 0.0); }
        case 2u: { return sigmoid(v); }
        case 3u: { return tanh_stable(v); }
        case 4u: { return exp(v); }
        case 5u: { return log(v); }
        case 6u: { return softplus(v); }
        case 7u: { return -softplus(-v); }
        case 8u: { return -v; }
        case 9u: { return v * v; }
        case 10u: { return sqrt(v); }
        default: { return abs(v); }
    }
}

// dy/dx from the input v and the saved output yv.
fn derivative(op: u32, v: f32, yv: f32) -> f32 {
    switch op {
        case 0u: { return select(0.0, 1.0, v > 0.0); }
        case 1u: { return select(p.slope, 1.0, v > 0.0); }
        case 2u: { return yv * (1.0 - yv); }
        case 3u: { return 1.0 - yv * yv; }
        case 4u: { return yv; }
        case 5u: { return 1.0 / v; }
        case 6u: { return sigmoid(v); }
        case 7u: { return sigmoid(-v); }
        case 8u: { return -1.0; }
        case 9u: { return 2.0 * v; }
        case 10u: { return 0.5 / yv; }
        default: { return sign(v); }
    }
}

@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn unary_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.n) { return; }
    y[i] = apply(p.op, x[i]);
}

@compute @workgroup_size(256)
fn affine(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.n) { return; }
    y[i] = p.a * x[i] + p.b;
}

// Backward bindings: x, y (the saved output), dy read; dx written. Resource variables may
// share binding numbers across entry points; each entry point's layout sees only its own.
@group(0) @binding(1) var<storage, read> bx: array<f32>;
@group(0) @binding(2) var<storage, read> by: array<f32>;
@group(0) @binding(3) var<storage, read> bdy: array<f32>;
@group(0) @binding(4) var<storage, read_write> bdx: array<f32>;

@compute @workgroup_size(256)
fn unary_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.n) { return; }
    let g = bdy[i];
    // The piecewise-linear ones select g or slope·g, as the CPU does.
    if (p.op == RELU || p.op == LEAKY_RELU) {
        let s = select(0.0, p.slope, p.op == LEAKY_RELU);
        bdx[i] = select(s * g, g, bx[i] > 0.0);
        return;
    }
    bdx[i] = g * derivative(p.op, bx[i], by[i]);
}
