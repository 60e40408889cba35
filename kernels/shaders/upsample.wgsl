// Nearest-neighbour upsampling by an integer factor k (kernels/src/cpu/upsample.rs).

struct Params {
    planes: u32, // n · c
    h: u32,
    w: u32,
    k: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

// y[.., i, j] = x[.., i / k, j / k]; one thread per output cell.
@compute @workgroup_size(256)
fn upsample_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    let wk = p.w * p.k;
    let hk = p.h * p.k;
    if (i >= p.planes * hk * wk) { return; }
    let plane = i / (hk * wk);
    let oy = (i / wk) % hk;
    let ox = i % wk;
    dst[i] = src[(plane * p.h + oy / p.k) * p.w + ox / p.k];
}

// dx[.., i, j] = Σ_a (Σ_b dy[.., i·k + a, j·k + b]): row sums first, the CPU's order.
@compute @workgroup_size(256)
fn upsample_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.planes * p.h * p.w) { return; }
    let wk = p.w * p.k;
    let plane = i / (p.h * p.w);
    let iy = (i / p.w) % p.h;
    let ix = i % p.w;
    var s = 0.0;
    for (var a = 0u; a < p.k; a++) {
        let row = ((plane * p.h + iy) * p.k + a) * wk + ix * p.k;
        var r = 0.0;
        for (var b = 0u; b < p.k; b++) {
            r += src[row + b];
        }
        s += r;
    }
    dst[i] = s;
}
