//! Dense matrix multiply, the workhorse behind linear layers and (through im2col) convolutions.
//!
//! # The fast path (GotoBLAS / BLIS blocking)
//! For each block of `MC` rows of `op(A)`, each slice of `KC` steps of `k` and each block of `NC`
//! columns of `op(B)`:
//! 1. pack `op(A)[mc × kc]` into `MR`-tall micro-panels (once per k-block, for all column blocks);
//! 2. pack `op(B)[kc × nc]` into `NR`-wide micro-panels (the block stays in each core's L2);
//! 3. split `mc × nc` into a grid of tiles, one task each; for every A micro-panel (which stays
//!    in L1 while it is reused) and every B micro-panel (streamed from L2), run the
//!    register-blocked micro-kernel on one `MR × NR` tile of C.
//!
//! Packing is split over the pool too; all buffers are thread-local and reused across calls.
//!
//! The micro-kernel (`microkernel_*.rs`) is picked once per call from what the CPU supports.
//! Packing turns all four transpose combinations into the same unit-stride kernel input, and
//! zero-pads edge panels so edge tiles run the same kernel into a scratch tile.
//!
//! # Determinism
//! Each element of C is summed over `k` in a fixed order: one partial sum per k-block, added to C
//! in order, each accumulated by one micro-kernel call. The k-blocks depend on `k` alone and no
//! task ever splits one, so the result is bit-identical for any thread count or schedule (and
//! between [`gemm`] and [`gemm_serial`]). It may differ in the last bits between SIMD levels.

mod pack;

#[cfg(target_arch = "x86_64")]
mod microkernel_avx2;
#[cfg(target_arch = "x86_64")]
mod microkernel_avx512;
#[cfg(target_arch = "aarch64")]
mod microkernel_neon;
mod microkernel_scalar;

use std::ops::Range;

use rayon::prelude::*;

use pack::{pack_a, pack_b, with_buffers, Slot, Strided};

// Block sizes, tuned on the 2-core Ice Lake Xeon (48 KiB L1d, 1.25 MiB L2 per core) with the
// AVX-512 kernel; at 1024³ on one core, KC = 192 or NC = 256 cost 5–10%, and keeping the B
// micro-panel in L1 (A streamed) instead of the A micro-panel cost ~8%.

/// Steps of `k` per packed block: an A micro-panel (`KC·MR` floats, 14 KiB) stays in L1 with
/// room for the B micro-panels streaming past it. Larger blocks mean fewer passes over C.
const KC: usize = 256;
/// Columns of `op(B)` one task multiplies: their packed slice (`KC·TILE_COLS` floats, 512 KiB)
/// stays in L2, from where every A micro-panel of the tile streams through all of it.
const TILE_COLS: usize = 512;
/// Most rows of C one task computes, so a large product splits into enough tasks to balance
/// the threads.
const TILE_ROWS: usize = 256;
/// Rows of `op(A)` and columns of `op(B)` packed per k-block (`MC·KC` and `KC·NC` floats, 4 MiB
/// each, in L3): within these, A and B are packed exactly once.
const MC: usize = 4096;
const NC: usize = 4096;
/// Below this many flops (`2·m·n·k`) one thread does the whole product: waking the pool costs
/// tens of microseconds, as much as the product itself (e.g. the engine's 200 × 32 × 196,
/// 2.5 MFLOP, ~30 µs on one core, stays serial).
const PARALLEL_MIN_FLOPS: usize = 8 << 20;
/// Tiles per thread in a parallel product: more than one, so a thread slowed by other work on
/// the machine is balanced by stealing; few enough that scheduling costs stay negligible.
const TILES_PER_THREAD: usize = 8;

/// `MR × NR` register-blocked kernel: `C = alpha · (Apanel · Bpanel) + beta · C` over `kc` steps.
trait MicroKernel {
    /// Rows of C per tile (the width of an A micro-panel).
    const MR: usize;
    /// Columns of C per tile (the width of a B micro-panel).
    const NR: usize;

    /// # Safety
    /// `a` holds `kc·MR` and `b` holds `kc·NR` packed floats; `c` is a writable `MR × NR` tile
    /// with row stride `ldc`; the CPU supports the kernel's instructions. With `beta == 0`, C is
    /// not read.
    unsafe fn run(kc: usize, a: *const f32, b: *const f32, c: *mut f32, ldc: usize, alpha: f32, beta: f32);

    /// [`MicroKernel::run`] on an edge tile: only its `shape.0 × shape.1` top-left part (at most
    /// `MR × NR`) lies in C and is read or written. The portable version runs the full kernel
    /// into a scratch tile and copies the part out; SIMD levels store through lane masks.
    ///
    /// # Safety
    /// As [`MicroKernel::run`], except that only the `shape` part of the tile at `c` must be valid.
    #[allow(clippy::too_many_arguments)]
    unsafe fn run_edge(
        kc: usize,
        a: *const f32,
        b: *const f32,
        c: *mut f32,
        ldc: usize,
        alpha: f32,
        beta: f32,
        shape: (usize, usize),
    ) {
        let (rows, cols) = shape;
        const MAX_TILE: usize = 14 * 32;
        const { assert!(Self::MR * Self::NR <= MAX_TILE) };
        debug_assert!(rows <= Self::MR && cols <= Self::NR);
        let mut scratch = [0.0f32; MAX_TILE];
        if beta != 0.0 {
            // Otherwise C is not read: it may hold NaN, and the kernel ignores the scratch anyway.
            for i in 0..rows {
                for j in 0..cols {
                    scratch[i * Self::NR + j] = unsafe { *c.add(i * ldc + j) };
                }
            }
        }
        unsafe { Self::run(kc, a, b, scratch.as_mut_ptr(), Self::NR, alpha, beta) };
        for i in 0..rows {
            for j in 0..cols {
                unsafe { *c.add(i * ldc + j) = scratch[i * Self::NR + j] };
            }
        }
    }

