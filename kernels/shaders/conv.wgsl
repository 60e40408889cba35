// 2-D convolution (cross-correlation, NCHW) as implicit GEMM: the tiled product of gemm.wgsl,
// with operand tiles gathered straight from the image instead of from an im2col matrix (which
// would be c_in·kh·kw times the input). One entry point, three pipelines (override MODE):
//
//   MODE 0, forward:          y[nb,co,p]  = Σ_{ci,a,b} w[co,ci,a,b] · x[nb,ci, oy·s+a−pad, ox·s+b−pad]
//                             GEMM m = c_out, n = batch·oh·ow, k = c_in·kh·kw
//   MODE 1, input gradient:   dx[nb,ci,iy,ix] = Σ_{co,a,b} w[co,ci,a,b] · dy[nb,co,oy,ox]
//                             over the (oy, ox) with oy·s + a − pad = iy (likewise x): a gather,
//                             so no atomics and cells no window covers get exactly 0.
//                             GEMM m = c_in, n = batch·h·w, k = c_out·kh·kw
//   MODE 2, weight gradient:  dw[co,ci,a,b] = Σ_{nb,p} dy[nb,co,p] · x[nb,ci, …]
//                             GEMM m = c_out, n = c_in·kh·kw, k = batch·oh·ow
//
// Bindings: in0 = x (modes 0, 2) or dy (mode 1); in1 = w (modes 0, 1) or dy (mode 2); out.

struct Params {
    n: u32, c_in: u32, h: u32, w: u32,
    c_out: u32, kh: u32, kw: u32, stride: u32,
    pad: u32, oh: u32, ow: u32, m: u32,
    ncols: u32, kdim: u32,
    // Split-K (weight gradient only): 0, or the reduction length each `wid.z` slice sums (a
    // multiple of TK); slice s then writes its partial sums to out[s · m · ncols + …] and
    // `sum_parts` adds the slices up.
    k_chunk: u32,
    _pad0: u32,
}

override MODE: u32 = 0u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> in0: array<f32>;
@group(0) @binding(2) var<storage, read> in1: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const TM: u32 = 64u;
const TN: u32 = 64u;
const TK: u32 = 16u;

var<workgroup> As: array<f32, 1024>;
var<workgroup> Bs: array<f32, 1024>;

// x[nb, ci, oy·s + a − pad, ox·s + b − pad], 0 in the padding; kk = (ci·kh + a)·kw + b, q = oy·ow + ox.
fn x_col(kk: u32, nb: u32, q: u32) -> f32 {
    let khw = p.kh * p.kw;
    let ci = kk / khw;
    let rem = kk % khw;
    let iy = i32((q / p.ow) * p.stride + rem / p.kw) - i32(p.pad);
    let ix = i32((q % p.ow) * p.stride + rem % p.kw) - i32(p.pad);
    if (iy < 0 || ix < 0 || iy >= i32(p.h) || ix >= i32(p.w)) { return 0.0; }
    return in0[((nb * p.c_in + ci) * p.h + u32(iy)) * p.w + u32(ix)];
}

fn load_a(r: u32, kk: u32) -> f32 {
    if (r >= p.m || kk >= p.kdim) { return 0.0; }
    if (MODE == 0u) {
        return in1[r * p.kdim + kk];
    } else if (MODE == 1u) {
        let khw = p.kh * p.kw;
        return in1[((kk / khw) * p.c_in + r) * khw + kk % khw];
    }
    let pos = p.oh * p.ow;
    return in1[((kk / pos) * p.c_out + r) * pos + kk % pos];
}

fn load_b(kk: u32, col: u32) -> f32 {
    if (kk >= p.kdim || col >= p.ncols) { return 0.0; }
    if (MODE == 0u) {
        let pos = p.oh * p.ow;
        return x_col(kk, col / pos, col % pos);
    } else if (MODE == 1u) {
        let hw = p.h * p.w;
        let khw = p.kh * p.kw;
        let nb = col / hw;
        let q = col % hw;
        let co = kk / khw;
        let rem = kk % khw;
        let ty = i32(q / p.w + p.pad) - i32(rem / p.kw);
        let tx = i32(q % p.w + p.pad) - i32(rem % p.kw);
        let s = i32(p.stride);
        if (ty < 0 || tx < 0 || ty % s != 0 || tx % s != 0) { return 0.0; }
        let oy = u32(ty / s);
        let ox = u32(tx / s);
        if (oy >= p.oh || ox >= p.ow) { return 0.0; }
        return in0[((nb * p.c_out + co) * p.oh + oy) * p.ow + ox];
    }
    let pos = p.oh * p.ow;
    return x_col(col, kk / pos, kk % pos);
}

fn store(r: u32, col: u32, part: u32, v: f32) {
    if (p.k_chunk > 0u) {
        out[(part * p.m + r) * p.ncols + col] = v;
    } else if (MODE == 0u) {
        let pos = p.oh * p.ow;
        out[((col / pos) * p.c_out + r) * pos + col % pos] = v;
    } else if (MODE == 1u) {
        let hw = p.h * p.w;
        out[((col / hw) * p.c_in + r) * hw + col % hw] = v;
    } else {
        out[r * p.ncols + col] = v;
    }
}

@compute @workgroup_size(16, 16, 1)
fn conv(@builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    var col_tile = wid.x + wid.z * nwg.x;
    var part = 0u;
    var k_begin = 0u;
    var k_end = p.kdim;
    if (p.k_chunk > 0u) {
        col_tile = wid.x;
        part = wid.z;
        k_begin = part * p.k_chunk;
        k_end = min(p.kdim, k_begin + p.k_chunk);
    }
    if (col_tile * TN >= p.ncols) { return; }
    let row0 = wid.y * TM;
    let col0 = col_tile * TN;
    let tid = lid.y * 16u + lid.x;
    // The 4 × 4 outputs in four vec4 registers (a local array would live in slow memory).
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var k0 = k_begin; k0 < k_end; k0 += TK) {
        for (var i = 0u; i < 4u; i++) {
            let e = tid + i * 256u;
            // A is contiguous along k in every mode.
            let ka = e % TK; let ra = e / TK;
            As[ka * TM + ra] = load_a(row0 + ra, k0 + ka);
            // B is contiguous along its columns, except the weight gradient's (along k = positions).
            if (MODE == 2u) {
                let kb = e % TK; let jb = e / TK;
                Bs[kb * TN + jb] = load_b(k0 + kb, col0 + jb);
            } else {
                let jb = e % TN; let kb = e / TN;
                Bs[kb * TN + jb] = load_b(k0 + kb, col0 + jb);
            }
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
    for (var i = 0u; i < 4u; i++) {
        let r = row0 + lid.y + 16u * i;
        if (r >= p.m) { continue; }
        for (var j = 0u; j < 4u; j++) {
            let col = col0 + lid.x + 16u * j;
            if (col >= p.ncols) { continue; }
            store(r, col, part, rows[i][j]);
        }
    }
}

struct SumParams {
    len: u32,
    parts: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> sp: SumParams;
@group(0) @binding(1) var<storage, read> slices: array<f32>;
@group(0) @binding(2) var<storage, read_write> total: array<f32>;

// total[i] = Σ_s slices[s · len + i]: the split-K slices added up in slice order.
@compute @workgroup_size(256)
fn sum_parts(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= sp.len) { return; }
    var s = 0.0;
    for (var k = 0u; k < sp.parts; k++) {
        s += slices[k * sp.len + i];
    }
    total[i] = s;
}
