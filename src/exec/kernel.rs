//! Register-tiled direct 3×3 convolution: the inner loop of [`super::fast::conv3x3`].
//!
//! A tile of `OC` output channels × `R` output rows × `NV` vectors of pixels lives in
//! registers for the whole reduction over (input channel, kernel tap); each step loads the
//! `R·NV` input vectors once and one broadcast weight per output channel, so memory traffic
//! is a handful of loads per `OC·R·NV` vector multiply-adds, instead of the
//! load-update-store of accumulator planes that made the earlier loop memory-bound. The tile
//! is written out once, bias added and its [`Epilogue`] applied (ReLU and a scale, or the
//! scaled residual add and ReLU), into dense or zero-bordered planes ([`OutLayout`]), its values
//! summed on the way out when the caller wants the outputs' pools ([`Dest::sums`]).
//!
//! Weights stay in the folded `[out][in][9]` order: a tile keeps one pointer per output
//! channel and broadcasts `w[o][i][k]` from it, so any subset of output channels, in any
//! order, is computed straight from the packed weights, with no per-call gathering. (A copy
//! interleaved by groups of 4, read from one pointer, measured no faster in Chromium: the loop
//! is bound by the vector multiplies and adds, not by address arithmetic.)
//!
//! Backends: `core::arch::wasm32` SIMD128 in the browser (with relaxed SIMD's fused multiply-add
//! where the browser has it), AVX2 + FMA natively when the CPU has
//! them (runtime detection), and scalar code elsewhere and for the pixels left over at the end
//! of a row.

/// The vector operations a tile needs. `LANES` consecutive pixels of one row per vector.
trait Simd {
    const LANES: usize;
    type V: Copy;
    /// # Safety
    /// `LANES` floats must be readable at `p`.
    unsafe fn load(p: *const f32) -> Self::V;
    /// # Safety
    /// `LANES` floats must be writable at `p`.
    unsafe fn store(p: *mut f32, v: Self::V);
    fn splat(x: f32) -> Self::V;
    /// `acc + a·b`.
    fn mul_add(acc: Self::V, a: Self::V, b: Self::V) -> Self::V;
    fn add(a: Self::V, b: Self::V) -> Self::V;
    fn mul(a: Self::V, b: Self::V) -> Self::V;
    /// `max(v, 0)`, a NaN becoming 0 (as `exec::fast`'s scalar ReLU).
    fn relu(v: Self::V) -> Self::V;
}

/// One pixel at a time: the fallback, and the end of rows narrower than a vector.
struct Scalar;

impl Simd for Scalar {
    const LANES: usize = 1;
    type V = f32;
    #[inline(always)]
    unsafe fn load(p: *const f32) -> f32 {
        // SAFETY: the caller guarantees one readable float at `p`.
        unsafe { *p }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: f32) {
        // SAFETY: the caller guarantees one writable float at `p`.
        unsafe { *p = v }
    }
    #[inline(always)]
    fn splat(x: f32) -> f32 {
        x
    }
    #[inline(always)]
    fn mul_add(acc: f32, a: f32, b: f32) -> f32 {
        acc + a * b
    }
    #[inline(always)]
    fn add(a: f32, b: f32) -> f32 {
        a + b
    }
    #[inline(always)]
    fn mul(a: f32, b: f32) -> f32 {
        a * b
    }
    #[inline(always)]
    fn relu(v: f32) -> f32 {
        if v > 0.0 {
            v
        } else {
            0.0
        }
    }
}

