// C = alpha · op(A) · op(B) + beta · C, all row-major (see kernels/src/cpu/gemm/mod.rs).
// op(A) is m × k (A stored k × m when TA), op(B) is k × n (B stored n × k when TB).
//
// Classic shared-memory tiling: a 16 × 16 workgroup computes a 64 × 64 tile of C, each thread a
// 4 × 4 block strided by 16 (so neighbouring threads touch neighbouring columns: coalesced
// stores, conflict-free shared reads). Per 16-deep slice of k, the workgroup stages op(A) and
// op(B) tiles in 2 × 4 KiB of workgroup memory; edge tiles are zero-padded on load. Each C
// element is accumulated over k in increasing order with fma, like the reference loop.

struct Params {
    m: u32,
    n: u32,
    k: u32,
    // 1 when beta == 0: C is then never read (it may hold NaN).
    beta_zero: u32,
    alpha: f32,
    beta: f32,
    _pad0: u32,
    _pad1: u32,
}

override TA: bool = false;
override TB: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

const TM: u32 = 64u;
const TN: u32 = 64u;
const TK: u32 = 16u;

var<workgroup> As: array<f32, 1024>; // As[kk * TM + row]
var<workgroup> Bs: array<f32, 1024>; // Bs[kk * TN + col]

fn load_a(r: u32, kk: u32) -> f32 {
    if (r >= p.m || kk >= p.k) { return 0.0; }
    if (TA) { return a[kk * p.m + r]; }
    return a[r * p.k + kk];
}

fn load_b(kk: u32, j: u32) -> f32 {
    if (kk >= p.k || j >= p.n) { return 0.0; }
    if (TB) { return b[j * p.k + kk]; }
    return b[kk * p.n + j];
}

// Grid: x · z tiles along n (z only past 65535), y along m.
@compute @workgroup_size(16, 16, 1)
fn gemm(@builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let col_tile = wid.x + wid.z * nwg.x;
    if (col_tile * TN >= p.n) { return; }
    let row0 = wid.y * TM;
    let col0 = col_tile * TN;
    let tid = lid.y * 16u + lid.x;
    // The 4 × 4 outputs in four vec4 registers (a local array would live in slow memory).
    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);
    for (var k0 = 0u; k0 < p.k; k0 += TK) {
        for (var i = 0u; i < 4u; i++) {
            let e = tid + i * 256u;
            // Load along whichever index is contiguous in memory.
            if (TA) {
                let r = e % TM; let kk = e / TM;
                As[kk * TM + r] = load_a(row0 + r, k0 + kk);
            } else {
                let kk = e % TK; let r = e / TK;
                As[kk * TM + r] = load_a(row0 + r, k0 + kk);
            }
            if (TB) {
                let kk = e % TK; let j = e / TK;
                Bs[kk * TN + j] = load_b(k0 + kk, col0 + j);
            } else {
                let j = e % TN; let kk = e / TN;
                Bs[kk * TN + j] = load_b(k0 + kk, col0 + j);
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
            if (col >= p.n) { continue; }
            let idx = r * p.n + col;
            var v = p.alpha * rows[i][j];
            if (p.beta_zero == 0u) { v = v + p.beta * c[idx]; }
            c[idx] = v;
        }
    }
}
