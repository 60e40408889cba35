// Inference kernels over one storage type S: f32, or f16 where the adapter has SHADER_F16.
// The host prepends `alias S = f32;` or `enable f16; alias S = f16;` (kernels/src/gpu/infer.rs),
// so both precisions run the same code: loads widen to f32, products and sums stay in f32 (in
// registers and workgroup memory), and only the stores narrow to S. Halving the bytes of
// weights and activations is the whole point of f16 here; accuracy is held by the f32 sums.
//
// Entry points:
//   conv_block   y = act(scale[co] · conv2d(x, w) + shift[co]): an eval-mode convolution with its
//                batch norm folded into the epilogue, and leaky ReLU when asked. A bias-free dense
//                layer is the 1×1 convolution of a 1×1 image (n × in → n × out).
//   max_pool     max over k × k windows (no argmax: nothing flows back in inference).
//   to_half      f32 words → f16 pairs packed in u32 (`pack2x16float`, no extension needed).
//   to_float     the reverse.

struct ConvParams {
    n: u32, c_in: u32, h: u32, w: u32,
    c_out: u32, kh: u32, kw: u32, stride: u32,
    pad: u32, oh: u32, ow: u32, ncols: u32,
    kdim: u32,
    // 1: apply scale/shift from `ss` (ss[co] = scale, ss[c_out + co] = shift).
    affine: u32,
    // 1: leaky ReLU with `slope` after the affine step.
    leaky: u32,
    slope: f32,
}

@group(0) @binding(0) var<uniform> p: ConvParams;
@group(0) @binding(1) var<storage, read> x: array<S>;
@group(0) @binding(2) var<storage, read> wt: array<S>;
@group(0) @binding(3) var<storage, read> ss: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<S>;

const TM: u32 = 64u;
const TN: u32 = 64u;
const TK: u32 = 16u;

var<workgroup> As: array<f32, 1024>; // As[kk * TM + row]: weights
var<workgroup> Bs: array<f32, 1024>; // Bs[kk * TN + col]: image columns

// x[nb, ci, oy·s + a − pad, ox·s + b − pad] for column col = nb·oh·ow + oy·ow + ox and
// kk = (ci·kh + a)·kw + b; 0 in the padding and past the edges of the tile.
fn load_x(kk: u32, col: u32) -> f32 {
    if (kk >= p.kdim || col >= p.ncols) { return 0.0; }
    let pos = p.oh * p.ow;
    let nb = col / pos;
    let q = col % pos;
    let khw = p.kh * p.kw;
    let ci = kk / khw;
    let rem = kk % khw;
    let iy = i32((q / p.ow) * p.stride + rem / p.kw) - i32(p.pad);
    let ix = i32((q % p.ow) * p.stride + rem % p.kw) - i32(p.pad);
    if (iy < 0 || ix < 0 || iy >= i32(p.h) || ix >= i32(p.w)) { return 0.0; }
    return f32(x[((nb * p.c_in + ci) * p.h + u32(iy)) * p.w + u32(ix)]);
}

fn load_w(r: u32, kk: u32) -> f32 {
    if (r >= p.c_out || kk >= p.kdim) { return 0.0; }
    return f32(wt[r * p.kdim + kk]);
}