    /// Pack `rows ≤ width` rows of `kc` contiguous floats, row `r` at `src[r·rs ..]`, into the
    /// k-major panel `dst[..kc·width]` (a transpose), zero-filling rows `rows .. width`.
    /// SIMD levels override the portable loops with in-register transposes.
    ///
    /// # Safety
    /// The CPU supports the kernel's instructions.
    unsafe fn pack_transposed(src: &[f32], rs: usize, rows: usize, kc: usize, width: usize, dst: &mut [f32]) {
        pack::pack_transposed_portable(src, rs, rows, kc, width, dst)
    }
}

/// A micro-kernel family; [`Level::detect`] picks the best one the CPU runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Level {
    Scalar,
    Avx2,
    Avx512,
    Neon,
}

impl Level {
    fn detect() -> Level {
        [Level::Avx512, Level::Avx2, Level::Neon].into_iter().find(|l| l.is_supported()).unwrap_or(Level::Scalar)
    }

    fn is_supported(self) -> bool {
        match self {
            Level::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            #[cfg(target_arch = "x86_64")]
            Level::Avx512 => is_x86_feature_detected!("avx512f"),
            #[cfg(target_arch = "aarch64")]
            Level::Neon => std::arch::is_aarch64_feature_detected!("neon"),
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Level::Scalar => "scalar",
            Level::Avx2 => "avx2+fma",
            Level::Avx512 => "avx512",
            Level::Neon => "neon",
        }
    }
}

/// The SIMD micro-kernel [`gemm`] uses on this CPU: "avx512", "avx2+fma", "neon" or "scalar".
pub fn simd_level() -> &'static str {
    Level::detect().name()
}

/// `C = alpha · op(A) · op(B) + beta · C`, all row-major and contiguous.
///
/// `op(A)` is `m × k`: `A` is stored `m × k` when `ta` is false, `k × m` when true.
/// `op(B)` is `k × n`: `B` is stored `k × n` when `tb` is false, `n × k` when true.
/// With `beta == 0` the old contents of `C` are ignored (they may be NaN).
///
/// Large products run on the rayon pool; the result does not depend on its size.
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    ta: bool,
    tb: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    b: &[f32],
    beta: f32,
    c: &mut [f32],
) {
    gemm_at(Level::detect(), true, ta, tb, m, n, k, alpha, a, b, beta, c)
}

/// [`gemm`] on the calling thread only, for callers that already parallelise (e.g. over a batch).
/// Bit-identical to [`gemm`].
#[allow(clippy::too_many_arguments)]
pub fn gemm_serial(
    ta: bool,
    tb: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    b: &[f32],
    beta: f32,
    c: &mut [f32],
) {
    gemm_at(Level::detect(), false, ta, tb, m, n, k, alpha, a, b, beta, c)
}

/// [`gemm`] with a chosen micro-kernel `level` (tests force each one) and `allow_parallel`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_at(
    level: Level,
    allow_parallel: bool,
    ta: bool,
    tb: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    b: &[f32],
    beta: f32,
    c: &mut [f32],
) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n, "gemm: slice too short");
    // Element (r, p) of a panel: r indexes rows of op(A) / columns of op(B), p indexes k.
    let av = if ta { Strided { src: a, rs: 1, cs: m } } else { Strided { src: a, rs: k, cs: 1 } };
    let b = BOperand::Strided(b_view(tb, n, k, b));
    run_product(level, allow_parallel, (m, n, k), alpha, AOperand::Strided(av), b, beta, c)
}

/// `C = alpha · op(A) · op(B) + beta · C` for operands the caller checked against `(m, n, k)`:
/// the empty cases, then the product on `level`'s kernel, on the pool when large and allowed.
#[allow(clippy::too_many_arguments)]
fn run_product(
    level: Level,
    allow_parallel: bool,
    (m, n, k): (usize, usize, usize),
    alpha: f32,
    a: AOperand,
    b: BOperand,
    beta: f32,
    c: &mut [f32],
) {
    // Soundness of the `unsafe` kernels below rests on this.
    assert!(level.is_supported(), "gemm: {} kernel not supported on this CPU", level.name());
    if m == 0 || n == 0 {
        return;
    }
    let c = &mut c[..m * n];
    if k == 0 {
        // An empty sum: only the beta term is left.
        c.iter_mut().for_each(|x| *x = if beta == 0.0 { 0.0 } else { beta * *x });
        return;
    }
    let threads = if allow_parallel && 2 * m * n * k >= PARALLEL_MIN_FLOPS { rayon::current_num_threads() } else { 1 };
    let p = Problem { m, n, k, alpha, beta, a, b, threads };
    dispatch(level, m, RunProblem { p: &p, c });
}

/// [`gemm`] with `A` untransposed and `op(B)` packed by `b` itself ([`BPanels`]); on the pool
/// when large and `parallel`, else on the calling thread. Its products are summed exactly as
/// [`gemm`]'s on the matrix `b` describes, so the two are bit-identical.
#[allow(clippy::too_many_arguments)]
pub fn gemm_b_panels(
    parallel: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    b: &dyn BPanels,
    beta: f32,
    c: &mut [f32],
) {
    gemm_b_panels_lda(parallel, m, n, k, alpha, a, k, b, beta, c)
}

