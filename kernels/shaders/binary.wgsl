// Elementwise binary arithmetic with NumPy broadcasting, and its adjoint sum_to_shape
// (kernels/src/cpu/binary.rs). Up to 8 dimensions; shapes and strides travel in the uniform
// block as two vec4s each (uniform arrays need 16-byte elements). A broadcast dimension has
// stride 0, so one index computation serves every case.

struct Params {
    n: u32,
    ndim: u32,
    op: u32,
    // sum_to_shape: how many input elements fold into each output element.
    rlen: u32,
    // binary: the output shape, a's and b's strides.
    // sum_to_shape: the kept shape (1 on reduced axes), the reduced shape (1 on kept axes),
    // the input's strides.
    s0: array<vec4<u32>, 2>,
    s1: array<vec4<u32>, 2>,
    s2: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> p: Params;

fn at(v: array<vec4<u32>, 2>, d: u32) -> u32 {
    return v[d / 4u][d % 4u];
}

@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

fn apply(u: f32, v: f32) -> f32 {
    switch p.op {
        case 0u: { return u + v; }
        case 1u: { return u - v; }
        case 2u: { return u * v; }
        case 3u: { return u / v; }
        default: { return max(u, v); }
    }
}

@compute @workgroup_size(256)
fn binary_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.n) { return; }
    var r = i;
    var pa = 0u;
    var pb = 0u;
    for (var d = i32(p.ndim) - 1; d >= 0; d--) {
        let size = at(p.s0, u32(d));
        let c = r % size;
        r = r / size;
        pa += c * at(p.s1, u32(d));
        pb += c * at(p.s2, u32(d));
    }
    y[i] = apply(a[pa], b[pb]);
}

// sum_to_shape bindings: x read, out written.
@group(0) @binding(1) var<storage, read> sx: array<f32>;
@group(0) @binding(2) var<storage, read_write> sout: array<f32>;

// Offset in x of output element o (over the kept shape) and reduced element r.
fn kept_offset(o: u32) -> u32 {
    var rem = o;
    var off = 0u;
    for (var d = i32(p.ndim) - 1; d >= 0; d--) {
        let size = at(p.s0, u32(d));
        off += (rem % size) * at(p.s2, u32(d));
        rem = rem / size;
    }
    return off;
}

fn reduced_offset(r: u32) -> u32 {
    var rem = r;
    var off = 0u;
    for (var d = i32(p.ndim) - 1; d >= 0; d--) {
        let size = at(p.s1, u32(d));
        off += (rem % size) * at(p.s2, u32(d));
        rem = rem / size;
    }
    return off;
}

// Few elements fold into each output: one thread per output, summing in row-major order.
@compute @workgroup_size(256)
fn sum_to_shape_thread(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = gid.x + gid.y * nwg.x * 256u;
    if (o >= p.n) { return; }
    let base = kept_offset(o);
    var s = 0.0;
    for (var r = 0u; r < p.rlen; r++) {
        s += sx[base + reduced_offset(r)];
    }
    sout[o] = s;
}

var<workgroup> part: array<f32, 256>;

// Many elements fold into each output: one workgroup per output, a strided sum per thread,
// then a tree.
@compute @workgroup_size(256)
fn sum_to_shape_group(@builtin(local_invocation_index) t: u32,
                      @builtin(workgroup_id) wid: vec3<u32>,
                      @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = wid.x + wid.y * nwg.x;
    if (o >= p.n) { return; }
    let base = kept_offset(o);
    var s = 0.0;
    for (var r = t; r < p.rlen; r += 256u) {
        s += sx[base + reduced_offset(r)];
    }
    part[t] = s;
    workgroupBarrier();
    for (var h = 128u; h > 0u; h >>= 1u) {
        if (t < h) { part[t] += part[t + h]; }
        workgroupBarrier();
    }
    if (t == 0u) { sout[o] = part[0]; }
}
