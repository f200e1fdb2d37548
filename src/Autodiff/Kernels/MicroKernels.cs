using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace PurePg.Autodiff.Kernels;

/// <summary>
/// Register-tile micro-kernels of the blocked GEMM. Each computes one MR × NR tile of C from MR rows of op(A) and
/// NR columns of op(B) — packed panels, or the operands read in place through strides — keeping the tile in registers:
/// 6 × 2 Vector256 accumulators (12 of 16 ymm) or 8 × 2 Vector512 accumulators (16 of 32 zmm), one FMA per
/// accumulator per k step. The unrolled rows are deliberate: the JIT keeps locals in registers, not arrays.
/// </summary>
internal static class MicroKernels
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<T> Fma<T>(Vector256<T> a, Vector256<T> b, Vector256<T> c)
    {
        if (typeof(T) == typeof(float)) return Vector256.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector256.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        throw new NotSupportedException(typeof(T).Name);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<T> Fma<T>(Vector512<T> a, Vector512<T> b, Vector512<T> c)
    {
        if (typeof(T) == typeof(float)) return Vector512.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector512.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        throw new NotSupportedException(typeof(T).Name);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(ref T c, int w, Vector256<T> v0, Vector256<T> v1, bool add) => Store(ref c, ref c, w, v0, v1, add);

    /// <summary>c[0..2w) ← v (+ addend[0..2w) when <paramref name="add"/>): the addend is C itself, or a bias row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(ref T c, ref T addend, int w, Vector256<T> v0, Vector256<T> v1, bool add)
    {
        if (add)
        {
            v0 += Vector256.LoadUnsafe(ref addend);
            v1 += Vector256.LoadUnsafe(ref addend, (nuint)w);
        }
        v0.StoreUnsafe(ref c);
        v1.StoreUnsafe(ref c, (nuint)w);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(ref T c, int w, Vector512<T> v0, Vector512<T> v1, bool add) => Store(ref c, ref c, w, v0, v1, add);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(ref T c, ref T addend, int w, Vector512<T> v0, Vector512<T> v1, bool add)
    {
        if (add)
        {
            v0 += Vector512.LoadUnsafe(ref addend);
            v1 += Vector512.LoadUnsafe(ref addend, (nuint)w);
        }
        v0.StoreUnsafe(ref c);
        v1.StoreUnsafe(ref c, (nuint)w);
    }

    /// <summary>
    /// Asks for the C tile's cache lines while the k loop runs, so its load-add-store at the end does not wait on
    /// memory: a C too big for L2 (Pong's dW is 5 MB, updated once per KC block) otherwise costs a miss per row per call.
    /// Skipped for short loops, where the prefetches would not be hidden: at kc = 64 (the MLP's 64-wide layers) asking
    /// cost 2 % of the product (2048×64×64 NT 0.768 → 0.752× OpenBLAS without it, measured interleaved).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PrefetchTile<T>(ref T c, int ldc, int mr, int rowBytes, int kc)
    {
        if (kc < 128 || !Sse.IsSupported) return;
        for (int r = 0; r < mr; r++)
        {
            byte* row = (byte*)Unsafe.AsPointer(ref Unsafe.Add(ref c, r * ldc));
            Sse.Prefetch0(row);
            Sse.Prefetch0(row + rowBytes - 1);
        }
    }

    /// <summary>
    /// Writes the top-left mr × nr corner of a full tile (row stride <paramref name="tileStride"/>) into C, plus the
    /// addend's rows (row stride <paramref name="addLd"/>: C itself, or 0 for a bias row) when <paramref name="add"/>.
    /// </summary>
    private static void CopyTile<T>(ReadOnlySpan<T> tile, int tileStride, ref T c, int ldc, ref T addend, nint addLd, int mr, int nr, bool add)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int r = 0; r < mr; r++)
        {
            ReadOnlySpan<T> src = tile.Slice(r * tileStride, nr);
            Span<T> dst = MemoryMarshal.CreateSpan(ref Unsafe.Add(ref c, r * ldc), nr);
            if (add) System.Numerics.Tensors.TensorPrimitives.Add(MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref addend, r * addLd), nr), src, dst);
            else src.CopyTo(dst);
        }
    }

    /// <summary>Portable fallback with the same operand conventions, for hardware without 256-bit FMA.</summary>
    internal static void KernelScalar<T>(int kc, ref T a, nint ars, nint acs, ref T b, nint bps, ref T c, int ldc, ref T addend, nint addLd, int MR, int NR, int mr, int nr, bool add)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Span<T> acc = stackalloc T[MR * NR];
        acc.Clear();
        for (int p = 0; p < kc; p++)
        {
            ref T ap = ref Unsafe.Add(ref a, p * acs);
            ref T bp = ref Unsafe.Add(ref b, p * bps);
            for (int r = 0; r < MR; r++)
            {
                T ar = Unsafe.Add(ref ap, r * ars);
                Span<T> row = acc.Slice(r * NR, NR);
                for (int j = 0; j < NR; j++) row[j] = T.FusedMultiplyAdd(ar, Unsafe.Add(ref bp, j), row[j]);
            }
        }
        CopyTile<T>(acc, NR, ref c, ldc, ref addend, addLd, mr, nr, add);
    }


    /// <summary>How many rows of C a register tile holds: a type argument, so the JIT compiles each count as its own kernel.</summary>
    internal interface ITileRows { static abstract int Rows { get; } }

    /// <summary>The full tile: 6 rows × 2 vectors is 12 of the 16 ymm registers as accumulators.</summary>
    internal readonly struct SixRows : ITileRows { public static int Rows => 6; }

    /// <summary>
    /// The last one or two tiles of a row block, at most four rows each (M = 64 leaves four after ten 6-row tiles; 6q + 1
    /// and 6q + 2 rows end in two, e.g. Pong's dW block of 80 = 12·6 + 4 + 4): eight accumulators, as many chains as the
    /// FMA units need, so it runs at the full kernel's rate on two thirds of its work; it reads op(A) in place or from a
    /// 4-row packed panel — rows past mr are never read (their pointers repeat row 0, whose results are not stored).
    /// </summary>
    internal readonly struct FourRows : ITileRows { public static int Rows => 4; }

    /// <summary>
    /// R × 2·Vector256&lt;T&gt;.Count register tile, R = <typeparamref name="TRows"/>.Rows (6, or 4 for a last tile):
    /// C[0..mr, 0..nr) (+)= Σ_p A(i, p)·B(p, j) over kc steps, with A(i, p) = a[i·ars + p·acs] (a packed panel, or op(A)
    /// read in place) and B(p, j..j+2w) = b[p·bps ..] contiguous; "+" adds addend[i·addLd + j] (C itself, or a bias row
    /// with addLd = 0) when <paramref name="add"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit] // see Kernel512's remark
    internal static void Kernel256<T, TRows>(int kc, ref T a, nint ars, nint acs, ref T b, nint bps, ref T c, int ldc, ref T addend, nint addLd, int mr, int nr, bool add)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TRows : struct, ITileRows
    {
        int w = Vector256<T>.Count;
        bool six = TRows.Rows == 6; // a constant in each compiled kernel: the branches on it fold away
        Vector256<T> c00 = default, c01 = default;
        Vector256<T> c10 = default, c11 = default;
        Vector256<T> c20 = default, c21 = default;
        Vector256<T> c30 = default, c31 = default;
        Vector256<T> c40 = default, c41 = default;
        Vector256<T> c50 = default, c51 = default;
        ref T a0 = ref a;
        ref T a1 = ref six || mr > 1 ? ref Unsafe.Add(ref a0, ars) : ref a0;
        ref T a2 = ref six || mr > 2 ? ref Unsafe.Add(ref a0, 2 * ars) : ref a0;
        ref T a3 = ref six || mr > 3 ? ref Unsafe.Add(ref a0, 3 * ars) : ref a0;
        ref T a4 = ref six ? ref Unsafe.Add(ref a0, 4 * ars) : ref a0;
        ref T a5 = ref six ? ref Unsafe.Add(ref a0, 5 * ars) : ref a0;
        // One offset into A and one into B advance per step, the row bases stay put: two adds per step where
        // advancing six row pointers took seven (the loop was close to the dispatch width).
        nint oa = 0, ob = 0, oaEnd = kc * acs;
        PrefetchTile(ref c, ldc, mr, 2 * w * Unsafe.SizeOf<T>(), kc);
        for (; oa != oaEnd; oa += acs, ob += bps)
        {
            Vector256<T> b0 = Vector256.LoadUnsafe(ref b, (nuint)ob), b1 = Vector256.LoadUnsafe(ref b, (nuint)(ob + w));
            Vector256<T> x;
            x = Vector256.Create(Unsafe.Add(ref a0, oa)); c00 = Fma(x, b0, c00); c01 = Fma(x, b1, c01);
            x = Vector256.Create(Unsafe.Add(ref a1, oa)); c10 = Fma(x, b0, c10); c11 = Fma(x, b1, c11);
            x = Vector256.Create(Unsafe.Add(ref a2, oa)); c20 = Fma(x, b0, c20); c21 = Fma(x, b1, c21);
            x = Vector256.Create(Unsafe.Add(ref a3, oa)); c30 = Fma(x, b0, c30); c31 = Fma(x, b1, c31);
            if (six)
            {
                x = Vector256.Create(Unsafe.Add(ref a4, oa)); c40 = Fma(x, b0, c40); c41 = Fma(x, b1, c41);
                x = Vector256.Create(Unsafe.Add(ref a5, oa)); c50 = Fma(x, b0, c50); c51 = Fma(x, b1, c51);
            }
        }
        if (mr == TRows.Rows && nr == 2 * w)
        {
            Store(ref Unsafe.Add(ref c, 0 * ldc), ref Unsafe.Add(ref addend, 0 * addLd), w, c00, c01, add);
            Store(ref Unsafe.Add(ref c, 1 * ldc), ref Unsafe.Add(ref addend, 1 * addLd), w, c10, c11, add);
            Store(ref Unsafe.Add(ref c, 2 * ldc), ref Unsafe.Add(ref addend, 2 * addLd), w, c20, c21, add);
            Store(ref Unsafe.Add(ref c, 3 * ldc), ref Unsafe.Add(ref addend, 3 * addLd), w, c30, c31, add);
            if (six)
            {
                Store(ref Unsafe.Add(ref c, 4 * ldc), ref Unsafe.Add(ref addend, 4 * addLd), w, c40, c41, add);
                Store(ref Unsafe.Add(ref c, 5 * ldc), ref Unsafe.Add(ref addend, 5 * addLd), w, c50, c51, add);
            }
            return;
        }
        Span<T> tile = stackalloc T[6 * 2 * Vector256<T>.Count];
        ref T t = ref MemoryMarshal.GetReference(tile);
        Store(ref Unsafe.Add(ref t, 0 * 2 * w), w, c00, c01, add: false);
        Store(ref Unsafe.Add(ref t, 1 * 2 * w), w, c10, c11, add: false);
        Store(ref Unsafe.Add(ref t, 2 * 2 * w), w, c20, c21, add: false);
        Store(ref Unsafe.Add(ref t, 3 * 2 * w), w, c30, c31, add: false);
        Store(ref Unsafe.Add(ref t, 4 * 2 * w), w, c40, c41, add: false);
        Store(ref Unsafe.Add(ref t, 5 * 2 * w), w, c50, c51, add: false);
        CopyTile(tile, 2 * w, ref c, ldc, ref addend, addLd, mr, nr, add);
    }

    /// <summary>
    /// 6 × Vector256&lt;T&gt;.Count register tile for a last panel of B at most one vector wide (Pong's N = 200 leaves
    /// 8 columns after twelve 16-wide panels, which the full kernel would compute at half its width). One FMA per row
    /// per k step would leave six dependent chains, fewer than the FMA units' latency × throughput of eight; so even
    /// and odd k steps accumulate separately (twelve chains) and are summed at the end:
    /// C[0..mr, 0..nr) (+)= Σ_p A(i, p)·B(p, j), operands as in <see cref="Kernel256{T, TRows}"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit] // see Kernel512's remark
    internal static void Kernel256Narrow<T>(int kc, ref T a, nint ars, nint acs, ref T b, nint bps, ref T c, int ldc, ref T addend, nint addLd, int mr, int nr, bool add)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int w = Vector256<T>.Count;
        Vector256<T> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        Vector256<T> d0 = default, d1 = default, d2 = default, d3 = default, d4 = default, d5 = default;
        ref T a0 = ref a;
        ref T a1 = ref Unsafe.Add(ref a0, ars);
        ref T a2 = ref Unsafe.Add(ref a1, ars);
        ref T a3 = ref Unsafe.Add(ref a2, ars);
        ref T a4 = ref Unsafe.Add(ref a3, ars);
        ref T a5 = ref Unsafe.Add(ref a4, ars);
        nint oa = 0, ob = 0, oaEnd = kc / 2 * 2 * acs;
        PrefetchTile(ref c, ldc, mr, w * Unsafe.SizeOf<T>(), kc);
        for (; oa != oaEnd; oa += 2 * acs, ob += 2 * bps)
        {
            Vector256<T> b0 = Vector256.LoadUnsafe(ref b, (nuint)ob), b1 = Vector256.LoadUnsafe(ref b, (nuint)(ob + bps));
            nint oa1 = oa + acs;
            c0 = Fma(Vector256.Create(Unsafe.Add(ref a0, oa)), b0, c0); d0 = Fma(Vector256.Create(Unsafe.Add(ref a0, oa1)), b1, d0);
            c1 = Fma(Vector256.Create(Unsafe.Add(ref a1, oa)), b0, c1); d1 = Fma(Vector256.Create(Unsafe.Add(ref a1, oa1)), b1, d1);
            c2 = Fma(Vector256.Create(Unsafe.Add(ref a2, oa)), b0, c2); d2 = Fma(Vector256.Create(Unsafe.Add(ref a2, oa1)), b1, d2);
            c3 = Fma(Vector256.Create(Unsafe.Add(ref a3, oa)), b0, c3); d3 = Fma(Vector256.Create(Unsafe.Add(ref a3, oa1)), b1, d3);
            c4 = Fma(Vector256.Create(Unsafe.Add(ref a4, oa)), b0, c4); d4 = Fma(Vector256.Create(Unsafe.Add(ref a4, oa1)), b1, d4);
            c5 = Fma(Vector256.Create(Unsafe.Add(ref a5, oa)), b0, c5); d5 = Fma(Vector256.Create(Unsafe.Add(ref a5, oa1)), b1, d5);
        }
        if (kc % 2 != 0)
        {
            Vector256<T> b0 = Vector256.LoadUnsafe(ref b, (nuint)ob);
            c0 = Fma(Vector256.Create(Unsafe.Add(ref a0, oa)), b0, c0);
            c1 = Fma(Vector256.Create(Unsafe.Add(ref a1, oa)), b0, c1);
            c2 = Fma(Vector256.Create(Unsafe.Add(ref a2, oa)), b0, c2);
            c3 = Fma(Vector256.Create(Unsafe.Add(ref a3, oa)), b0, c3);
            c4 = Fma(Vector256.Create(Unsafe.Add(ref a4, oa)), b0, c4);
            c5 = Fma(Vector256.Create(Unsafe.Add(ref a5, oa)), b0, c5);
        }
        Span<T> tile = stackalloc T[6 * Vector256<T>.Count];
        ref T t = ref MemoryMarshal.GetReference(tile);
        (c0 + d0).StoreUnsafe(ref t, (nuint)(0 * w));
        (c1 + d1).StoreUnsafe(ref t, (nuint)(1 * w));
        (c2 + d2).StoreUnsafe(ref t, (nuint)(2 * w));
        (c3 + d3).StoreUnsafe(ref t, (nuint)(3 * w));
        (c4 + d4).StoreUnsafe(ref t, (nuint)(4 * w));
        (c5 + d5).StoreUnsafe(ref t, (nuint)(5 * w));
        CopyTile(tile, w, ref c, ldc, ref addend, addLd, mr, nr, add);
    }

    /// <summary>
    /// 8 × Vector512&lt;T&gt;.Count register tile for a last panel of B at most one vector wide — the 512-bit counterpart of
    /// <see cref="Kernel256Narrow{T}"/>: Pong's N = 200 leaves 8 columns after six 32-wide panels, which
    /// <see cref="Kernel512{T}"/> would compute 32 wide (10.7 % of the product wasted, against 3.8 % on the 256-bit
    /// path). Even and odd k steps accumulate separately (sixteen chains) and are summed at the end:
    /// C[0..mr, 0..nr) (+)= Σ_p A(i, p)·B(p, j), operands as in <see cref="Kernel512{T}"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit] // see Kernel512's remark
    internal static void Kernel512Narrow<T>(int kc, ref T a, nint ars, nint acs, ref T b, nint bps, ref T c, int ldc, ref T addend, nint addLd, int mr, int nr, bool add)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int w = Vector512<T>.Count;
        Vector512<T> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        Vector512<T> d0 = default, d1 = default, d2 = default, d3 = default, d4 = default, d5 = default, d6 = default, d7 = default;
        ref T a0 = ref a;
        ref T a1 = ref Unsafe.Add(ref a0, ars);
        ref T a2 = ref Unsafe.Add(ref a1, ars);
        ref T a3 = ref Unsafe.Add(ref a2, ars);
        ref T a4 = ref Unsafe.Add(ref a3, ars);
        ref T a5 = ref Unsafe.Add(ref a4, ars);
        ref T a6 = ref Unsafe.Add(ref a5, ars);
        ref T a7 = ref Unsafe.Add(ref a6, ars);
        nint oa = 0, ob = 0, oaEnd = kc / 2 * 2 * acs;
        PrefetchTile(ref c, ldc, mr, w * Unsafe.SizeOf<T>(), kc);
        for (; oa != oaEnd; oa += 2 * acs, ob += 2 * bps)
        {
            Vector512<T> b0 = Vector512.LoadUnsafe(ref b, (nuint)ob), b1 = Vector512.LoadUnsafe(ref b, (nuint)(ob + bps));
            nint oa1 = oa + acs;
            c0 = Fma(Vector512.Create(Unsafe.Add(ref a0, oa)), b0, c0); d0 = Fma(Vector512.Create(Unsafe.Add(ref a0, oa1)), b1, d0);
            c1 = Fma(Vector512.Create(Unsafe.Add(ref a1, oa)), b0, c1); d1 = Fma(Vector512.Create(Unsafe.Add(ref a1, oa1)), b1, d1);
            c2 = Fma(Vector512.Create(Unsafe.Add(ref a2, oa)), b0, c2); d2 = Fma(Vector512.Create(Unsafe.Add(ref a2, oa1)), b1, d2);
            c3 = Fma(Vector512.Create(Unsafe.Add(ref a3, oa)), b0, c3); d3 = Fma(Vector512.Create(Unsafe.Add(ref a3, oa1)), b1, d3);
            c4 = Fma(Vector512.Create(Unsafe.Add(ref a4, oa)), b0, c4); d4 = Fma(Vector512.Create(Unsafe.Add(ref a4, oa1)), b1, d4);
            c5 = Fma(Vector512.Create(Unsafe.Add(ref a5, oa)), b0, c5); d5 = Fma(Vector512.Create(Unsafe.Add(ref a5, oa1)), b1, d5);
            c6 = Fma(Vector512.Create(Unsafe.Add(ref a6, oa)), b0, c6); d6 = Fma(Vector512.Create(Unsafe.Add(ref a6, oa1)), b1, d6);
            c7 = Fma(Vector512.Create(Unsafe.Add(ref a7, oa)), b0, c7); d7 = Fma(Vector512.Create(Unsafe.Add(ref a7, oa1)), b1, d7);
        }
        if (kc % 2 != 0)
        {
            Vector512<T> b0 = Vector512.LoadUnsafe(ref b, (nuint)ob);
            c0 = Fma(Vector512.Create(Unsafe.Add(ref a0, oa)), b0, c0);
            c1 = Fma(Vector512.Create(Unsafe.Add(ref a1, oa)), b0, c1);
            c2 = Fma(Vector512.Create(Unsafe.Add(ref a2, oa)), b0, c2);
            c3 = Fma(Vector512.Create(Unsafe.Add(ref a3, oa)), b0, c3);
            c4 = Fma(Vector512.Create(Unsafe.Add(ref a4, oa)), b0, c4);
            c5 = Fma(Vector512.Create(Unsafe.Add(ref a5, oa)), b0, c5);
            c6 = Fma(Vector512.Create(Unsafe.Add(ref a6, oa)), b0, c6);
            c7 = Fma(Vector512.Create(Unsafe.Add(ref a7, oa)), b0, c7);
        }
        Span<T> tile = stackalloc T[8 * Vector512<T>.Count];
        ref T t = ref MemoryMarshal.GetReference(tile);
        (c0 + d0).StoreUnsafe(ref t, (nuint)(0 * w));
        (c1 + d1).StoreUnsafe(ref t, (nuint)(1 * w));
        (c2 + d2).StoreUnsafe(ref t, (nuint)(2 * w));
        (c3 + d3).StoreUnsafe(ref t, (nuint)(3 * w));
        (c4 + d4).StoreUnsafe(ref t, (nuint)(4 * w));
        (c5 + d5).StoreUnsafe(ref t, (nuint)(5 * w));
        (c6 + d6).StoreUnsafe(ref t, (nuint)(6 * w));
        (c7 + d7).StoreUnsafe(ref t, (nuint)(7 * w));
        CopyTile(tile, w, ref c, ldc, ref addend, addLd, mr, nr, add);
    }

    /// <summary>
    /// 8 × 2·Vector512&lt;T&gt;.Count register tile: C[0..mr, 0..nr) (+)= Σ_p A(i, p)·B(p, j) over kc steps, with
    /// A(i, p) = a[i·ars + p·acs] (a packed panel, or op(A) read in place) and B(p, j..j+2w) = b[p·bps ..] contiguous.
    /// </summary>
    /// <remarks>
    /// SkipLocalsInit (every kernel has it; the tiles are written whole before they are read) is what keeps the sixteen
    /// accumulators in registers when the JIT has no profile: zeroing this 1 KB stackalloc'd tile is a helper call, which
    /// kills every vector register, and with the tile path after the loop the register allocator then stored each
    /// accumulator to the stack after every FMA inside the loop and reloaded them all at its back edge. With the default
    /// runtime settings the synthesized profile hid it; with DOTNET_TieredPGO=0 or DOTNET_TieredCompilation=0 the 512-bit
    /// GEMM ran at 38–39 % of peak instead of 90–97 % (bench peak; RESULTS.md). Code compiled ahead of time has no
    /// profile either (not measured).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    internal static void Kernel512<T>(int kc, ref T a, nint ars, nint acs, ref T b, nint bps, ref T c, int ldc, ref T addend, nint addLd, int mr, int nr, bool add)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int w = Vector512<T>.Count;
        Vector512<T> c00 = default, c01 = default;
        Vector512<T> c10 = default, c11 = default;
        Vector512<T> c20 = default, c21 = default;
        Vector512<T> c30 = default, c31 = default;
        Vector512<T> c40 = default, c41 = default;
        Vector512<T> c50 = default, c51 = default;
        Vector512<T> c60 = default, c61 = default;
        Vector512<T> c70 = default, c71 = default;
        ref T a0 = ref a;
        ref T a1 = ref Unsafe.Add(ref a0, ars);
        ref T a2 = ref Unsafe.Add(ref a1, ars);
        ref T a3 = ref Unsafe.Add(ref a2, ars);
        ref T a4 = ref Unsafe.Add(ref a3, ars);
        ref T a5 = ref Unsafe.Add(ref a4, ars);
        ref T a6 = ref Unsafe.Add(ref a5, ars);
        ref T a7 = ref Unsafe.Add(ref a6, ars);
        nint oa = 0, ob = 0, oaEnd = kc * acs; // as in Kernel256: one offset per operand
        PrefetchTile(ref c, ldc, mr, 2 * w * Unsafe.SizeOf<T>(), kc);
        for (; oa != oaEnd; oa += acs, ob += bps)
        {
            Vector512<T> b0 = Vector512.LoadUnsafe(ref b, (nuint)ob), b1 = Vector512.LoadUnsafe(ref b, (nuint)(ob + w));
            Vector512<T> x;
            x = Vector512.Create(Unsafe.Add(ref a0, oa)); c00 = Fma(x, b0, c00); c01 = Fma(x, b1, c01);
            x = Vector512.Create(Unsafe.Add(ref a1, oa)); c10 = Fma(x, b0, c10); c11 = Fma(x, b1, c11);
            x = Vector512.Create(Unsafe.Add(ref a2, oa)); c20 = Fma(x, b0, c20); c21 = Fma(x, b1, c21);
            x = Vector512.Create(Unsafe.Add(ref a3, oa)); c30 = Fma(x, b0, c30); c31 = Fma(x, b1, c31);
            x = Vector512.Create(Unsafe.Add(ref a4, oa)); c40 = Fma(x, b0, c40); c41 = Fma(x, b1, c41);
            x = Vector512.Create(Unsafe.Add(ref a5, oa)); c50 = Fma(x, b0, c50); c51 = Fma(x, b1, c51);
            x = Vector512.Create(Unsafe.Add(ref a6, oa)); c60 = Fma(x, b0, c60); c61 = Fma(x, b1, c61);
            x = Vector512.Create(Unsafe.Add(ref a7, oa)); c70 = Fma(x, b0, c70); c71 = Fma(x, b1, c71);
        }
        if (mr == 8 && nr == 2 * w)
        {
            Store(ref Unsafe.Add(ref c, 0 * ldc), ref Unsafe.Add(ref addend, 0 * addLd), w, c00, c01, add);
            Store(ref Unsafe.Add(ref c, 1 * ldc), ref Unsafe.Add(ref addend, 1 * addLd), w, c10, c11, add);
            Store(ref Unsafe.Add(ref c, 2 * ldc), ref Unsafe.Add(ref addend, 2 * addLd), w, c20, c21, add);
            Store(ref Unsafe.Add(ref c, 3 * ldc), ref Unsafe.Add(ref addend, 3 * addLd), w, c30, c31, add);
            Store(ref Unsafe.Add(ref c, 4 * ldc), ref Unsafe.Add(ref addend, 4 * addLd), w, c40, c41, add);
            Store(ref Unsafe.Add(ref c, 5 * ldc), ref Unsafe.Add(ref addend, 5 * addLd), w, c50, c51, add);
            Store(ref Unsafe.Add(ref c, 6 * ldc), ref Unsafe.Add(ref addend, 6 * addLd), w, c60, c61, add);
            Store(ref Unsafe.Add(ref c, 7 * ldc), ref Unsafe.Add(ref addend, 7 * addLd), w, c70, c71, add);
            return;
        }
        Span<T> tile = stackalloc T[8 * 2 * Vector512<T>.Count];
        ref T t = ref MemoryMarshal.GetReference(tile);
        Store(ref Unsafe.Add(ref t, 0 * 2 * w), w, c00, c01, add: false);
        Store(ref Unsafe.Add(ref t, 1 * 2 * w), w, c10, c11, add: false);
        Store(ref Unsafe.Add(ref t, 2 * 2 * w), w, c20, c21, add: false);
        Store(ref Unsafe.Add(ref t, 3 * 2 * w), w, c30, c31, add: false);
        Store(ref Unsafe.Add(ref t, 4 * 2 * w), w, c40, c41, add: false);
        Store(ref Unsafe.Add(ref t, 5 * 2 * w), w, c50, c51, add: false);
        Store(ref Unsafe.Add(ref t, 6 * 2 * w), w, c60, c61, add: false);
        Store(ref Unsafe.Add(ref t, 7 * 2 * w), w, c70, c71, add: false);
        CopyTile(tile, 2 * w, ref c, ldc, ref addend, addLd, mr, nr, add);
    }

}