/// [`gemm_b_panels`] with `A`'s rows `lda ≥ k` floats apart.
#[allow(clippy::too_many_arguments)]
pub fn gemm_b_panels_lda(
    parallel: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    lda: usize,
    b: &dyn BPanels,
    beta: f32,
    c: &mut [f32],
) {
    assert!(lda >= k, "gemm: lda {lda} < k {k}");
    assert!((m == 0 || a.len() >= (m - 1) * lda + k) && c.len() >= m * n, "gemm: slice too short");
    let av = Strided { src: a, rs: lda, cs: 1 };
    run_product(Level::detect(), parallel, (m, n, k), alpha, AOperand::Strided(av), BOperand::Panels(b), beta, c)
}

/// `op(B)` as the packer reads it (see [`gemm`] for `tb`).
fn b_view(tb: bool, n: usize, k: usize, b: &[f32]) -> Strided<'_> {
    if tb {
        Strided { src: b, rs: k, cs: 1 }
    } else {
        Strided { src: b, rs: 1, cs: n }
    }
}

/// Something to do with the micro-kernel a product of `m` rows uses: [`dispatch`] calls `run`
/// with it as a type, so the plain and the pre-packed paths cannot disagree on the choice.
trait WithKernel {
    type Out;
    fn run<K: MicroKernel>(self) -> Self::Out;
}

fn dispatch<W: WithKernel>(level: Level, m: usize, w: W) -> W::Out {
    match level {
        Level::Scalar => w.run::<microkernel_scalar::Scalar>(),
        #[cfg(target_arch = "x86_64")]
        Level::Avx2 => w.run::<microkernel_avx2::Avx2>(),
        // A shorter tile where it wastes fewer FMAs on padding (bit-identical results).
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 => match avx512_rows(m) {
            4 => w.run::<microkernel_avx512::Avx512Short4>(),
            8 => w.run::<microkernel_avx512::Avx512Short8>(),
            _ => w.run::<microkernel_avx512::Avx512>(),
        },
        #[cfg(target_arch = "aarch64")]
        Level::Neon => w.run::<microkernel_neon::Neon>(),
        #[allow(unreachable_patterns)]
        _ => unreachable!("is_supported() is false for other targets' levels"),
    }
}

/// Rows per AVX-512 tile for a product with `m` rows of C: 4 or 8 for that few, else 8 where
/// 14-row panels would pad more than a sixteenth of `m` beyond what 8-row panels pad. The
/// networks' channel counts are multiples of 8: 32, 64 and 128 rows run as 42, 70 and 140
/// in 14-row panels (9–31 % of the FMAs on zeros), which is most of the convolution GEMMs (a
/// forward and a weight gradient have one row per output channel). Large `m` (1024: 1 %)
/// keeps 14 rows, whose B micro-panel is reused by more rows per pass.
#[cfg(target_arch = "x86_64")]
fn avx512_rows(m: usize) -> usize {
    let padding = |rows: usize| m.div_ceil(rows) * rows - m;
    match m {
        0..=4 => 4,
        5..=8 => 8,
        _ if (padding(14) as isize - padding(8) as isize) * 16 > m as isize => 8,
        _ => 14,
    }
}

struct RunProblem<'p, 'a> {
    p: &'p Problem<'a>,
    c: &'p mut [f32],
}

impl WithKernel for RunProblem<'_, '_> {
    type Out = ();
    fn run<K: MicroKernel>(self) {
        self.p.run::<K>(self.c)
    }
}

/// `op(A)` packed once, for many products that share it: a convolution multiplies the same
/// weight with every sample's im2col matrix, and packing it per sample (a transpose for the
/// forward) cost as much as a tenth of the CIFAR LeNet's training step.
///
/// The panels are exactly what [`gemm`] packs per call, block by block, so
/// [`PackedA::gemm`] is bit-identical to [`gemm`] on the unpacked operand.
pub struct PackedA {
    level: Level,
    m: usize,
    k: usize,
    /// For each k-block `pc` in order, all `MR`-tall panels of its `kc` steps: block `pc` starts
    /// at `pc.start · panels · MR`.
    data: pack::PackBuffer,
    len: usize,
}

impl PackedA {
    /// Pack `op(A)` (`m × k`; stored `k × m` when `ta`) for the micro-kernel [`gemm`] would use.
    pub fn new(ta: bool, m: usize, k: usize, a: &[f32]) -> PackedA {
        assert!(a.len() >= m * k, "PackedA: slice too short");
        let level = Level::detect();
        let av = if ta { Strided { src: a, rs: 1, cs: m } } else { Strided { src: a, rs: k, cs: 1 } };
        let mut packed = PackedA { level, m, k, data: pack::PackBuffer::default(), len: 0 };
        dispatch(level, m, PackAll { a: av, out: &mut packed });
        packed
    }

    /// `C = alpha · op(A) · op(B) + beta · C` with this `op(A)`; as [`gemm`] (parallel when large).
    pub fn gemm(&self, tb: bool, n: usize, alpha: f32, b: &[f32], beta: f32, c: &mut [f32]) {
        self.gemm_at(true, tb, n, alpha, b, beta, c)
    }

    /// [`PackedA::gemm`] on the calling thread only, like [`gemm_serial`].
    pub fn gemm_serial(&self, tb: bool, n: usize, alpha: f32, b: &[f32], beta: f32, c: &mut [f32]) {
        self.gemm_at(false, tb, n, alpha, b, beta, c)
    }

    /// `C = alpha · op(A) · op(B) + beta · C` with this `op(A)` and `op(B)` packed by `b`
    /// ([`BPanels`]), on the calling thread only; bit-identical to [`gemm_b_panels`].
    pub fn gemm_b_panels_serial(&self, n: usize, alpha: f32, b: &dyn BPanels, beta: f32, c: &mut [f32]) {
        let (m, k) = (self.m, self.k);
        assert!(c.len() >= m * n, "gemm: slice too short");
        let data = self.data.slice(self.len);
        run_product(self.level, false, (m, n, k), alpha, AOperand::Packed(data), BOperand::Panels(b), beta, c)
    }