/// WebAssembly SIMD128 (the crate is built with `+simd128`, see `.cargo/config.toml`). There
/// is no fused multiply-add in SIMD128: a multiply then an add. The second build of the module
/// (`+relaxed-simd`, `scripts/build-web.sh`) uses relaxed SIMD's `f32x4.relaxed_madd`, which a
/// browser runs as one fused multiply-add where the CPU has one (1.36× faster static passes in
/// Chromium on an AVX-512 Xeon); its rounding then matches the native AVX2 + FMA backend's.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
struct Wasm128;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
impl Simd for Wasm128 {
    const LANES: usize = 4;
    type V = core::arch::wasm32::v128;
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self::V {
        // SAFETY: the caller guarantees 4 readable floats at `p`; v128_load has no alignment
        // requirement.
        unsafe { core::arch::wasm32::v128_load(p.cast()) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: Self::V) {
        // SAFETY: the caller guarantees 4 writable floats at `p`; no alignment requirement.
        unsafe { core::arch::wasm32::v128_store(p.cast(), v) }
    }
    #[inline(always)]
    fn splat(x: f32) -> Self::V {
        core::arch::wasm32::f32x4_splat(x)
    }
    #[inline(always)]
    fn mul_add(acc: Self::V, a: Self::V, b: Self::V) -> Self::V {
        #[cfg(target_feature = "relaxed-simd")]
        {
            core::arch::wasm32::f32x4_relaxed_madd(a, b, acc)
        }
        #[cfg(not(target_feature = "relaxed-simd"))]
        {
            use core::arch::wasm32::{f32x4_add, f32x4_mul};
            f32x4_add(acc, f32x4_mul(a, b))
        }
    }
    #[inline(always)]
    fn add(a: Self::V, b: Self::V) -> Self::V {
        core::arch::wasm32::f32x4_add(a, b)
    }
    #[inline(always)]
    fn mul(a: Self::V, b: Self::V) -> Self::V {
        core::arch::wasm32::f32x4_mul(a, b)
    }
    #[inline(always)]
    fn relu(v: Self::V) -> Self::V {
        // pmax(0, v) = `0 < v ? v : 0`: one instruction, and a NaN gives 0.
        core::arch::wasm32::f32x4_pmax(core::arch::wasm32::f32x4_splat(0.0), v)
    }
}

/// AVX2 + FMA, 8 lanes. Only reached through [`conv_avx2`], which is compiled with these
/// features and entered after runtime detection; the methods are inlined into it.
#[cfg(target_arch = "x86_64")]
struct Avx2;

#[cfg(target_arch = "x86_64")]
impl Simd for Avx2 {
    const LANES: usize = 8;
    type V = std::arch::x86_64::__m256;
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self::V {
        // SAFETY: the caller guarantees 8 readable floats at `p` (unaligned load) and runs on a
        // CPU with AVX (only `conv_avx2` instantiates this backend).
        unsafe { std::arch::x86_64::_mm256_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: Self::V) {
        // SAFETY: as for `load`, 8 writable floats.
        unsafe { std::arch::x86_64::_mm256_storeu_ps(p, v) }
    }
    #[inline(always)]
    fn splat(x: f32) -> Self::V {
        // SAFETY: AVX is present (only `conv_avx2`, entered after detection, uses Avx2).
        unsafe { std::arch::x86_64::_mm256_set1_ps(x) }
    }
    #[inline(always)]
    fn mul_add(acc: Self::V, a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: FMA is present, as above.
        unsafe { std::arch::x86_64::_mm256_fmadd_ps(a, b, acc) }
    }
    #[inline(always)]
    fn add(a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: AVX is present, as above.
        unsafe { std::arch::x86_64::_mm256_add_ps(a, b) }
    }
    #[inline(always)]
    fn mul(a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: AVX is present, as above.
        unsafe { std::arch::x86_64::_mm256_mul_ps(a, b) }
    }
    #[inline(always)]
    fn relu(v: Self::V) -> Self::V {
        use std::arch::x86_64::{_mm256_max_ps, _mm256_setzero_ps};
        // SAFETY: AVX is present, as above. `max` returns its second operand for a NaN: 0.
        unsafe { _mm256_max_ps(v, _mm256_setzero_ps()) }
    }
}

/// SSE2, 4 lanes, multiply then add: on x86_64 the same vector width and operations as
/// WebAssembly SIMD128, so `lcnet bench --kernel simd128` times natively what the browser runs.
#[cfg(target_arch = "x86_64")]
struct Sse2;

#[cfg(target_arch = "x86_64")]
impl Simd for Sse2 {
    const LANES: usize = 4;
    type V = std::arch::x86_64::__m128;
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self::V {
        // SAFETY: the caller guarantees 4 readable floats at `p` (unaligned load); SSE2 is part
        // of the x86_64 baseline.
        unsafe { std::arch::x86_64::_mm_loadu_ps(p) }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: Self::V) {
        // SAFETY: as for `load`, 4 writable floats.
        unsafe { std::arch::x86_64::_mm_storeu_ps(p, v) }
    }
    #[inline(always)]
    fn splat(x: f32) -> Self::V {
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe { std::arch::x86_64::_mm_set1_ps(x) }
    }
    #[inline(always)]
    fn mul_add(acc: Self::V, a: Self::V, b: Self::V) -> Self::V {
        use std::arch::x86_64::{_mm_add_ps, _mm_mul_ps};
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe { _mm_add_ps(acc, _mm_mul_ps(a, b)) }
    }
    #[inline(always)]
    fn add(a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe { std::arch::x86_64::_mm_add_ps(a, b) }
    }
    #[inline(always)]
    fn mul(a: Self::V, b: Self::V) -> Self::V {
        // SAFETY: SSE2 is part of the x86_64 baseline.
        unsafe { std::arch::x86_64::_mm_mul_ps(a, b) }
    }
    #[inline(always)]
    fn relu(v: Self::V) -> Self::V {
        use std::arch::x86_64::{_mm_max_ps, _mm_setzero_ps};
        // SAFETY: SSE2 is part of the x86_64 baseline. `max` returns its second operand for a
        // NaN: 0.
        unsafe { _mm_max_ps(v, _mm_setzero_ps()) }
    }
}

/// Which vector code the convolutions run natively. The default picks the widest the CPU
/// has; the others exist to measure (`lcnet bench --kernel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// AVX2 + FMA where the CPU has them, else 4-lane SIMD (SIMD128 in wasm), else scalar.
    #[default]
    Auto,
    /// 4 lanes, multiply then add, 4 × 8 tiles: what the browser runs (SSE2 on x86_64).
    Simd128,
    /// Portable scalar code.
    Scalar,
}

static BACKEND: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Sets the backend for every later convolution in this process (a benchmarking knob of the
/// native CLI: the browser module, built with SIMD128, runs SIMD128 whatever is set).
pub fn set_backend(b: Backend) {
    let v = match b {
        Backend::Auto => 0,
        Backend::Simd128 => 1,
        Backend::Scalar => 2,
    };
    BACKEND.store(v, std::sync::atomic::Ordering::Relaxed);
}

/// The backend [`set_backend`] chose.
pub fn backend() -> Backend {
    match BACKEND.load(std::sync::atomic::Ordering::Relaxed) {
        1 => Backend::Simd128,
        2 => Backend::Scalar,
        _ => Backend::Auto,
    }
}

/// What [`Backend::Auto`] resolves to on this machine, e.g. for a benchmark's header.
pub fn describe(b: Backend) -> &'static str {
    match b {
        Backend::Scalar => "scalar",
        Backend::Simd128 if cfg!(target_arch = "x86_64") => "sse2, 4 lanes (as wasm simd128)",
        Backend::Simd128 if cfg!(all(target_arch = "wasm32", target_feature = "relaxed-simd")) => {
            "wasm simd128 + relaxed-simd (fused multiply-add)"
        }
        Backend::Simd128 if cfg!(all(target_arch = "wasm32", target_feature = "simd128")) => {
            "wasm simd128"
        }
        Backend::Simd128 => "scalar (no 4-lane SIMD here)",
        Backend::Auto => {
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return "avx2+fma, 8 lanes";
            }
            describe(Backend::Simd128)
        }
    }
}

