// Max pooling with the argmax kept for the backward pass (kernels/src/cpu/pool.rs).
// Padded cells act as −∞ (never win); ties keep the first cell in row-major window order;
// the first NaN wins (NaN propagates). argmax is the winner's index within its h × w plane.

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
@group(0) @binding(3) var<storage, read_write> argmax: array<u32>;

fn beats(v: f32, best: f32) -> bool {
    return v > best || (v != v && best == best);
}

// One thread per output cell.
@compute @workgroup_size(256)
fn max_pool_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.planes * p.oh * p.ow) { return; }
    let plane = i / (p.oh * p.ow);
    let oy = (i / p.ow) % p.oh;
    let ox = i % p.ow;
    // The window's real cells: [lo, hi) on each axis (start − pad clamped to the plane).
    let sy = oy * p.stride;
    let sx = ox * p.stride;
    let y_lo = max(sy, p.pad) - p.pad;
    let y_hi = min(max(sy + p.k, p.pad) - p.pad, p.h);
    let x_lo = max(sx, p.pad) - p.pad;
    let x_hi = min(max(sx + p.k, p.pad) - p.pad, p.w);
    let base = plane * p.h * p.w;
    var best_i = y_lo * p.w + x_lo;
    var best = x[base + best_i];
    for (var iy = y_lo; iy < y_hi; iy++) {
        for (var ix = x_lo; ix < x_hi; ix++) {
            let v = x[base + iy * p.w + ix];
            if (beats(v, best)) {
                best = v;
                best_i = iy * p.w + ix;
            }
        }
    }
    y[i] = best;
    argmax[i] = best_i;
}

@group(0) @binding(1) var<storage, read> bdy: array<f32>;
@group(0) @binding(2) var<storage, read> bargmax: array<u32>;
@group(0) @binding(3) var<storage, read_write> bdx: array<f32>;

// One thread per input cell: a gather over the windows that contain it, in row-major dy order
// (the order the CPU's scatter adds in), so overlapping windows need no atomics.
@compute @workgroup_size(256)
fn max_pool_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.planes * p.h * p.w) { return; }
    let plane = i / (p.h * p.w);
    let cell = i % (p.h * p.w);
    let iy = cell / p.w;
    let ix = cell % p.w;
    // Windows o with o·s ≤ i + pad < o·s + k.
    let ty = iy + p.pad;
    let tx = ix + p.pad;
    let oy_lo = select(0u, (ty + 1u - p.k + p.stride - 1u) / p.stride, ty + 1u > p.k);
    let oy_hi = min(ty / p.stride + 1u, p.oh);
    let ox_lo = select(0u, (tx + 1u - p.k + p.stride - 1u) / p.stride, tx + 1u > p.k);
    let ox_hi = min(tx / p.stride + 1u, p.ow);
    let base = plane * p.oh * p.ow;
    var s = 0.0;
    for (var oy = oy_lo; oy < oy_hi; oy++) {
        for (var ox = ox_lo; ox < ox_hi; ox++) {
            let o = base + oy * p.ow + ox;
            if (bargmax[o] == cell) { s += bdy[o]; }
        }
    }
    bdx[i] = s;
}