    #[allow(clippy::too_many_arguments)]
    fn gemm_at(&self, allow_parallel: bool, tb: bool, n: usize, alpha: f32, b: &[f32], beta: f32, c: &mut [f32]) {
        let (m, k) = (self.m, self.k);
        assert!(b.len() >= k * n && c.len() >= m * n, "gemm: slice too short");
        // With `m`, `n` or `k` zero nothing was packed, and nothing is read.
        let data = self.data.slice(self.len);
        let b = BOperand::Strided(b_view(tb, n, k, b));
        run_product(self.level, allow_parallel, (m, n, k), alpha, AOperand::Packed(data), b, beta, c)
    }
}

/// Fill a [`PackedA`] with kernel `K`'s panels, k-block by k-block.
struct PackAll<'x> {
    a: Strided<'x>,
    out: &'x mut PackedA,
}

impl WithKernel for PackAll<'_> {
    type Out = ();
    fn run<K: MicroKernel>(self) {
        let (m, k) = (self.out.m, self.out.k);
        if m == 0 || k == 0 {
            return;
        }
        let panels = m.div_ceil(K::MR);
        let len = panels * K::MR * k;
        let dst = self.out.data.slice_mut(len);
        let k_blocks = k.div_ceil(KC);
        for pc in (0..k_blocks).map(|p| even_part(k, k_blocks, p)) {
            let block = &mut dst[pc.start * panels * K::MR..][..pc.len() * panels * K::MR];
            pack_a::<K>(self.a, m, 0, pc.start, pc.len(), block);
        }
        self.out.len = len;
    }
}

/// Where a product's `op(A)` comes from.
#[derive(Clone, Copy)]
enum AOperand<'a> {
    /// Packed per call, k-block by k-block.
    Strided(Strided<'a>),
    /// Packed ahead by [`PackedA`].
    Packed(&'a [f32]),
}

/// Where a product's `op(B)` comes from.
#[derive(Clone, Copy)]
enum BOperand<'a> {
    /// A matrix in memory, packed per call.
    Strided(Strided<'a>),
    /// Panels the caller writes itself, straight from data laid out otherwise (a convolution's
    /// input, gathered as its im2col matrix would hold it).
    Panels(&'a dyn BPanels),
}

/// An `op(B)` (`k × n`) that packs its own panels, for a product whose B operand would
/// otherwise be written out in full only to be packed: see [`gemm_b_panels`].
pub trait BPanels: Sync {
    /// Fill `dst` with whole `width`-wide k-major panels of the columns `cols`, steps
    /// `p0 .. p0 + kc`: panel `i` covers columns `cols.start + (first + i)·width ..` (at most
    /// `width` of them, none past `cols.end`), and element `(p, j)` of panel `i` is
    /// `dst[i·kc·width + p·width + j] = op(B)[p0 + p][cols.start + (first + i)·width + j]`.
    /// Columns past `cols.end` are zero.
    fn pack(&self, cols: Range<usize>, first: usize, p0: usize, kc: usize, width: usize, dst: &mut [f32]);
}

/// The [`BPanels`] contract read element by element off a matrix `b` (`k × n`, row-major):
/// what any packer must write into `dst`. The reference the packers are tested against.
#[cfg(test)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn reference_panels(
    b: &[f32],
    n: usize,
    cols: Range<usize>,
    first: usize,
    p0: usize,
    kc: usize,
    width: usize,
    dst: &mut [f32],
) {
    for (i, panel) in dst.chunks_exact_mut(kc * width).enumerate() {
        let c0 = cols.start + (first + i) * width;
        for (p, line) in panel.chunks_exact_mut(width).enumerate() {
            for (j, out) in line.iter_mut().enumerate() {
                let col = c0 + j;
                *out = if col < cols.end { b[(p0 + p) * n + col] } else { 0.0 };
            }
        }
    }
}

/// One call's operands, in the panel views the packers read.
struct Problem<'a> {
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    beta: f32,
    a: AOperand<'a>,
    b: BOperand<'a>,
    /// 1: run on the calling thread; more: split the tiles over the rayon pool.
    threads: usize,
}

/// C's base pointer, shared by tasks that write disjoint tiles of it.
#[derive(Clone, Copy)]
struct SharedC(*mut f32);
// SAFETY: tasks only write through it to the disjoint tiles the grid gives them.
unsafe impl Send for SharedC {}
unsafe impl Sync for SharedC {}

impl SharedC {
    // A method, so closures capture the whole (Sync) struct rather than the raw-pointer field.
    fn ptr(self) -> *mut f32 {
        self.0
    }
}