/// Where a convolution reads: the input planes, already padded (stride 1) or split into
/// polyphase components (stride 2), so that every tap of every output pixel reads a contiguous
/// run of one row.
#[derive(Debug, Clone, Copy)]
pub struct Geometry {
    /// Output side (`ohw × ohw` pixels per output plane).
    pub ohw: usize,
    /// Row pitch of the input planes.
    pub pitch: usize,
    /// Floats per input channel (one padded plane, or its 4 polyphase components).
    pub chan_len: usize,
    /// Offset of each tap `(ky·3 + kx)` in a channel, relative to output pixel `(y, x)`'s base
    /// `y·pitch + x`.
    pub taps: [usize; 9],
}

/// Where a convolution writes: output `p`'s pixel `(y, x)` is at `p·plane + origin + y·pitch +
/// x` of the output slice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutLayout {
    /// Row pitch.
    pub pitch: usize,
    /// Floats per plane.
    pub plane: usize,
    /// Offset of pixel `(0, 0)` in a plane.
    pub origin: usize,
}

impl OutLayout {
    /// `ohw × ohw` planes, back to back.
    pub fn dense(ohw: usize) -> Self {
        Self {
            pitch: ohw,
            plane: ohw * ohw,
            origin: 0,
        }
    }

    /// `(ohw + 2)²` planes holding the pixels inside a border of one, which is never written:
    /// kept zero, it is the padding the next stride-1 convolution reads without a copy.
    pub fn padded(ohw: usize) -> Self {
        let p = ohw + 2;
        Self {
            pitch: p,
            plane: p * p,
            origin: p + 1,
        }
    }

    /// Where pixel `(y, x)` of plane `p` is.
    pub fn at(&self, p: usize, y: usize, x: usize) -> usize {
        p * self.plane + self.origin + y * self.pitch + x
    }

    /// The floats `n` planes of `ohw × ohw` pixels reach, up to the last pixel.
    pub fn len(&self, n: usize, ohw: usize) -> usize {
        match (n, ohw) {
            (0, _) | (_, 0) => 0,
            _ => (n - 1) * self.plane + self.origin + (ohw - 1) * self.pitch + ohw,
        }
    }
}