// The 64 × 64 tiling of gemm.wgsl / conv.wgsl (16 × 16 threads, 4 × 4 outputs each).
@compute @workgroup_size(16, 16, 1)
fn conv_block(@builtin(local_invocation_id) lid: vec3<u32>,
              @builtin(workgroup_id) wid: vec3<u32>,
              @builtin(num_workgroups) nwg: vec3<u32>) {
    let col_tile = wid.x + wid.z * nwg.x;
    if (col_tile * TN >= p.ncols) { return; }
    let row0 = wid.y * TM;
    let col0 = col_tile * TN;
    let tid = lid.y * 16u + lid.x;
    // The 4 × 4 outputs in four vec4 registers (a local array would live in slow memory).
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var k0 = 0u; k0 < p.kdim; k0 += TK) {
        for (var i = 0u; i < 4u; i++) {
            let e = tid + i * 256u;
            let ka = e % TK; let ra = e / TK;
            As[ka * TM + ra] = load_w(row0 + ra, k0 + ka);
            let jb = e % TN; let kb = e / TN;
            Bs[kb * TN + jb] = load_x(k0 + kb, col0 + jb);
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TK; kk++) {
            let ar = kk * TM + lid.y;
            let bc = kk * TN + lid.x;
            let bv = vec4<f32>(Bs[bc], Bs[bc + 16u], Bs[bc + 32u], Bs[bc + 48u]);
            acc0 = fma(vec4<f32>(As[ar]), bv, acc0);
            acc1 = fma(vec4<f32>(As[ar + 16u]), bv, acc1);
            acc2 = fma(vec4<f32>(As[ar + 32u]), bv, acc2);
            acc3 = fma(vec4<f32>(As[ar + 48u]), bv, acc3);
        }
        workgroupBarrier();
    }
    // Only the epilogue indexes the rows dynamically.
    var rows = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
    let pos = p.oh * p.ow;
    for (var i = 0u; i < 4u; i++) {
        let co = row0 + lid.y + 16u * i;
        if (co >= p.c_out) { continue; }
        var scale = 1.0;
        var shift = 0.0;
        if (p.affine == 1u) { scale = ss[co]; shift = ss[p.c_out + co]; }
        for (var j = 0u; j < 4u; j++) {
            let col = col0 + lid.x + 16u * j;
            if (col >= p.ncols) { continue; }
            var v = fma(scale, rows[i][j], shift);
            if (p.leaky == 1u && v < 0.0) { v = v * p.slope; }
            y[((col / pos) * p.c_out + co) * pos + col % pos] = S(v);
        }
    }
}

struct PoolParams {
    planes: u32, h: u32, w: u32, k: u32,
    stride: u32, pad: u32, oh: u32, ow: u32,
}

@group(0) @binding(0) var<uniform> pp: PoolParams;
@group(0) @binding(1) var<storage, read> px: array<S>;
@group(0) @binding(2) var<storage, read_write> py: array<S>;

@compute @workgroup_size(256)
fn max_pool(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    let per_plane = pp.oh * pp.ow;
    if (i >= pp.planes * per_plane) { return; }
    let plane = i / per_plane;
    let oy = (i % per_plane) / pp.ow;
    let ox = i % pp.ow;
    // Every window holds at least one real cell (pad < k), so `best` always gets a value.
    var best = -3.4028234e38;
    for (var a = 0u; a < pp.k; a++) {
        let iy = i32(oy * pp.stride + a) - i32(pp.pad);
        if (iy < 0 || iy >= i32(pp.h)) { continue; }
        for (var b = 0u; b < pp.k; b++) {
            let ix = i32(ox * pp.stride + b) - i32(pp.pad);
            if (ix < 0 || ix >= i32(pp.w)) { continue; }
            best = max(best, f32(px[(plane * pp.h + u32(iy)) * pp.w + u32(ix)]));
        }
    }
    py[i] = S(best);
}

struct ConvertParams {
    // f32 elements (the f16 side holds them in ceil(n / 2) words).
    n: u32,
    _pad0: u32, _pad1: u32, _pad2: u32,
}

@group(0) @binding(0) var<uniform> cp: ConvertParams;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;

// One thread per f16 pair: dst[i] = (f16(src[2i + 1]) << 16) | f16(src[2i]), a 0 high half past
// an odd end. f32 → f16 rounds to nearest even; beyond ±65504 gives ±inf.
@compute @workgroup_size(256)
fn to_half(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (2u * i >= cp.n) { return; }
    let lo = bitcast<f32>(src[2u * i]);
    var hi = 0.0;
    if (2u * i + 1u < cp.n) { hi = bitcast<f32>(src[2u * i + 1u]); }
    dst[i] = pack2x16float(vec2<f32>(lo, hi));
}

@compute @workgroup_size(256)
fn to_float(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (2u * i >= cp.n) { return; }
    let v = unpack2x16float(src[i]);
    dst[2u * i] = bitcast<u32>(v.x);
    if (2u * i + 1u < cp.n) { dst[2u * i + 1u] = bitcast<u32>(v.y); }
}