impl Problem<'_> {
    fn run<K: MicroKernel>(&self, c: &mut [f32]) {
        if self.threads > 1 {
            // Drive the whole product from a pool thread: each k-block has two parallel phases,
            // and a driver outside the pool (the usual main thread) would put every one of them
            // to sleep and wake it up again, tens of microseconds a time on a busy or virtual
            // machine. Inside, the idle worker is still spinning for work when the next phase
            // starts. (On a pool thread already, `scope` runs in place.)
            rayon::scope(|_| self.run_blocks::<K>(c));
        } else {
            self.run_blocks::<K>(c);
        }
    }

    fn run_blocks<K: MicroKernel>(&self, c: &mut [f32]) {
        let (mr, nr) = (K::MR, K::NR);
        let c = SharedC(c.as_mut_ptr());
        // Blocks of equal size rather than full blocks and a runt: k = 800 runs as 4 × 200, not
        // 3 × 256 + 32, whose last pass would read and write all of C for little work. Row and
        // column blocks are cut at panel boundaries, so only the last panel of C can be partial.
        let (all_m_panels, all_n_panels) = (self.m.div_ceil(mr), self.n.div_ceil(nr));
        let (m_blocks, n_blocks, k_blocks) = (self.m.div_ceil(MC), self.n.div_ceil(NC), self.k.div_ceil(KC));
        let k_block = |p: usize| even_part(self.k, k_blocks, p);
        let kc_max = k_block(0).len();
        // Two sets of packing buffers: while the tiles multiply k-block `p` out of one, k-block
        // `p + 1` is packed into the other in the same parallel phase. One phase per k-block is
        // one synchronisation of the pool per k-block, and packing overlaps the multiplication.
        with_buffers(Slot::A, |[a0, a1]| {
            with_buffers(Slot::B, |[b0, b1]| {
                for a_panels in (0..m_blocks).map(|i| even_part(all_m_panels, m_blocks, i)) {
                    for b_panels in (0..n_blocks).map(|j| even_part(all_n_panels, n_blocks, j)) {
                        let block = Block { rows: a_panels.start * mr, cols: b_panels.start * nr };
                        // A pre-packed A needs no buffers.
                        let a_len =
                            if matches!(self.a, AOperand::Packed(_)) { 0 } else { a_panels.len() * kc_max * mr };
                        let b_len = b_panels.len() * kc_max * nr;
                        let mut a_bufs = [a0.slice_mut(a_len), a1.slice_mut(a_len)];
                        let mut b_bufs = [b0.slice_mut(b_len), b1.slice_mut(b_len)];
                        let pack = |p: usize, a_pack: &mut [f32], b_pack: &mut [f32]| {
                            let pc = k_block(p);
                            let kc = pc.len();
                            let cols = block.cols..(b_panels.end * nr).min(self.n);
                            let a_used = a_pack.len().min(a_panels.len() * kc * mr);
                            let a_pack = &mut a_pack[..a_used];
                            let b_pack = &mut b_pack[..b_panels.len() * kc * nr];
                            let pack_a = || {
                                if let AOperand::Strided(av) = self.a {
                                    self.pack_split(a_pack, kc * mr, |first, part| {
                                        pack_a::<K>(av, self.m, a_panels.start + first, pc.start, kc, part)
                                    })
                                }
                            };
                            let pack_b = || {
                                self.pack_split(b_pack, kc * nr, |first, part| match self.b {
                                    BOperand::Strided(bv) => pack_b::<K>(bv, cols.clone(), first, pc.start, kc, part),
                                    BOperand::Panels(bp) => bp.pack(cols.clone(), first, pc.start, kc, nr, part),
                                })
                            };
                            self.both(pack_a, pack_b);
                        };
                        let grid = Grid::new(
                            a_panels.len(),
                            b_panels.len(),
                            (TILE_ROWS / mr).max(1),
                            (TILE_COLS / nr).max(1),
                            self.threads,
                        );

                        let [a_first, _] = &mut a_bufs;
                        let [b_first, _] = &mut b_bufs;
                        pack(0, a_first, b_first);
                        for p in 0..k_blocks {
                            let (a_cur, a_next) = pair(&mut a_bufs, p % 2);
                            let (b_cur, b_next) = pair(&mut b_bufs, p % 2);
                            let kc = k_block(p).len();
                            // Later k-blocks add to what the earlier ones stored.
                            let beta = if p == 0 { self.beta } else { 1.0 };
                            let a_cur: &[f32] = match self.a {
                                AOperand::Strided(_) => a_cur,
                                AOperand::Packed(all) => {
                                    let start = k_block(p).start * all_m_panels * mr;
                                    &all[start + a_panels.start * kc * mr..][..a_panels.len() * kc * mr]
                                }
                            };
                            let b_cur = &**b_cur;
                            let multiply = || {
                                let tile = |t: usize| {
                                    let (rows, cols) = grid.tile(t);
                                    self.tile::<K>(rows, cols, block, kc, beta, a_cur, b_cur, c);
                                };
                                if self.threads > 1 {
                                    (0..grid.len()).into_par_iter().for_each(tile);
                                } else {
                                    (0..grid.len()).for_each(tile);
                                }
                            };
                            if p + 1 < k_blocks {
                                self.both(multiply, || pack(p + 1, a_next, b_next));
                            } else {
                                multiply();
                            }
                        }
                    }
                }
            })
        });
    }

    /// Run `f` and `g`, side by side on the pool when the product is parallel.
    fn both(&self, f: impl FnOnce() + Send, g: impl FnOnce() + Send) {
        if self.threads > 1 {
            rayon::join(f, g);
        } else {
            f();
            g();
        }
    }

    /// Fill `dst`, whole panels of `panel_len` floats, by `pack(first_panel, part)` on parts of
    /// it, over the pool when the product is parallel.
    fn pack_split(&self, dst: &mut [f32], panel_len: usize, pack: impl Fn(usize, &mut [f32]) + Sync) {
        if self.threads > 1 {
            let per_job = (dst.len() / panel_len).div_ceil(2 * self.threads).max(1);
            dst.par_chunks_mut(per_job * panel_len).enumerate().for_each(|(i, part)| pack(i * per_job, part));
        } else {
            pack(0, dst);
        }
    }

    /// Multiply packed A panels `rows` by packed B panels `cols` into C's `block`.
    #[allow(clippy::too_many_arguments)]
    fn tile<K: MicroKernel>(
        &self,
        rows: Range<usize>,
        cols: Range<usize>,
        block: Block,
        kc: usize,
        beta: f32,
        a_pack: &[f32],
        b_pack: &[f32],
        c: SharedC,
    ) {
        let (mr, nr) = (K::MR, K::NR);
        // A micro-panel outermost: it stays in L1 while the B block's micro-panels stream past it
        // from L2 (the kernel prefetches them).
        for ip in rows {
            let a_panel = &a_pack[ip * kc * mr..][..kc * mr];
            let row = block.rows + ip * mr;
            for jp in cols.clone() {
                let b_panel = &b_pack[jp * kc * nr..][..kc * nr];
                let col = block.cols + jp * nr;
                let shape = (mr.min(self.m - row), nr.min(self.n - col));
                // SAFETY: the panels hold kc·MR and kc·NR floats; the tile at (row, col), clipped
                // to `shape`, lies inside C (m × n) and belongs to this task alone.
                unsafe {
                    micro_tile::<K>(
                        kc,
                        a_panel,
                        b_panel,
                        c.ptr().add(row * self.n + col),
                        self.n,
                        shape,
                        self.alpha,
                        beta,
                    )
                };
            }
        }
    }
}