/// What a convolution does with each sum, `v = acc + bias`, before storing it: the work that
/// would otherwise be another pass over the output, done while the tile is in registers.
#[derive(Debug, Clone, Copy)]
pub enum Epilogue<'a> {
    /// `v`.
    Bias,
    /// `max(v, 0) · scale[p]` for output `p` (1 when `None`): the stem, and a block's conv1
    /// with its C-Net values.
    ReluScale(Option<&'a [f32]>),
    /// `max(base + l·v, 0)`, `base` laid out as the output (the output itself, written
    /// beforehand, when `None`): a block's conv2 scaled by its L-Net value, added to the
    /// shortcut, then the block's ReLU.
    Residual {
        /// The L-Net value (1 without an L-Net).
        l: f32,
        /// The shortcut.
        base: Option<&'a [f32]>,
    },
}

/// Which [`Epilogue`], without its data (which [`Group`] holds per channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Post {
    Bias,
    ReluScale,
    Residual,
}

/// Everything a tile reads, validated once per call by [`conv`].
struct Task<'a> {
    geo: Geometry,
    planes: &'a [f32],
    in_idx: &'a [usize],
    post: Post,
    /// The output's row pitch ([`OutLayout::pitch`]).
    out_pitch: usize,
    /// The 9 taps, as a slice whose length the compiler cannot see.
    taps: &'a [usize],
}

/// A group of `N` output channels: per channel, its weights, bias, output plane (at pixel
/// `(0, 0)`), epilogue factor (the scale, or `l`), shortcut plane (at pixel `(0, 0)`) and
/// running sums (null when not wanted).
struct Group<const N: usize> {
    w: [*const f32; N],
    bias: [f32; N],
    dst: [*mut f32; N],
    factor: [f32; N],
    base: [*const f32; N],
    sums: [*mut f32; N],
}

/// Floats per output channel in [`Dest::sums`]: one per lane of the widest vector.
pub const SUM_LANES: usize = 8;

/// Computes a tile: output channels `g.w.len() = OC`, rows `y..y+R`, pixels `x..x + NV·LANES`.
///
/// # Safety
/// [`conv`]'s checks hold (every tap read of a pixel inside the output is inside `planes`,
/// every `w[q]` is valid for `in_ch·9` reads, and each `dst[q]` — and `base[q]` for
/// [`Post::Residual`] — is valid at every pixel of the output layout), `y + R ≤ ohw` and
/// `x + NV·LANES ≤ ohw`.
// `q` indexes the group's arrays and the accumulators alike.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
unsafe fn tile<S: Simd, const OC: usize, const R: usize, const NV: usize>(
    t: &Task,
    grp: &Group<OC>,
    y: usize,
    x: usize,
) {
    let g = &t.geo;
    let mut acc = [[[S::splat(0.0); NV]; R]; OC];
    let base = y * g.pitch + x;
    let planes = t.planes.as_ptr();
    for (j, &i) in t.in_idx.iter().enumerate() {
        // SAFETY: plane j exists (`planes.len() ≥ in_idx.len()·chan_len`, checked in `conv`).
        let chan = unsafe { planes.add(j * g.chan_len + base) };
        let wi = i * 9;
        for (k, &off) in t.taps.iter().enumerate() {
            let mut px = [[S::splat(0.0); NV]; R];
            for (r, row) in px.iter_mut().enumerate() {
                for (v, p) in row.iter_mut().enumerate() {
                    // SAFETY: a pixel of the tile, `(y + r, x + v·LANES + l)`, is inside the
                    // output, whose tap reads `conv` checked to stay inside channel j.
                    *p = unsafe { S::load(chan.add(off + r * g.pitch + v * S::LANES)) };
                }
            }
            for q in 0..OC {
                // SAFETY: `i < in_ch` (checked in `conv`), so `wi + k < in_ch·9`.
                let wq = S::splat(unsafe { *grp.w[q].add(wi + k) });
                for r in 0..R {
                    for v in 0..NV {
                        acc[q][r][v] = S::mul_add(acc[q][r][v], wq, px[r][v]);
                    }
                }
            }
        }
    }
    for q in 0..OC {
        let b = S::splat(grp.bias[q]);
        let f = S::splat(grp.factor[q]);
        let mut total = S::splat(0.0);
        for (r, row) in acc[q].iter().enumerate() {
            for (v, &a) in row.iter().enumerate() {
                let at = (y + r) * t.out_pitch + x + v * S::LANES;
                let sum = S::add(a, b);
                let out = match t.post {
                    Post::Bias => sum,
                    Post::ReluScale => S::mul(S::relu(sum), f),
                    // SAFETY: `(y + r, x + v·LANES..)` is a pixel of the output, valid in
                    // `base[q]` as in `dst[q]` (checked in `conv`).
                    Post::Residual => {
                        S::relu(S::mul_add(unsafe { S::load(grp.base[q].add(at)) }, f, sum))
                    }
                };
                // SAFETY: as above, a pixel of the output.
                unsafe { S::store(grp.dst[q].add(at), out) };
                total = S::add(total, out);
            }
        }
        let sums = grp.sums[q];
        if !sums.is_null() {
            // SAFETY: a non-null `sums[q]` holds `SUM_LANES ≥ LANES` floats (checked in `conv`).
            unsafe { S::store(sums, S::add(S::load(sums), total)) };
        }
    }
}

