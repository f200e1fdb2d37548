using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace PurePg.Autodiff.Kernels;

/// <summary>Which register micro-kernel the packed path uses.</summary>
internal enum GemmIsa { Scalar, Vector256, Vector512 }

/// <summary>Which algorithm computes a product; <see cref="Auto"/> picks by shape.</summary>
internal enum GemmPath { Auto, Packed, SmallK, SmallM, Dots, TransposedSmallM }

/// <summary>
/// General matrix multiply over dense row-major spans, ours end to end (TensorPrimitives has none):
/// C ← op(A)·op(B), or C ← C + op(A)·op(B) when accumulating, with op(X) = X or Xᵀ.
/// Large products run a BLIS-style loop nest (KC × NC blocks of op(B), MC × KC blocks of op(A)) around an MR × NR
/// register micro-kernel with Vector512 or Vector256 FMAs (scalar fallback elsewhere). Operands are packed only where
/// it pays: a transposed B, B reused across row blocks, and zero-padded edge panels; otherwise the kernel reads them
/// in place. The skinny shapes RL networks produce (K ≤ 8, M ≤ 4 or N ≤ 4) have paths of their own.
/// One thread per call; calls on different threads are independent.
/// </summary>
public static class Gemm
{
    /// <summary>
    /// Rows of a block of op(A), and columns of a packed block of op(B). NC = 1536 (was 3072): Pong's dW
    /// (200×1000×6400 TN) 1.066 → 1.050× OpenBLAS's time, mean of three interleaved runs (best times 1.3 % lower);
    /// 1024² unchanged; shapes with N ≤ 1536 do not see it.
    /// </summary>
    private const int MC = 120, NC = 1536;
    /// <summary>
    /// Depth of a packed block. 512 with the 256-bit kernel: against 256, Pong's forward 1.02 → 0.98× OpenBLAS's time,
    /// 64 × 2048 × 64 (Aᵀ·B) 1.04 → 1.02–1.03×, 1024² 1.06–1.08 → 1.05×, Pong's dW unchanged (measured side by side).
    /// The 512-bit kernel's panels are twice as wide, so it keeps 256 (its B micro-panel then stays at 32 KB).
    /// </summary>
    private const int KcYmm = 512, KcZmm = 256;
    private const int SmallKMax = 8, SmallMMax = 4, SmallNMax = 4;
    private const int PackATransposedMinN = 512;
    /// <summary>
    /// Largest depth block when A is read in place, row-major (its rows then stream kc contiguous values per tile):
    /// Pong's forward 1000×6400×200 NT, best of interleaved runs against OpenBLAS, 28.04 ms at KC = 512 → 27.23 at 1280,
    /// 27.14 at 1600, 26.77–27.00 at 2136 (three blocks), 26.94 at 3200; 1024² NN stays at 512 (B's block bound).
    /// </summary>
    private const int KcInPlaceMax = 2400;
    /// <summary>Largest packed Aᵀ (values) kept across column blocks: 4 MB of floats.</summary>
    private const int PackAOnceMaxValues = 1 << 20;

    /// <summary>The best micro-kernel this machine runs.</summary>
    internal static readonly GemmIsa BestIsa =
        Vector512.IsHardwareAccelerated && Avx512F.IsSupported ? GemmIsa.Vector512 :
        Vector256.IsHardwareAccelerated && Fma.IsSupported ? GemmIsa.Vector256 : GemmIsa.Scalar;