/// One micro-kernel call on the `shape.0 × shape.1` tile at `c`; edge tiles (smaller than
/// `MR × NR`) go through [`MicroKernel::run_edge`].
///
/// # Safety
/// As [`MicroKernel::run`], except that only the `shape` part of the tile at `c` must be valid.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn micro_tile<K: MicroKernel>(
    kc: usize,
    a: &[f32],
    b: &[f32],
    c: *mut f32,
    ldc: usize,
    shape: (usize, usize),
    alpha: f32,
    beta: f32,
) {
    if shape == (K::MR, K::NR) {
        unsafe { K::run(kc, a.as_ptr(), b.as_ptr(), c, ldc, alpha, beta) };
    } else {
        unsafe { K::run_edge(kc, a.as_ptr(), b.as_ptr(), c, ldc, alpha, beta, shape) };
    }
}

/// Where a packed block of A rows × B columns lands in C.
#[derive(Clone, Copy)]
struct Block {
    /// First row and first column of C.
    rows: usize,
    cols: usize,
}

/// The two halves of a double buffer, the `first`-th one first.
fn pair<T>(bufs: &mut [T; 2], first: usize) -> (&mut T, &mut T) {
    let [x, y] = bufs;
    if first == 0 {
        (x, y)
    } else {
        (y, x)
    }
}

/// How one `m_panels × n_panels` block of C is split into tiles, one task each.
struct Grid {
    m_panels: usize,
    n_panels: usize,
    /// Tiles along m and along n.
    mb: usize,
    nb: usize,
}

impl Grid {
    fn new(m_panels: usize, n_panels: usize, max_tile_m: usize, max_tile_n: usize, threads: usize) -> Grid {
        let want = if threads > 1 { TILES_PER_THREAD * threads } else { 1 };
        // At least enough tiles to respect the size limits; then split m further, so each A
        // micro-panel is brought into L1 by one task only; when m has too few panels to feed
        // the threads, split n too.
        let nb_min = n_panels.div_ceil(max_tile_n);
        let mb = m_panels.div_ceil(max_tile_m).max(want.div_ceil(nb_min).min(m_panels));
        let nb = nb_min.max(want.div_ceil(mb).min(n_panels));
        Grid { m_panels, n_panels, mb, nb }
    }

    fn len(&self) -> usize {
        self.mb * self.nb
    }

    /// Panels of A and of B covered by tile `t`.
    fn tile(&self, t: usize) -> (Range<usize>, Range<usize>) {
        (even_part(self.m_panels, self.mb, t / self.nb), even_part(self.n_panels, self.nb, t % self.nb))
    }
}

/// Part `i` of `0..total` cut into `parts` ranges whose lengths differ by at most one.
fn even_part(total: usize, parts: usize, i: usize) -> Range<usize> {
    let (base, extra) = (total / parts, total % parts);
    let start = i * base + i.min(extra);
    start..start + base + usize::from(i < extra)
}