/// Covers one band of `R` rows starting at `y`: full tiles, then single vectors, then scalar
/// pixels for what is left of the row.
///
/// # Safety
/// As [`tile`], for rows `y..y+R`.
#[inline(always)]
unsafe fn band<S: Simd, const OC: usize, const R: usize, const NV: usize>(
    t: &Task,
    grp: &Group<OC>,
    y: usize,
) {
    let ohw = t.geo.ohw;
    let mut x = 0;
    // SAFETY (all three loops): each tile ends at or before column `ohw`.
    while x + NV * S::LANES <= ohw {
        unsafe { tile::<S, OC, R, NV>(t, grp, y, x) };
        x += NV * S::LANES;
    }
    while x + S::LANES <= ohw {
        unsafe { tile::<S, OC, R, 1>(t, grp, y, x) };
        x += S::LANES;
    }
    while x < ohw {
        unsafe { tile::<Scalar, OC, R, 1>(t, grp, y, x) };
        x += 1;
    }
}

/// All rows of one group of `OC` output channels.
///
/// # Safety
/// As [`tile`], for the whole output.
// In wasm each group shape is a function of its own: V8 allocates registers per function, and
// with every shape inlined into one, adding the wider small-group tiles slowed the 4-channel
// tiles of a static pass by a fifth in Chromium. Natively the tiles must inline into the
// `target_feature` function that runs them.
#[cfg_attr(target_arch = "wasm32", inline(never))]
#[cfg_attr(not(target_arch = "wasm32"), inline(always))]
unsafe fn group<S: Simd, const OC: usize, const R: usize, const NV: usize>(
    t: &Task,
    grp: &Group<OC>,
) {
    let ohw = t.geo.ohw;
    let mut y = 0;
    // SAFETY (both loops): each band ends at or before row `ohw`.
    while y + R <= ohw {
        unsafe { band::<S, OC, R, NV>(t, grp, y) };
        y += R;
    }
    while y < ohw {
        unsafe { band::<S, OC, 1, NV>(t, grp, y) };
        y += 1;
    }
}

/// Where a convolution writes, and what it does to each sum first.
pub struct Dest<'a> {
    /// The output planes.
    pub data: &'a mut [f32],
    /// How they are laid out.
    pub layout: OutLayout,
    /// What is stored.
    pub epilogue: Epilogue<'a>,
    /// When given, [`SUM_LANES`] floats per output (`out_idx` order), zeroed by the caller, to
    /// which the stored values are added (in any lane): each output's sum, for the next
    /// block's gates, without another pass over the output.
    pub sums: Option<&'a mut [f32]>,
}

impl Dest<'_> {
    /// Channels `pos..pos + N` of `out_idx`: pointers, biases and epilogue data.
    ///
    /// `wrapping_add`: plain address arithmetic; `conv` checked that every `o < out_ch` and
    /// that the output (and shortcut) slices hold every plane, so every pointer is in bounds.
    #[inline(always)]
    fn group<const N: usize>(
        &mut self,
        pos: usize,
        out_idx: &[usize],
        weight: &[f32],
        in_ch: usize,
        bias: &[f32],
    ) -> Group<N> {
        let layout = self.layout;
        let at = |q: usize| layout.at(pos + q, 0, 0);
        let op = self.data.as_mut_ptr();
        let dst = std::array::from_fn(|q| op.wrapping_add(at(q)));
        let (factor, base) = match self.epilogue {
            Epilogue::Bias => ([1.0; N], [std::ptr::null(); N]),
            Epilogue::ReluScale(s) => (
                std::array::from_fn(|q| s.map_or(1.0, |s| s[pos + q])),
                [std::ptr::null(); N],
            ),
            Epilogue::Residual { l, base } => (
                [l; N],
                match base {
                    Some(b) => std::array::from_fn(|q| b.as_ptr().wrapping_add(at(q))),
                    None => dst.map(|d| d.cast_const()),
                },
            ),
        };
        let sums = match &mut self.sums {
            Some(s) => {
                let sp = s.as_mut_ptr();
                std::array::from_fn(|q| sp.wrapping_add((pos + q) * SUM_LANES))
            }
            None => [std::ptr::null_mut(); N],
        };
        Group {
            w: std::array::from_fn(|q| weight.as_ptr().wrapping_add(out_idx[pos + q] * in_ch * 9)),
            bias: std::array::from_fn(|q| bias[out_idx[pos + q]]),
            dst,
            factor,
            base,
            sums,
        }
    }
}