    /// <summary>
    /// The line every measurement carries: CPU model, cores, whether the 512-bit kernel runs (AVX-512 on or off: some
    /// machines of the same CPU enable its state and some do not), .NET version — e.g.
    /// <c>machine: AMD EPYC, 2 cores, AVX-512 on, .NET 10.0.12</c>.
    /// </summary>
    public static string MachineLine()
    {
        string cpu;
        try { cpu = File.ReadLines("/proc/cpuinfo").First(l => l.StartsWith("model name", StringComparison.Ordinal)).Split(':')[1].Trim(); }
        catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException) { cpu = "unknown CPU"; }
        return $"machine: {cpu}, {Environment.ProcessorCount} cores, AVX-512 {(BestIsa == GemmIsa.Vector512 ? "on" : "off")}, .NET {Environment.Version}";
    }

    /// <summary>Per-thread override of the micro-kernel (tests run every kernel the machine has).</summary>
    [ThreadStatic] internal static GemmIsa? IsaOverride;

    /// <summary>Per-thread override of the path choice (tests run every path on every shape).</summary>
    [ThreadStatic] internal static GemmPath PathOverride;

    /// <summary>
    /// C[M, N] ← op(A)[M, K] · op(B)[K, N] (or C += … when <paramref name="accumulate"/>), all row-major.
    /// A is stored [M, K], or [K, M] when <paramref name="transA"/>; B is stored [K, N], or [N, K] when <paramref name="transB"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A span is shorter than its stated shape needs.</exception>
    public static void Multiply<T>(ReadOnlySpan<T> a, bool transA, ReadOnlySpan<T> b, bool transB, Span<T> c, int m, int n, int k, bool accumulate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => Multiply(a, transA, b, transB, c, m, n, k, accumulate, ReadOnlySpan<T>.Empty);

    /// <summary>
    /// C[M, N] ← op(A)[M, K] · op(B)[K, N] + 1·biasᵀ: every row of C gets <paramref name="bias"/> [N] added — a linear
    /// layer's y = x·Wᵀ + b in one pass, the bias added where each tile of C is stored instead of C being filled with
    /// it first and read back.
    /// </summary>
    /// <exception cref="ArgumentException">A span is shorter than its stated shape needs.</exception>
    public static void MultiplyAddBias<T>(ReadOnlySpan<T> a, bool transA, ReadOnlySpan<T> b, bool transB, ReadOnlySpan<T> bias, Span<T> c, int m, int n, int k)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        => MultiplyAddBias(a, transA, b, transB, bias, c, m, n, k, rowInvariant: false);

    /// <summary>As <see cref="MultiplyAddBias{T}(ReadOnlySpan{T}, bool, ReadOnlySpan{T}, bool, ReadOnlySpan{T}, Span{T}, int, int, int)"/>;
    /// with <paramref name="rowInvariant"/>, the kernel is chosen from N, K and the layouts alone, never from M, and treats
    /// every row alike (256-bit vectors, also where AVX-512 is present): a row's result does not depend on the rows computed
    /// with it. B stored [N, K] (a linear layer's W): C_ij = b_j + ⟨A_i, B_j⟩ by the dot-product kernels small M takes
    /// anyway; B stored [K, N]: C_ij = (Σ_p by fused multiply-adds in p order) + b_j, row by row.</summary>
    internal static void MultiplyAddBias<T>(ReadOnlySpan<T> a, bool transA, ReadOnlySpan<T> b, bool transB, ReadOnlySpan<T> bias, Span<T> c, int m, int n, int k,
        bool rowInvariant)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (bias.Length < n) throw new ArgumentException($"Gemm: the bias holds {bias.Length} values, fewer than the {n} columns of C.", nameof(bias));
        Multiply(a, transA, b, transB, c, m, n, k, accumulate: false, n == 0 ? ReadOnlySpan<T>.Empty : bias[..n], rowInvariant);
    }

    private static void Multiply<T>(ReadOnlySpan<T> a, bool transA, ReadOnlySpan<T> b, bool transB, Span<T> c, int m, int n, int k, bool accumulate, ReadOnlySpan<T> bias,
        bool rowInvariant = false)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentOutOfRangeException(nameof(m), $"Gemm: negative size M={m}, N={n}, K={k}.");
        string Shape(bool t, int r, int cc) => t ? $"[{cc}, {r}] (transposed)" : $"[{r}, {cc}]";
        if (a.Length < m * k) throw new ArgumentException($"Gemm: A holds {a.Length} values, fewer than shape {Shape(transA, m, k)} needs.", nameof(a));
        if (b.Length < k * n) throw new ArgumentException($"Gemm: B holds {b.Length} values, fewer than shape {Shape(transB, k, n)} needs.", nameof(b));
        if (c.Length < m * n) throw new ArgumentException($"Gemm: C holds {c.Length} values, fewer than shape [{m}, {n}] needs.", nameof(c));
        if (m == 0 || n == 0) return;
        bool hasBias = !bias.IsEmpty;
        if (k == 0)
        {
            if (hasBias) Elementwise.BroadcastRows(bias, c[..(m * n)], m, n);
            else if (!accumulate) c[..(m * n)].Clear();
            return;
        }
        var buffers = Buffers<T>.ForThisThread;
        GemmPath path = rowInvariant ? (transB && !transA ? GemmPath.Dots : GemmPath.SmallM)
            : PathOverride != GemmPath.Auto ? PathOverride : Choose(m, n, k, transA, transB);
        switch (path)
        {
            case GemmPath.SmallK:
            case GemmPath.SmallM:
            {
                // C[i, :] = Σ_p op(A)_ip · op(B)[p, :] needs the rows of op(B) contiguous: B stored [N, K] is
                // transposed once, which is cheap exactly when this path is chosen for it (K ≤ 8).
                ReadOnlySpan<T> bRows = transB ? Transpose(b, n, k, buffers.Temp(0, k * n)) : b;
                GemmSkinny.RowTimesMatrix(a, transA ? 1 : k, transA ? m : 1, bRows, c, m, n, k, accumulate, bias);
                break;
            }
            case GemmPath.Dots:
            {
                if (hasBias) accumulate = BroadcastBias(bias, c, m, n);
                // C_ij = ⟨row i of op(A), column j of op(B)⟩: both need K contiguous.
                ReadOnlySpan<T> aRows = transA ? Transpose(a, k, m, buffers.Temp(0, m * k)) : a;
                ReadOnlySpan<T> bCols = transB ? b : Transpose(b, k, n, buffers.Temp(1, k * n));
                GemmSkinny.Dots(aRows, bCols, c, m, n, k, accumulate, rowInvariant);
                break;
            }
            case GemmPath.TransposedSmallM:
            {
                if (hasBias) accumulate = BroadcastBias(bias, c, m, n);
                // Cᵀ = op(B)ᵀ·op(A)ᵀ has few rows, and the rows of op(A)ᵀ are rows of A as stored [K, M].
                ReadOnlySpan<T> aT = transA ? a : Transpose(a, m, k, buffers.Temp(0, m * k));
                Span<T> ct = buffers.Temp(1, n * m);
                GemmSkinny.RowTimesMatrix(b, transB ? k : 1, transB ? 1 : n, aT, ct, n, m, k, accumulate: false);
                for (int j = 0; j < n; j++)
                for (int i = 0; i < m; i++)
                    c[i * n + j] = accumulate ? c[i * n + j] + ct[j * m + i] : ct[j * m + i];
                break;
            }
            default:
                Packed(a, transA, b, transB, c, m, n, k, accumulate, bias, IsaOverride ?? BestIsa, buffers);
                break;
        }
    }

    /// <summary>For the paths that add the bias the plain way: C ← 1·biasᵀ, after which they accumulate (returns true).</summary>
    private static bool BroadcastBias<T>(ReadOnlySpan<T> bias, Span<T> c, int m, int n) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Elementwise.BroadcastRows(bias, c[..(m * n)], m, n);
        return true;
    }

    internal static GemmPath Choose(int m, int n, int k, bool transA, bool transB)
    {
        // A few rows (acting on one observation): dot products against B's rows when B is stored [N, K], so nothing is
        // transposed; otherwise rows of B are already contiguous.
        if (m <= SmallMMax) return transB ? GemmPath.Dots : GemmPath.SmallM;
        if (k <= SmallKMax) return GemmPath.SmallK;
        if (n <= SmallNMax) return transA ? GemmPath.TransposedSmallM : GemmPath.Dots;
        return GemmPath.Packed;
    }

    private static void Packed<T>(ReadOnlySpan<T> a, bool transA, ReadOnlySpan<T> b, bool transB, Span<T> c,
        int m, int n, int k, bool accumulate, ReadOnlySpan<T> bias, GemmIsa isa, Buffers<T> buffers)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int w = isa switch { GemmIsa.Vector512 => Vector512<T>.Count, GemmIsa.Vector256 => Vector256<T>.Count, _ => 4 };
        int mrMax = isa == GemmIsa.Vector512 ? 8 : isa == GemmIsa.Vector256 ? 6 : 4;
        int nrMax = 2 * w;
        // op(A) is read in place through strides (A(i, p) = a[i·ars + p·acs]); only a partial last panel of MR rows is
        // packed, zero-padded (measured: packing all of A never paid by more than the noise, and lost up to 1.4× on the
        // MLP shapes, where A is tall and thin). op(B) must give NR contiguous values per k step: B stored [K, N] does,
        // in place; B stored [N, K] is packed. B is also packed when its panels are reused by several MC blocks of rows,
        // and when they are deep (K > 128): a panel read in place with a row stride of 2^j bytes maps into a fraction of
        // L1's sets and evicts itself.
        bool packAllB = transB || m > MC || k > 128;
        // A stored [K, M] gives MR contiguous values per k step but a new cache line every step, which crowds B's
        // micro-panel out of L1; packing pays once many panels of B reuse the block (Pong's dW: 1.15× → see RESULTS).
        bool packAllA = transA && n >= PackATransposedMinN;
        int KC = isa == GemmIsa.Vector512 ? KcZmm : KcYmm;
        if (isa != GemmIsa.Scalar && !transA && k > KC)
        {
            // Rows of A read in place are streams of kc contiguous values: longer streams and fewer passes over C pay
            // while the packed block of B stays within KcYmm × NC values (Pong's forward, K = 6400: three blocks of 2136;
            // 1000×6400×200 NT 0.984–0.997 → 0.939–0.961× OpenBLAS's time). Blocks are equal, multiples of 8. The same
            // bound for the 512-bit kernel (its KcZmm = 256 otherwise; Zen 4, best of the peak mode's timings, two runs
            // each: Pong's forward 82–83 → 84 % of peak, 1024² NN two blocks of 512: 89–91 → 94 %).
            int cap = Math.Min(KcInPlaceMax, KcYmm * NC / RoundUp(Math.Min(n, NC), nrMax));
            int blocks = (k + cap - 1) / cap;
            KC = Math.Max(KC, RoundUp((k + blocks - 1) / blocks, 8));
        }
        Span<T> packB = buffers.PackB(KC * (packAllB ? RoundUp(Math.Min(n, NC), nrMax) : nrMax));
        // When several NC blocks of columns reuse a packed Aᵀ, it is packed once for all of them (block (pc, ic) at
        // pc·mPad + ic·kc) instead of once per block: Pong's dW (5 column blocks) 1.038 → 1.018–1.027× OpenBLAS's time.
        int mPad = RoundUp(m, mrMax);
        bool packAOnce = packAllA && n > NC && (long)mPad * k <= PackAOnceMaxValues;
        Span<T> edgeA = buffers.PackA(packAOnce ? mPad * k : KC * (packAllA ? RoundUp(Math.Min(m, MC), mrMax) : mrMax));
        ref T a0 = ref MemoryMarshal.GetReference(a), b0 = ref MemoryMarshal.GetReference(b), c0 = ref MemoryMarshal.GetReference(c);
        bool hasBias = !bias.IsEmpty;
        ref T bias0 = ref MemoryMarshal.GetReference(bias);
        for (int jc = 0; jc < n; jc += NC)
        {
            int nc = Math.Min(NC, n - jc);
            int ncFull = nc / nrMax * nrMax;
            for (int pc = 0; pc < k; pc += KC)
            {
                int kc = Math.Min(KC, k - pc);
                // Each tile adds C's previous value (accumulating, or a later depth block), or in the first depth
                // block the bias row (stride 0: the same row for every row of the tile).
                bool add = accumulate || pc > 0 || hasBias;
                bool addBias = hasBias && pc == 0;
                nint addLd = addBias ? 0 : n;
                if (packAllB) PackB(b, transB, k, n, pc, kc, jc, nc, nrMax, packB);
                else if (ncFull < nc) PackB(b, transB, k, n, pc, kc, jc + ncFull, nc - ncFull, nrMax, packB);
                for (int ic = 0; ic < m; ic += MC)
                {
                    int mc = Math.Min(MC, m - ic);
                    // The 256-bit kernels end a block of rows with 4-row tiles where that wastes less than one more 6-row
                    // tile: 6q + 1 rows as 6(q − 1) + 4 + 3, 6q + 2 as 6(q − 1) + 4 + 4 (Pong's dW: 80 = 12·6 + 2·4, where
                    // a 2-row tile cost what a 4-row one does), 6q + 3 and 6q + 4 as 6q + one tile. The 4-row kernel
                    // reads its rows in place (rows past mr are never read); 6q + 5 pads a last 6-row panel instead.
                    int rem = mc % mrMax;
                    int tail = isa != GemmIsa.Vector256 ? 0 : rem switch { 1 => mc >= 7 ? 7 : 1, 2 => mc >= 8 ? 8 : 2, 3 or 4 => rem, _ => 0 };
                    int sixEnd = mc - tail;
                    int mcFull = packAllA ? 0 : tail > 0 ? sixEnd : mc / mrMax * mrMax;
                    int aBase = packAOnce ? pc * mPad + ic * kc : 0;
                    if (!packAOnce || jc == 0)
                    {
                        if (packAllA)
                        {
                            // Aᵀ packed whole: 6-row panels, then the tail's 4-row panels from row sixEnd (panel at ir·kc either way).
                            PackA(a, transA, m, k, ic, sixEnd, pc, kc, mrMax, edgeA[aBase..]);
                            if (tail > 0) PackA(a, transA, m, k, ic + sixEnd, tail, pc, kc, 4, edgeA[(aBase + sixEnd * kc)..]);
                        }
                        else if (mcFull < mc && tail == 0) PackA(a, transA, m, k, ic + mcFull, mc - mcFull, pc, kc, mrMax, edgeA);
                    }
                    for (int jr = 0; jr < nc; jr += nrMax)
                    {
                        int nr = Math.Min(nrMax, nc - jr);
                        bool bInPlace = !packAllB && nr == nrMax;
                        ref T bp = ref bInPlace ? ref Unsafe.Add(ref b0, pc * n + jc + jr) : ref packB[packAllB ? jr * kc : 0];
                        nint bps = bInPlace ? n : nrMax;
                        for (int ir = 0; ir < mc; ir += ir < sixEnd ? mrMax : 4)
                        {
                            int mr = Math.Min(ir < sixEnd ? mrMax : 4, mc - ir);
                            bool aInPlace = !packAllA && (ir < mcFull || tail > 0);
                            ref T ap = ref aInPlace ? ref Unsafe.Add(ref a0, transA ? pc * m + ic + ir : (ic + ir) * k + pc) : ref edgeA[aBase + (ir - mcFull) * kc];
                            nint ars = aInPlace && !transA ? k : 1, acs = !aInPlace ? (ir < sixEnd ? mrMax : 4) : transA ? m : 1;
                            ref T cTile = ref Unsafe.Add(ref c0, (ic + ir) * n + jc + jr);
                            ref T addend = ref addBias ? ref Unsafe.Add(ref bias0, jc + jr) : ref cTile;
                            switch (isa)
                            {
                                case GemmIsa.Vector512 when nr <= w: MicroKernels.Kernel512Narrow(kc, ref ap, ars, acs, ref bp, bps, ref cTile, n, ref addend, addLd, mr, nr, add); break;
                                case GemmIsa.Vector512: MicroKernels.Kernel512(kc, ref ap, ars, acs, ref bp, bps, ref cTile, n, ref addend, addLd, mr, nr, add); break;
                                case GemmIsa.Vector256 when mr <= 4: MicroKernels.Kernel256<T, MicroKernels.FourRows>(kc, ref ap, ars, acs, ref bp, bps, ref cTile, n, ref addend, addLd, mr, nr, add); break;
                                case GemmIsa.Vector256 when nr <= w: MicroKernels.Kernel256Narrow(kc, ref ap, ars, acs, ref bp, bps, ref cTile, n, ref addend, addLd, mr, nr, add); break;
                                case GemmIsa.Vector256: MicroKernels.Kernel256<T, MicroKernels.SixRows>(kc, ref ap, ars, acs, ref bp, bps, ref cTile, n, ref addend, addLd, mr, nr, add); break;
                                default: MicroKernels.KernelScalar(kc, ref ap, ars, acs, ref bp, bps, ref cTile, n, ref addend, addLd, mrMax, nrMax, mr, nr, add); break;
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>Packs op(B)[pc..pc+kc, jc..jc+nc) into panels of NR columns: panel at jr·kc, element (p, j) at p·NR + j; zero-padded.</summary>
    private static void PackB<T>(ReadOnlySpan<T> b, bool transB, int k, int n, int pc, int kc, int jc, int nc, int nr, Span<T> dst)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ref T b0 = ref MemoryMarshal.GetReference(b);
        ref T d = ref MemoryMarshal.GetReference(dst);
        int full = nc / nr * nr;
        if (full < nc) dst.Slice(full * kc, kc * nr).Clear();
        if (!transB)
        {
            // B stored [K, N]: eight source rows at a time are dealt out to the panels, so each panel receives eight
            // consecutive k steps (512 contiguous bytes of floats) per visit instead of one 64-byte row: the stores
            // fill whole runs of lines rather than touching every panel's page once per row (Pong's dW: packing
            // 4.0 → 3.0–3.4 ms of 32, measured). Remaining rows go one at a time.
            int w = Vector256<T>.Count;
            bool vectors = Vector256.IsHardwareAccelerated && nr % w == 0;
            const int Rows = 8;
            int pGrouped = vectors ? kc / Rows * Rows : 0;
            for (int p0 = 0; p0 < pGrouped; p0 += Rows)
            {
                ref T src = ref Unsafe.Add(ref b0, (pc + p0) * n + jc);
                for (int jr = 0; jr < full; jr += nr)
                {
                    ref T t = ref Unsafe.Add(ref d, jr * kc + p0 * nr);
                    for (int q = 0; q < Rows; q++)
                    {
                        ref T s = ref Unsafe.Add(ref src, q * n + jr);
                        for (int v = 0; v < nr; v += w) Vector256.LoadUnsafe(ref s, (nuint)v).StoreUnsafe(ref t, (nuint)(q * nr + v));
                    }
                }
                for (int q = 0; q < Rows; q++)
                    for (int j = full; j < nc; j++) Unsafe.Add(ref d, full * kc + (p0 + q) * nr + j - full) = Unsafe.Add(ref src, q * n + j);
            }
            for (int p = pGrouped; p < kc; p++)
            {
                ref T src = ref Unsafe.Add(ref b0, (pc + p) * n + jc);
                for (int jr = 0; jr < full; jr += nr)
                {
                    ref T s = ref Unsafe.Add(ref src, jr);
                    ref T t = ref Unsafe.Add(ref d, jr * kc + p * nr);
                    if (vectors)
                        for (int v = 0; v < nr; v += w) Vector256.LoadUnsafe(ref s, (nuint)v).StoreUnsafe(ref t, (nuint)v);
                    else
                        for (int j = 0; j < nr; j++) Unsafe.Add(ref t, j) = Unsafe.Add(ref s, j);
                }
                for (int j = full; j < nc; j++) Unsafe.Add(ref d, full * kc + p * nr + j - full) = Unsafe.Add(ref src, j);
            }
        }
        else
        {
            // B stored [N, K]: column j of op(B) is row j of B. Full 8 × 8 float blocks are transposed in registers;
            // the rest is read along p and scattered with stride NR.
            int jDone = 0;
            if (typeof(T) == typeof(float) && Avx.IsSupported && nr % 8 == 0)
            {
                jDone = nc / 8 * 8;
                int pDone = kc / 8 * 8;
                for (int j = 0; j < jDone; j += 8)
                {
                    ref float src = ref Unsafe.As<T, float>(ref Unsafe.Add(ref b0, (jc + j) * k + pc));
                    ref float dj = ref Unsafe.As<T, float>(ref Unsafe.Add(ref d, j / nr * nr * kc + j % nr));
                    for (int p = 0; p < pDone; p += 8) Transpose8x8(ref Unsafe.Add(ref src, p), k, ref Unsafe.Add(ref dj, p * nr), nr);
                    for (int jj = 0; jj < 8; jj++)
                        for (int p = pDone; p < kc; p++) Unsafe.Add(ref dj, p * nr + jj) = Unsafe.Add(ref src, jj * k + p);
                }
            }
            for (int j = jDone; j < nc; j++)
            {
                ref T src = ref Unsafe.Add(ref b0, (jc + j) * k + pc);
                ref T dj = ref Unsafe.Add(ref d, j / nr * nr * kc + j % nr);
                for (int p = 0; p < kc; p++) Unsafe.Add(ref dj, p * nr) = Unsafe.Add(ref src, p);
            }
        }
    }

    /// <summary>dst[q·dstStride + r] = src[r·srcStride + q] for an 8 × 8 float block: unpack, shuffle, lane permute.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(ref float src, int srcStride, ref float dst, int dstStride)
    {
        Vector256<float> r0 = Vector256.LoadUnsafe(ref src), r1 = Vector256.LoadUnsafe(ref src, (nuint)srcStride);
        Vector256<float> r2 = Vector256.LoadUnsafe(ref src, (nuint)(2 * srcStride)), r3 = Vector256.LoadUnsafe(ref src, (nuint)(3 * srcStride));
        Vector256<float> r4 = Vector256.LoadUnsafe(ref src, (nuint)(4 * srcStride)), r5 = Vector256.LoadUnsafe(ref src, (nuint)(5 * srcStride));
        Vector256<float> r6 = Vector256.LoadUnsafe(ref src, (nuint)(6 * srcStride)), r7 = Vector256.LoadUnsafe(ref src, (nuint)(7 * srcStride));
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> s0 = Avx.Shuffle(t0, t2, 0x44), s1 = Avx.Shuffle(t0, t2, 0xEE), s2 = Avx.Shuffle(t1, t3, 0x44), s3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> s4 = Avx.Shuffle(t4, t6, 0x44), s5 = Avx.Shuffle(t4, t6, 0xEE), s6 = Avx.Shuffle(t5, t7, 0x44), s7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Permute2x128(s0, s4, 0x20).StoreUnsafe(ref dst);
        Avx.Permute2x128(s1, s5, 0x20).StoreUnsafe(ref dst, (nuint)dstStride);
        Avx.Permute2x128(s2, s6, 0x20).StoreUnsafe(ref dst, (nuint)(2 * dstStride));
        Avx.Permute2x128(s3, s7, 0x20).StoreUnsafe(ref dst, (nuint)(3 * dstStride));
        Avx.Permute2x128(s0, s4, 0x31).StoreUnsafe(ref dst, (nuint)(4 * dstStride));
        Avx.Permute2x128(s1, s5, 0x31).StoreUnsafe(ref dst, (nuint)(5 * dstStride));
        Avx.Permute2x128(s2, s6, 0x31).StoreUnsafe(ref dst, (nuint)(6 * dstStride));
        Avx.Permute2x128(s3, s7, 0x31).StoreUnsafe(ref dst, (nuint)(7 * dstStride));
    }

    /// <summary>Packs op(A)[ic..ic+mc, pc..pc+kc) into panels of MR rows: panel at ir·kc, element (i, p) at p·MR + i; zero-padded.</summary>
    private static void PackA<T>(ReadOnlySpan<T> a, bool transA, int m, int k, int ic, int mc, int pc, int kc, int mr, Span<T> dst)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ref T a0 = ref MemoryMarshal.GetReference(a);
        for (int ir = 0; ir < mc; ir += mr)
        {
            int rows = Math.Min(mr, mc - ir);
            Span<T> panel = dst.Slice(ir * kc, kc * mr);
            if (rows < mr) panel.Clear();
            ref T d = ref MemoryMarshal.GetReference(panel);
            if (!transA)
            {
                for (int i = 0; i < rows; i++)
                {
                    ref T src = ref Unsafe.Add(ref a0, (ic + ir + i) * k + pc);
                    ref T di = ref Unsafe.Add(ref d, i);
                    for (int p = 0; p < kc; p++) Unsafe.Add(ref di, p * mr) = Unsafe.Add(ref src, p);
                }
            }
            else
            {
                // A stored [K, M]: the MR values of step p are contiguous in row pc + p. Six floats move as one 8-wide
                // load and store (the next step's store overwrites the two extra) while the load stays inside A and the
                // store inside the panel (the last step of a panel, or a row near A's end, goes value by value).
                int pDone = 0;
                if (typeof(T) == typeof(float) && Vector256.IsHardwareAccelerated && mr == 6 && rows == 6)
                {
                    ref float af = ref Unsafe.As<T, float>(ref a0);
                    ref float df = ref Unsafe.As<T, float>(ref d);
                    pDone = kc - 1;
                    while (pDone > 0 && (nint)(pc + pDone - 1) * m + ic + ir + 8 > (nint)m * k) pDone--;
                    for (int p = 0; p < pDone; p++)
                        Vector256.LoadUnsafe(ref af, (nuint)((pc + p) * m + ic + ir)).StoreUnsafe(ref df, (nuint)(p * 6));
                }
                for (int p = pDone; p < kc; p++)
                {
                    ref T src = ref Unsafe.Add(ref a0, (pc + p) * m + ic + ir);
                    ref T dp = ref Unsafe.Add(ref d, p * mr);
                    for (int i = 0; i < rows; i++) Unsafe.Add(ref dp, i) = Unsafe.Add(ref src, i);
                }
            }
        }
    }

    /// <summary>dst[c·rows + r] = src[r·cols + c]: the [cols, rows] transpose of a [rows, cols] matrix.</summary>
    internal static ReadOnlySpan<T> Transpose<T>(ReadOnlySpan<T> src, int rows, int cols, Span<T> dst)
    {
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<T> row = src.Slice(r * cols, cols);
            for (int c = 0; c < cols; c++) dst[c * rows + r] = row[c];
        }
        return dst;
    }

    private static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;

    /// <summary>Per-thread packing and transpose buffers, grown on demand and then reused: steady state allocates nothing.</summary>
    private sealed class Buffers<T>
    {
        private T[] _packA = [], _packB = [], _temp0 = [], _temp1 = [];

        [ThreadStatic] private static Buffers<T>? t_instance;

        public static Buffers<T> ForThisThread => t_instance ??= new Buffers<T>();

        public Span<T> PackA(int n) => GrowAligned(ref _packA, n);
        public Span<T> PackB(int n) => GrowAligned(ref _packB, n);
        public Span<T> Temp(int which, int n) => which == 0 ? Grow(ref _temp0, n) : Grow(ref _temp1, n);

        private static Span<T> Grow(ref T[] buffer, int n)
        {
            if (buffer.Length < n) buffer = new T[n];
            return buffer.AsSpan(0, n);
        }

        /// <summary>
        /// A span that starts on a 64-byte boundary: a packed panel holds NR values (64 bytes of floats) per k step, and
        /// a vector load that straddles two cache lines costs two. The array is pinned so the boundary stays put.
        /// </summary>
        private static unsafe Span<T> GrowAligned(ref T[] buffer, int n)
        {
            int slack = 64 / Unsafe.SizeOf<T>();
            if (buffer.Length < n + slack) buffer = GC.AllocateUninitializedArray<T>(n + slack, pinned: true);
            nuint address = (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
            int skip = (int)((64 - address % 64) % 64) / Unsafe.SizeOf<T>();
            return buffer.AsSpan(skip, n);
        }
    }
}