/// The plain triple loop every fast path is checked against.
#[allow(clippy::too_many_arguments)]
pub fn gemm_reference(
    ta: bool,
    tb: bool,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: &[f32],
    b: &[f32],
    beta: f32,
    c: &mut [f32],
) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n, "gemm: slice too short");
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f32;
            for p in 0..k {
                let av = if ta { a[p * m + i] } else { a[i * k + p] };
                let bv = if tb { b[j * k + p] } else { b[p * n + j] };
                acc += av * bv;
            }
            let old = if beta == 0.0 { 0.0 } else { beta * c[i * n + j] };
            c[i * n + j] = alpha * acc + old;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Levels this CPU can run, so every micro-kernel is exercised on the test machine.
    fn levels() -> Vec<Level> {
        [Level::Scalar, Level::Avx2, Level::Avx512, Level::Neon].into_iter().filter(|l| l.is_supported()).collect()
    }

    /// Deterministic values in [-1, 1) (splitmix64), so failures reproduce without a rand crate.
    fn values(len: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(1);
        (0..len)
            .map(|_| {
                s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = s;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^= z >> 31;
                (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0
            })
            .collect()
    }

    /// Run the fast path at `level` and the reference on the same inputs; compare within a bound
    /// on the rounding error of a length-k dot product of values in [-1, 1).
    #[allow(clippy::too_many_arguments)]
    fn check(level: Level, parallel: bool, ta: bool, tb: bool, m: usize, n: usize, k: usize, alpha: f32, beta: f32) {
        let seed = (m * 1_000_003 + n * 1009 + k) as u64;
        let a = values(m * k, seed);
        let b = values(k * n, seed + 1);
        let c0 = if beta == 0.0 { vec![f32::NAN; m * n] } else { values(m * n, seed + 2) };
        let mut want = c0.clone();
        gemm_reference(ta, tb, m, n, k, alpha, &a, &b, beta, &mut want);
        let mut got = c0;
        gemm_at(level, parallel, ta, tb, m, n, k, alpha, &a, &b, beta, &mut got);
        let tol = 4.0 * f32::EPSILON * (k as f32 + 2.0) * (alpha.abs() + beta.abs() + 1.0);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                (g - w).abs() <= tol,
                "{level:?} parallel={parallel} ta={ta} tb={tb} m={m} n={n} k={k} alpha={alpha} beta={beta}: \
                 C[{}, {}] = {g}, reference {w}",
                i / n,
                i % n
            );
        }
    }

    const TRANSPOSES: [(bool, bool); 4] = [(false, false), (false, true), (true, false), (true, true)];

    #[test]
    fn every_level_matches_reference_on_edge_sizes() {
        // Each size 1..=70 in turn on m, n and k, crossing every kernel's MR and NR multiples.
        for level in levels() {
            for (ta, tb) in TRANSPOSES {
                for s in 1..=70 {
                    check(level, false, ta, tb, s, 19, 7, 1.0, 0.0);
                    check(level, false, ta, tb, 13, s, 33, -0.5, 1.0);
                    check(level, false, ta, tb, 31, 17, s, 2.0, 0.3);
                }
            }
        }
    }

    #[test]
    fn every_level_matches_reference_across_blocks() {
        // k > KC (several k-blocks, beta applied once), n > NC and m > MC (two column or row
        // blocks), n > TILE_COLS (two column tiles), and products big enough for the parallel
        // path.
        for level in levels() {
            for (ta, tb) in TRANSPOSES {
                check(level, false, ta, tb, 9, 40, 2 * KC + 3, 1.0, 0.0);
                check(level, false, ta, tb, 5, NC + 37, 3, 0.7, -1.5);
                check(level, false, ta, tb, MC + 37, 5, 3, 0.7, -1.5);
                check(level, false, ta, tb, 20, TILE_COLS + 50, KC + 7, 1.0, 0.5);
                check(level, true, ta, tb, 150, 170, KC + 90, 1.0, 0.0);
                check(level, true, ta, tb, 3, 900, 2 * KC + 1, -1.0, 1.0);
            }
        }
    }

    #[test]
    fn packed_a_is_bit_identical_to_gemm() {
        // One and several k-blocks, every short kernel's row count, edge panels, serial and
        // parallel, both layouts of A and of B, and a B with more columns than one block.
        for (m, n, k) in [
            (1, 5, 3),
            (4, 33, 17),
            (8, 64, 2 * KC + 5),
            (14, 40, KC),
            (64, 256, 800),
            (150, 170, KC + 90),
            (37, NC + 3, 9),
        ] {
            for (ta, tb) in TRANSPOSES {
                let a = values(m * k, 7);
                let b = values(k * n, 8);
                let c0 = values(m * n, 9);
                let packed = PackedA::new(ta, m, k, &a);
                for parallel in [false, true] {
                    for beta in [0.0, 0.5] {
                        let mut want = c0.clone();
                        let mut got = c0.clone();
                        if parallel {
                            gemm(ta, tb, m, n, k, 1.5, &a, &b, beta, &mut want);
                            packed.gemm(tb, n, 1.5, &b, beta, &mut got);
                        } else {
                            gemm_serial(ta, tb, m, n, k, 1.5, &a, &b, beta, &mut want);
                            packed.gemm_serial(tb, n, 1.5, &b, beta, &mut got);
                        }
                        assert!(
                            got.iter().zip(&want).all(|(g, w)| g.to_bits() == w.to_bits()),
                            "m={m} n={n} k={k} ta={ta} tb={tb} parallel={parallel} beta={beta}"
                        );
                    }
                }
            }
        }
        // Degenerate shapes take the plain path.
        let packed = PackedA::new(false, 3, 0, &[]);
        let mut c = vec![1.0; 6];
        packed.gemm(false, 2, 1.0, &[], 2.0, &mut c);
        assert_eq!(c, vec![2.0; 6]);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn short_avx512_tiles_are_chosen_for_badly_padded_rows_and_bit_identical() {
        let rows: Vec<usize> = [1, 4, 5, 8, 9, 14, 16, 32, 64, 128, 200, 800, 1024].map(avx512_rows).to_vec();
        assert_eq!(rows, [4, 4, 8, 8, 14, 14, 8, 8, 8, 8, 14, 14, 14]);
        if !Level::Avx512.is_supported() {
            return;
        }
        // Each shape through `gemm` (8-row tiles) and forced through the 14-row kernel.
        for (ta, tb, m, n, k) in
            [(false, false, 64, 256, 800), (false, true, 128, 70, KC + 9), (true, false, 32, 33, 75)]
        {
            let a = values(m * k, 3);
            let b = values(k * n, 4);
            for parallel in [false, true] {
                let mut got = vec![f32::NAN; m * n];
                gemm_at(Level::Avx512, parallel, ta, tb, m, n, k, 1.0, &a, &b, 0.0, &mut got);
                let av = if ta { Strided { src: &a, rs: 1, cs: m } } else { Strided { src: &a, rs: k, cs: 1 } };
                let threads = if parallel { rayon::current_num_threads() } else { 1 };
                let p = Problem {
                    m,
                    n,
                    k,
                    alpha: 1.0,
                    beta: 0.0,
                    a: AOperand::Strided(av),
                    b: BOperand::Strided(b_view(tb, n, k, &b)),
                    threads,
                };
                let mut want = vec![f32::NAN; m * n];
                p.run::<microkernel_avx512::Avx512>(&mut want);
                assert!(got.iter().zip(&want).all(|(g, w)| g.to_bits() == w.to_bits()), "m={m} n={n} k={k}");
            }
        }
    }

    /// `op(B)` given as panels, packed by [`reference_panels`].
    struct PlainPanels<'a> {
        b: &'a [f32],
        n: usize,
    }

    impl BPanels for PlainPanels<'_> {
        fn pack(&self, cols: Range<usize>, first: usize, p0: usize, kc: usize, width: usize, dst: &mut [f32]) {
            reference_panels(self.b, self.n, cols, first, p0, kc, width, dst)
        }
    }

    #[test]
    fn b_panels_are_bit_identical_to_gemm() {
        // Edge panels in both directions, several k-blocks, serial and parallel sizes, beta.
        for (m, n, k) in [(5, 7, 3), (128, 1568, 1024), (37, 70, KC + 9), (200, 33, 2 * KC + 1)] {
            let a = values(m * k, 11);
            let b = values(k * n, 12);
            let c0 = values(m * n, 13);
            for beta in [0.0, 1.0] {
                let mut want = c0.clone();
                gemm(false, false, m, n, k, 1.0, &a, &b, beta, &mut want);
                for parallel in [false, true] {
                    let mut got = c0.clone();
                    gemm_b_panels(parallel, m, n, k, 1.0, &a, &PlainPanels { b: &b, n }, beta, &mut got);
                    assert!(
                        got.iter().zip(&want).all(|(g, w)| g.to_bits() == w.to_bits()),
                        "m={m} n={n} k={k} beta={beta} parallel={parallel}"
                    );
                    // A's rows inside a wider matrix (`lda = k + 5`, garbage between them).
                    let mut wide = values(m * (k + 5), 14);
                    wide.chunks_exact_mut(k + 5).zip(a.chunks_exact(k)).for_each(|(w, r)| w[..k].copy_from_slice(r));
                    let mut got = c0.clone();
                    gemm_b_panels_lda(parallel, m, n, k, 1.0, &wide, k + 5, &PlainPanels { b: &b, n }, beta, &mut got);
                    assert!(got.iter().zip(&want).all(|(g, w)| g.to_bits() == w.to_bits()), "lda, m={m} n={n} k={k}");
                }
            }
        }
    }

    #[test]
    fn engine_shapes_match_reference() {
        // The CIFAR LeNet's convolution GEMMs (forward, input gradient, weight gradient) and a
        // linear layer.
        for (ta, tb, m, n, k) in [
            (false, false, 200, 32, 196),
            (false, false, 64, 256, 800),
            (true, false, 800, 256, 64),
            (false, true, 64, 800, 256),
            (false, true, 3, 5, 2),
        ] {
            for parallel in [false, true] {
                check(Level::detect(), parallel, ta, tb, m, n, k, 1.0, 0.0);
            }
        }
    }

    #[test]
    fn empty_dimensions() {
        for level in levels() {
            // k = 0: only beta · C is left, and beta = 0 clears NaN.
            let mut c = vec![f32::NAN; 6];
            gemm_at(level, true, false, false, 2, 3, 0, 1.0, &[], &[], 0.0, &mut c);
            assert_eq!(c, vec![0.0; 6]);
            let mut c = vec![1.0, -2.0];
            gemm_at(level, true, true, true, 1, 2, 0, 1.0, &[], &[], 3.0, &mut c);
            assert_eq!(c, vec![3.0, -6.0]);
            // m = 0 or n = 0: nothing to write.
            gemm_at(level, true, false, false, 0, 3, 4, 1.0, &[], &[0.0; 12], 0.0, &mut []);
            gemm_at(level, true, false, false, 3, 0, 4, 1.0, &[0.0; 12], &[], 0.0, &mut []);
        }
        // A packed operand and a product with no columns, or an operand with no steps.
        PackedA::new(false, 3, 4, &[1.0; 12]).gemm(false, 0, 1.0, &[], 0.0, &mut []);
        let mut c = vec![f32::NAN; 6];
        PackedA::new(false, 3, 0, &[]).gemm(false, 2, 1.0, &[], 0.0, &mut c);
        assert_eq!(c, vec![0.0; 6]);
    }

    #[test]
    fn result_does_not_depend_on_thread_count() {
        let (m, n, k) = (301, 517, 3 * KC + 11);
        let a = values(m * k, 1);
        let b = values(k * n, 2);
        let run = |threads: usize, ta: bool, tb: bool| {
            let mut c = vec![f32::NAN; m * n];
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| gemm(ta, tb, m, n, k, 1.0, &a, &b, 0.0, &mut c));
            c
        };
        for (ta, tb) in TRANSPOSES {
            let one = run(1, ta, tb);
            let mut serial = vec![0.0; m * n];
            gemm_serial(ta, tb, m, n, k, 1.0, &a, &b, 0.0, &mut serial);
            assert!(one.iter().zip(&serial).all(|(x, y)| x.to_bits() == y.to_bits()), "gemm vs gemm_serial");
            for threads in [2, 3] {
                let many = run(threads, ta, tb);
                assert!(one.iter().zip(&many).all(|(x, y)| x.to_bits() == y.to_bits()), "1 vs {threads} threads");
            }
        }
    }

    #[test]
    fn simd_level_names_a_known_kernel() {
        assert!(["avx512", "avx2+fma", "neon", "scalar"].contains(&simd_level()));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn random_shapes_match_reference(
            m in 0usize..80, n in 0usize..80, k in 0usize..300,
            ta: bool, tb: bool, parallel: bool, level_index in 0usize..4,
            alpha in prop::sample::select(vec![1.0f32, -1.0, 0.5, 3.0]),
            beta in prop::sample::select(vec![0.0f32, 1.0, -0.25]),
        ) {
            let levels = levels();
            check(levels[level_index % levels.len()], parallel, ta, tb, m, n, k, alpha, beta);
        }
    }
}