/// The channel-group loop: groups of `OC` output channels (in `out_idx` order), then the
/// remainder in groups of 3, 2 and 1. Groups of 1 or 2 channels cover `RS` rows × `NVS` vectors
/// instead of `R × NV`: with few channels per tile, more pixels per tile keep the accumulators
/// busy for the same input loads (a lone kept channel otherwise ran at half the speed per MAC).
///
/// # Safety
/// [`conv`]'s checks hold.
#[inline(always)]
unsafe fn run<
    S: Simd,
    const OC: usize,
    const R: usize,
    const NV: usize,
    const RS: usize,
    const NVS: usize,
>(
    t: &Task,
    weight: &[f32],
    in_ch: usize,
    bias: &[f32],
    out_idx: &[usize],
    out: &mut Dest,
) {
    // Full groups of OC, then the rest in groups of 3, 2 or 1. A group of one channel loads as
    // many input vectors as a group of OC for a fraction of the multiply-adds, and the gates
    // often keep few channels (3 of 16 in ResNet-56's first stage), so a lone channel is avoided:
    // OC + 1 channels run as 3 + 2 (when OC = 4).
    let len = out_idx.len();
    let mut full = len / OC;
    if OC == 4 && len % OC == 1 && full > 0 {
        full -= 1;
    }
    let mut pos = 0;
    // SAFETY (all the loops): each group covers positions `pos..pos + N ≤ out_idx.len()`.
    for _ in 0..full {
        let g = out.group::<OC>(pos, out_idx, weight, in_ch, bias);
        unsafe { group::<S, OC, R, NV>(t, &g) };
        pos += OC;
    }
    while len - pos >= 3 {
        let g = out.group::<3>(pos, out_idx, weight, in_ch, bias);
        unsafe { group::<S, 3, R, NV>(t, &g) };
        pos += 3;
    }
    if len - pos == 2 {
        let g = out.group::<2>(pos, out_idx, weight, in_ch, bias);
        unsafe { group::<S, 2, RS, NVS>(t, &g) };
    } else if len - pos == 1 {
        let g = out.group::<1>(pos, out_idx, weight, in_ch, bias);
        unsafe { group::<S, 1, RS, NVS>(t, &g) };
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
/// # Safety
/// [`conv`]'s checks hold and the CPU has AVX2 and FMA.
unsafe fn conv_avx2(
    t: &Task,
    weight: &[f32],
    in_ch: usize,
    bias: &[f32],
    out_idx: &[usize],
    out: &mut Dest,
) {
    // 4 channels × 16 pixels (one row) or × 2 rows of 8: 8 accumulators. Measured natively,
    // 6 or 8 channels per tile were 10–20 % slower (16-channel layers leave 2-channel tails).
    // SAFETY: forwarded from the caller.
    unsafe {
        if t.geo.ohw % 16 == 0 {
            run::<Avx2, 4, 1, 2, 2, 2>(t, weight, in_ch, bias, out_idx, out)
        } else {
            run::<Avx2, 4, 2, 1, 4, 1>(t, weight, in_ch, bias, out_idx, out)
        }
    }
}

/// Output `p` (`p` indexing `out_idx`) of a 3×3 convolution over `in_idx.len()` input
/// channels laid out as `geo` says, written into plane `p` of `dest` as its layout says, after
/// its epilogue. `weight` is `[out_ch][in_ch][9]`; input plane `j` is input channel `in_idx[j]`.
/// Only the output's pixels are written: a padded layout's border keeps what it held.
///
/// # Panics
/// If an index is out of range or a buffer is too small for `geo` and `dest` (the checks
/// that make the unchecked loads and stores of the inner loop sound).
#[allow(clippy::too_many_arguments)]
pub fn conv(
    weight: &[f32],
    bias: &[f32],
    in_ch: usize,
    planes: &[f32],
    geo: Geometry,
    in_idx: &[usize],
    out_idx: &[usize],
    mut dest: Dest,
) {
    let out_ch = bias.len();
    let (layout, epilogue) = (dest.layout, dest.epilogue);
    assert_eq!(
        weight.len(),
        out_ch * in_ch * 9,
        "weight is not [out][in][9]"
    );
    assert!(
        in_idx.iter().all(|&i| i < in_ch),
        "input channel out of range"
    );
    assert!(
        out_idx.iter().all(|&o| o < out_ch),
        "output channel out of range"
    );
    let need = layout.len(out_idx.len(), geo.ohw);
    assert!(
        dest.data.len() >= need
            && geo.ohw <= layout.pitch
            && layout.pitch * geo.ohw <= layout.plane,
        "output too small for its layout"
    );
    if let Some(s) = &dest.sums {
        assert!(s.len() >= out_idx.len() * SUM_LANES, "sums too small");
    }
    match epilogue {
        Epilogue::ReluScale(Some(s)) => assert_eq!(s.len(), out_idx.len(), "one scale per output"),
        Epilogue::Residual { base: Some(b), .. } => {
            assert!(b.len() >= need, "shortcut too small for the output layout")
        }
        _ => {}
    }
    assert!(
        planes.len() >= in_idx.len() * geo.chan_len,
        "input too small"
    );
    if geo.ohw == 0 || out_idx.is_empty() {
        return;
    }
    // The furthest float a tap reads, for the last pixel of the last row.
    let last = geo.taps.iter().max().copied().unwrap_or(0) + (geo.ohw - 1) * (geo.pitch + 1);
    assert!(
        geo.ohw <= geo.pitch && last < geo.chan_len,
        "taps leave the channel"
    );
    let t = Task {
        geo,
        planes,
        in_idx,
        post: match epilogue {
            Epilogue::Bias => Post::Bias,
            Epilogue::ReluScale(_) => Post::ReluScale,
            Epilogue::Residual { .. } => Post::Residual,
        },
        out_pitch: layout.pitch,
        // Opaque length: fully unrolled over the 9 taps, the loop's weight broadcasts were
        // hoisted and spilled to the stack, and the passes ran 2.4× slower in the processes
        // whose stack sat where those spills alias the input planes (4K aliasing: 6 of 80
        // stack offsets measured). A loop the compiler cannot unroll keeps them in registers.
        taps: &geo.taps[..std::hint::black_box(geo.taps.len())],
    };
    let out = &mut dest;
    #[cfg(not(test))]
    let chosen = backend();
    // Tests choose per thread, so that tests running side by side do not switch each other's.
    #[cfg(test)]
    let chosen = tests::FORCE.get().unwrap_or_else(backend);
    // The browser module never chooses (only `lcnet bench --kernel` does), and the scalar tiles
    // would be a third of its convolution code.
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    if chosen == Backend::Scalar {
        // SAFETY: the checks above.
        return unsafe { run::<Scalar, 4, 1, 8, 1, 8>(&t, weight, in_ch, bias, out_idx, out) };
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let _ = chosen;
    #[cfg(target_arch = "x86_64")]
    if chosen == Backend::Simd128 {
        // SAFETY: the checks above; SSE2 is part of the x86_64 baseline.
        return unsafe { run::<Sse2, 4, 1, 2, 2, 2>(&t, weight, in_ch, bias, out_idx, out) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the checks above; the CPU has AVX2 and FMA, detected just now.
        return unsafe { conv_avx2(&t, weight, in_ch, bias, out_idx, out) };
    }
    // 4 channels × 8 pixels: 8 accumulators + 2 pixel vectors + weight + product fit the 15
    // xmm registers V8 allocates on x86. Measured in Chromium (lcnet/ORT), 4×16, 6×8 and 4×12
    // tiles spill and were 20–30 % slower; 5×8 and 3×8 were 7 % and 15 % slower.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    // SAFETY: the checks above.
    // Groups of 1 or 2 channels cover 2 rows × 2 vectors, as natively with SSE2 (measured with
    // the groups as functions of their own, see `group`).
    return unsafe { run::<Wasm128, 4, 1, 2, 2, 2>(&t, weight, in_ch, bias, out_idx, out) };
    #[allow(unreachable_code)]
    // SAFETY: the checks above.
    unsafe {
        run::<Scalar, 4, 1, 8, 1, 8>(&t, weight, in_ch, bias, out_idx, out)
    }
}

#[cfg(test)]
mod tests {
    use crate::exec::fast::{conv3x3, Buffers, FoldedConv};

    thread_local! {
        /// Set by a test to run another backend than the default on this thread.
        pub(super) static FORCE: std::cell::Cell<Option<super::Backend>> = const { std::cell::Cell::new(None) };
    }

    /// A small deterministic generator (xorshift), so the test needs no extra crate.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn f32(&mut self) -> f32 {
            (self.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
        }
        /// `k` distinct values of `0..n`, in random order.
        fn subset(&mut self, n: usize, k: usize) -> Vec<usize> {
            let mut all: Vec<usize> = (0..n).collect();
            for i in (1..n).rev() {
                all.swap(i, self.next() as usize % (i + 1));
            }
            all.truncate(k);
            all
        }
    }

    /// The definition: zero padding 1, `stride`, output `p` is channel `out_idx[p]`.
    fn naive(
        conv: &FoldedConv,
        input: &[f32],
        hw: usize,
        in_idx: &[usize],
        out_idx: &[usize],
    ) -> Vec<f32> {
        let s = conv.stride;
        let ohw = hw / s;
        let mut out = vec![0f32; out_idx.len() * ohw * ohw];
        for (p, &o) in out_idx.iter().enumerate() {
            for y in 0..ohw {
                for x in 0..ohw {
                    let mut sum = conv.bias[o] as f64;
                    for (j, &i) in in_idx.iter().enumerate() {
                        for k in 0..9 {
                            let iy = (y * s + k / 3) as isize - 1;
                            let ix = (x * s + k % 3) as isize - 1;
                            if iy < 0 || ix < 0 || iy >= hw as isize || ix >= hw as isize {
                                continue;
                            }
                            let v = input[(j * hw + iy as usize) * hw + ix as usize];
                            sum += (conv.weight[(o * conv.in_ch + i) * 9 + k] * v) as f64;
                        }
                    }
                    out[(p * ohw + y) * ohw + x] = sum as f32;
                }
            }
        }
        out
    }

    fn check(
        rng: &mut Rng,
        hw: usize,
        stride: usize,
        in_ch: usize,
        out_ch: usize,
        buf: &mut Buffers,
    ) {
        let conv = FoldedConv {
            out_ch,
            in_ch,
            stride,
            weight: (0..out_ch * in_ch * 9).map(|_| rng.f32() * 0.3).collect(),
            bias: (0..out_ch).map(|_| rng.f32()).collect(),
        };
        let all_in: Vec<usize> = (0..in_ch).collect();
        let all_out: Vec<usize> = (0..out_ch).collect();
        // Full width, then random unordered subsets of odd and even sizes (1 and C−1 included).
        let mut cases = vec![(all_in.clone(), all_out.clone())];
        for _ in 0..3 {
            let ki = 1 + rng.next() as usize % in_ch;
            let ko = 1 + rng.next() as usize % out_ch;
            cases.push((rng.subset(in_ch, ki), rng.subset(out_ch, ko)));
        }
        cases.push((
            rng.subset(in_ch, in_ch.max(2) - 1),
            rng.subset(out_ch, out_ch - 1),
        ));
        for (in_idx, out_idx) in cases {
            let input: Vec<f32> = (0..in_idx.len() * hw * hw).map(|_| rng.f32()).collect();
            let mut out = Vec::new();
            let macs = conv3x3(&conv, &input, hw, &in_idx, &out_idx, buf, &mut out);
            let want = naive(&conv, &input, hw, &in_idx, &out_idx);
            assert_eq!(out.len(), want.len());
            assert_eq!(
                macs,
                (out_idx.len() * in_idx.len() * 9 * want.len() / out_idx.len().max(1)) as u64
            );
            let diff = out
                .iter()
                .zip(&want)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(
                diff <= 1e-4,
                "hw {hw} stride {stride} in {in_ch} out {out_ch} ({} of {} in, {} out): max |Δ| {diff}",
                in_idx.len(),
                in_ch,
                out_idx.len()
            );
        }
    }

    fn network_shapes(seed: u64) {
        let mut rng = Rng(seed);
        let mut buf = Buffers::default();
        let widths = [
            (3, 16),
            (16, 16),
            (16, 32),
            (32, 32),
            (32, 64),
            (64, 64),
            (64, 3),
        ];
        for hw in [32, 16, 8] {
            for stride in [1, 2] {
                for &(i, o) in &widths {
                    check(&mut rng, hw, stride, i, o, &mut buf);
                }
            }
        }
    }

    /// The backend this machine runs (SIMD128 in wasm, AVX2 + FMA on most x86).
    #[test]
    fn matches_naive_convolution() {
        network_shapes(0x9e37_79b9_7f4a_7c15);
    }

    /// The portable scalar backend, whatever the machine.
    #[test]
    fn scalar_backend_matches_naive_convolution() {
        FORCE.set(Some(super::Backend::Scalar));
        network_shapes(7);
        FORCE.set(None);
    }

    /// The 4-lane backend (SSE2 natively): what the browser runs.
    #[test]
    fn simd128_backend_matches_naive_convolution() {
        FORCE.set(Some(super::Backend::Simd128));
        network_shapes(11);
        odd_sizes();
        FORCE.set(None);
    }

    /// Sizes that are not multiples of any vector width exercise the scalar and 1-vector tails.
    #[test]
    fn odd_sizes() {
        let mut rng = Rng(42);
        let mut buf = Buffers::default();
        for hw in [1, 2, 3, 5, 6, 7, 9, 10, 12, 14, 18, 20, 22, 26] {
            for stride in [1, 2] {
                if stride == 2 && hw % 2 == 1 {
                    continue; // the network only strides even sizes (polyphase needs them)
                }
                check(&mut rng, hw, stride, 5, 7, &mut buf);
            }
        }
    }
}
