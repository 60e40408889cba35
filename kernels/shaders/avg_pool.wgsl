// Average pooling over unpadded windows (kernels/src/cpu/avg_pool.rs): the window's sum in
// row-major order divided by k²; the backward gathers dy / k² over the windows holding a cell,
// in row-major output order, the order the CPU's scatter adds in.

// pool.wgsl's uniform block (kernels/src/gpu/pool.rs); pad is always 0 here.
struct Params {
    planes: u32, // n · c
    h: u32,
    w: u32,
    k: u32,
    stride: u32,
    pad: u32,
    oh: u32,
    ow: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// One thread per output cell.
@compute @workgroup_size(256)
fn avg_pool_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.planes * p.oh * p.ow) { return; }
    let plane = i / (p.oh * p.ow);
    let oy = (i / p.ow) % p.oh;
    let ox = i % p.ow;
    let base = plane * p.h * p.w + oy * p.stride * p.w + ox * p.stride;
    var s = 0.0;
    for (var a = 0u; a < p.k; a++) {
        for (var b = 0u; b < p.k; b++) {
            s += x[base + a * p.w + b];
        }
    }
    y[i] = s / f32(p.k * p.k);
}

@group(0) @binding(1) var<storage, read> bdy: array<f32>;
@group(0) @binding(2) var<storage, read_write> bdx: array<f32>;

// One thread per input cell: windows o with o·s ≤ i < o·s + k, none past the last output.
@compute @workgroup_size(256)
fn avg_pool_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.planes * p.h * p.w) { return; }
    let plane = i / (p.h * p.w);
    let cell = i % (p.h * p.w);
    let iy = cell / p.w;
    let ix = cell % p.w;
    let oy_lo = select(0u, (iy + 1u - p.k + p.stride - 1u) / p.stride, iy + 1u > p.k);
    let oy_hi = min(iy / p.stride + 1u, p.oh);
    let ox_lo = select(0u, (ix + 1u - p.k + p.stride - 1u) / p.stride, ix + 1u > p.k);
    let ox_hi = min(ix / p.stride + 1u, p.ow);
    let area = f32(p.k * p.k);
    let base = plane * p.oh * p.ow;
    var s = 0.0;
    for (var oy = oy_lo; oy < oy_hi; oy++) {
        for (var ox = ox_lo; ox < ox_hi; ox++) {
            s += bdy[base + oy * p.ow + ox] / area;
        }
    }
    bdx[i] = s;
}
