using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using static PurePg.Autodiff.Kernels.MicroKernels;

namespace PurePg.Autodiff.Kernels;

/// <summary>
/// GEMM paths for the skinny shapes of RL networks, which would spend more time packing than multiplying:
/// observation layers (K = 4), action heads (N = 2), single-observation acting (M = 1).
/// </summary>
internal static class GemmSkinny
{
    /// <summary>
    /// C[i, :] (+)= Σ_p A(i, p) · B[p, :] with A(i, p) = a[i·sAi + p·sAp] and B row-major [K, N]; with a
    /// <paramref name="bias"/> [N] (and <paramref name="accumulate"/> false), C[i, :] = bias + Σ_p ….
    /// Rows go four at a time (<see cref="FourRows"/>), then two (<see cref="TwoRows"/>); the rest one at a time, four vectors of columns per FMA chain over p.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void RowTimesMatrix<T>(ReadOnlySpan<T> a, int sAi, int sAp, ReadOnlySpan<T> b, Span<T> c, int m, int n, int k, bool accumulate,
        ReadOnlySpan<T> bias = default)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int w = Vector256<T>.Count;
        ref T a0 = ref MemoryMarshal.GetReference(a);
        ref T b0 = ref MemoryMarshal.GetReference(b);
        ref T c0 = ref MemoryMarshal.GetReference(c);
        bool hasBias = !bias.IsEmpty;
        ref T bias0 = ref MemoryMarshal.GetReference(bias);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 4 <= m; i += 4)
                FourRows(ref Unsafe.Add(ref a0, i * sAi), sAi, sAp, ref b0, ref Unsafe.Add(ref c0, i * n), n, k, accumulate, hasBias, ref bias0);
            // two rows left (M = 2 or 3: the action head's dW) still share B's loads, over columns four vectors wide
            if (i + 2 <= m && n >= 4 * w)
            {
                TwoRows(ref Unsafe.Add(ref a0, i * sAi), sAi, sAp, ref b0, ref Unsafe.Add(ref c0, i * n), n, k, accumulate, hasBias, ref bias0);
                i += 2;
            }
        }
        for (; i < m; i++)
        {
            // Each sum starts at zero and gets the bias, then C (accumulating), added after its last product, as FourRows
            // and TwoRows do: a row's result is the same whichever of the three computes it (Tape.BatchInvariant).
            ref T ai = ref Unsafe.Add(ref a0, i * sAi);
            ref T ci = ref Unsafe.Add(ref c0, i * n);
            int j = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                for (; j + 4 * w <= n; j += 4 * w)
                {
                    Vector256<T> s0 = default, s1 = default, s2 = default, s3 = default;
                    ref T bp = ref Unsafe.Add(ref b0, j);
                    for (int p = 0; p < k; p++)
                    {
                        Vector256<T> av = Vector256.Create(Unsafe.Add(ref ai, p * sAp));
                        s0 = Fma(av, Vector256.LoadUnsafe(ref bp), s0);
                        s1 = Fma(av, Vector256.LoadUnsafe(ref bp, (nuint)w), s1);
                        s2 = Fma(av, Vector256.LoadUnsafe(ref bp, (nuint)(2 * w)), s2);
                        s3 = Fma(av, Vector256.LoadUnsafe(ref bp, (nuint)(3 * w)), s3);
                        bp = ref Unsafe.Add(ref bp, n);
                    }
                    if (hasBias)
                    {
                        s0 += Vector256.LoadUnsafe(ref bias0, (nuint)j);
                        s1 += Vector256.LoadUnsafe(ref bias0, (nuint)(j + w));
                        s2 += Vector256.LoadUnsafe(ref bias0, (nuint)(j + 2 * w));
                        s3 += Vector256.LoadUnsafe(ref bias0, (nuint)(j + 3 * w));
                    }
                    Store(ref ci, j, w, s0, s1, accumulate);
                    Store(ref ci, j + 2 * w, w, s2, s3, accumulate);
                }
                for (; j + w <= n; j += w)
                {
                    Vector256<T> s = default;
                    ref T bp = ref Unsafe.Add(ref b0, j);
                    for (int p = 0; p < k; p++)
                    {
                        s = Fma(Vector256.Create(Unsafe.Add(ref ai, p * sAp)), Vector256.LoadUnsafe(ref bp), s);
                        bp = ref Unsafe.Add(ref bp, n);
                    }
                    if (hasBias) s += Vector256.LoadUnsafe(ref bias0, (nuint)j);
                    if (accumulate) s += Vector256.LoadUnsafe(ref ci, (nuint)j);
                    s.StoreUnsafe(ref ci, (nuint)j);
                }
            }
            for (; j < n; j++)
            {
                T s = T.Zero;
                for (int p = 0; p < k; p++) s = T.FusedMultiplyAdd(Unsafe.Add(ref ai, p * sAp), Unsafe.Add(ref b0, p * n + j), s);
                if (hasBias) s += Unsafe.Add(ref bias0, j);
                Unsafe.Add(ref ci, j) = accumulate ? Unsafe.Add(ref ci, j) + s : s;
            }
        }
    }

    /// <summary>
    /// Four rows of C at once, 2·w columns at a time: each load of B's row p serves four rows (8 accumulators), so B is
    /// read once per four rows instead of once per row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FourRows<T>(ref T a, int sAi, int sAp, ref T b0, ref T c, int n, int k, bool accumulate, bool hasBias, ref T bias)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int w = Vector256<T>.Count, j = 0;
        ref T c1 = ref Unsafe.Add(ref c, n), c2 = ref Unsafe.Add(ref c, 2 * n), c3 = ref Unsafe.Add(ref c, 3 * n);
        for (; j + 2 * w <= n; j += 2 * w)
        {
            Vector256<T> s00 = default, s01 = default, s10 = default, s11 = default, s20 = default, s21 = default, s30 = default, s31 = default;
            ref T bp = ref Unsafe.Add(ref b0, j);
            ref T ap = ref a;
            for (int p = 0; p < k; p++)
            {
                Vector256<T> b0v = Vector256.LoadUnsafe(ref bp), b1v = Vector256.LoadUnsafe(ref bp, (nuint)w);
                Vector256<T> x = Vector256.Create(ap);
                s00 = Fma(x, b0v, s00); s01 = Fma(x, b1v, s01);
                x = Vector256.Create(Unsafe.Add(ref ap, sAi));
                s10 = Fma(x, b0v, s10); s11 = Fma(x, b1v, s11);
                x = Vector256.Create(Unsafe.Add(ref ap, 2 * sAi));
                s20 = Fma(x, b0v, s20); s21 = Fma(x, b1v, s21);
                x = Vector256.Create(Unsafe.Add(ref ap, 3 * sAi));
                s30 = Fma(x, b0v, s30); s31 = Fma(x, b1v, s31);
                ap = ref Unsafe.Add(ref ap, sAp);
                bp = ref Unsafe.Add(ref bp, n);
            }
            if (hasBias)
            {
                Vector256<T> bias0 = Vector256.LoadUnsafe(ref bias, (nuint)j), bias1 = Vector256.LoadUnsafe(ref bias, (nuint)(j + w));
                s00 += bias0; s01 += bias1; s10 += bias0; s11 += bias1; s20 += bias0; s21 += bias1; s30 += bias0; s31 += bias1;
            }
            Store(ref c, j, w, s00, s01, accumulate);
            Store(ref c1, j, w, s10, s11, accumulate);
            Store(ref c2, j, w, s20, s21, accumulate);
            Store(ref c3, j, w, s30, s31, accumulate);
        }
        for (; j < n; j++)
        {
            T s0 = T.Zero, s1 = T.Zero, s2 = T.Zero, s3 = T.Zero;
            for (int p = 0; p < k; p++)
            {
                T bv = Unsafe.Add(ref b0, p * n + j);
                ref T ap = ref Unsafe.Add(ref a, p * sAp);
                s0 = T.FusedMultiplyAdd(ap, bv, s0);
                s1 = T.FusedMultiplyAdd(Unsafe.Add(ref ap, sAi), bv, s1);
                s2 = T.FusedMultiplyAdd(Unsafe.Add(ref ap, 2 * sAi), bv, s2);
                s3 = T.FusedMultiplyAdd(Unsafe.Add(ref ap, 3 * sAi), bv, s3);
            }
            if (hasBias)
            {
                T bj = Unsafe.Add(ref bias, j);
                s0 += bj; s1 += bj; s2 += bj; s3 += bj;
            }
            if (accumulate)
            {
                Unsafe.Add(ref c, j) += s0; Unsafe.Add(ref c1, j) += s1; Unsafe.Add(ref c2, j) += s2; Unsafe.Add(ref c3, j) += s3;
            }
            else
            {
                Unsafe.Add(ref c, j) = s0; Unsafe.Add(ref c1, j) = s1; Unsafe.Add(ref c2, j) = s2; Unsafe.Add(ref c3, j) = s3;
            }
        }
    }

    /// <summary>
    /// Two rows of C at once, 4·w columns at a time (M = 2 or 3: the action head's dW = δᵀ·H): eight accumulators, as
    /// many FMA chains as the units need, where one row at a time has four; B's row p is loaded once for both rows.
    /// Columns past the last 4·w block go one vector, then one column, at a time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TwoRows<T>(ref T a, int sAi, int sAp, ref T b0, ref T c, int n, int k, bool accumulate, bool hasBias, ref T bias)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int w = Vector256<T>.Count;
        nint pStep = sAp, bStep = n;
        ref T a1 = ref Unsafe.Add(ref a, sAi);
        ref T c1 = ref Unsafe.Add(ref c, n);
        int j = 0;
        for (; j + 4 * w <= n; j += 4 * w)
        {
            Vector256<T> s00 = default, s01 = default, s02 = default, s03 = default, s10 = default, s11 = default, s12 = default, s13 = default;
            ref T bp = ref Unsafe.Add(ref b0, j);
            nint pa = 0;
            for (int p = 0; p < k; p++, pa += pStep)
            {
                Vector256<T> b0v = Vector256.LoadUnsafe(ref bp), b1v = Vector256.LoadUnsafe(ref bp, (nuint)w);
                Vector256<T> b2v = Vector256.LoadUnsafe(ref bp, (nuint)(2 * w)), b3v = Vector256.LoadUnsafe(ref bp, (nuint)(3 * w));
                Vector256<T> x = Vector256.Create(Unsafe.Add(ref a, pa));
                s00 = Fma(x, b0v, s00); s01 = Fma(x, b1v, s01); s02 = Fma(x, b2v, s02); s03 = Fma(x, b3v, s03);
                x = Vector256.Create(Unsafe.Add(ref a1, pa));
                s10 = Fma(x, b0v, s10); s11 = Fma(x, b1v, s11); s12 = Fma(x, b2v, s12); s13 = Fma(x, b3v, s13);
                bp = ref Unsafe.Add(ref bp, bStep);
            }
            if (hasBias)
            {
                Vector256<T> v0 = Vector256.LoadUnsafe(ref bias, (nuint)j), v1 = Vector256.LoadUnsafe(ref bias, (nuint)(j + w));
                Vector256<T> v2 = Vector256.LoadUnsafe(ref bias, (nuint)(j + 2 * w)), v3 = Vector256.LoadUnsafe(ref bias, (nuint)(j + 3 * w));
                s00 += v0; s01 += v1; s02 += v2; s03 += v3; s10 += v0; s11 += v1; s12 += v2; s13 += v3;
            }
            Store(ref c, j, w, s00, s01, accumulate);
            Store(ref c, j + 2 * w, w, s02, s03, accumulate);
            Store(ref c1, j, w, s10, s11, accumulate);
            Store(ref c1, j + 2 * w, w, s12, s13, accumulate);
        }
        for (; j + w <= n; j += w)
        {
            Vector256<T> s0 = default, s1 = default;
            ref T bp = ref Unsafe.Add(ref b0, j);
            nint pa = 0;
            for (int p = 0; p < k; p++, pa += pStep)
            {
                Vector256<T> bv = Vector256.LoadUnsafe(ref bp);
                s0 = Fma(Vector256.Create(Unsafe.Add(ref a, pa)), bv, s0);
                s1 = Fma(Vector256.Create(Unsafe.Add(ref a1, pa)), bv, s1);
                bp = ref Unsafe.Add(ref bp, bStep);
            }
            if (hasBias)
            {
                Vector256<T> bv = Vector256.LoadUnsafe(ref bias, (nuint)j);
                s0 += bv;
                s1 += bv;
            }
            if (accumulate)
            {
                s0 += Vector256.LoadUnsafe(ref c, (nuint)j);
                s1 += Vector256.LoadUnsafe(ref c1, (nuint)j);
            }
            s0.StoreUnsafe(ref c, (nuint)j);
            s1.StoreUnsafe(ref c1, (nuint)j);
        }
        for (; j < n; j++)
        {
            T s0 = T.Zero, s1 = T.Zero;
            nint pa = 0;
            for (int p = 0; p < k; p++, pa += pStep)
            {
                T bv = Unsafe.Add(ref b0, p * n + j);
                s0 = T.FusedMultiplyAdd(Unsafe.Add(ref a, pa), bv, s0);
                s1 = T.FusedMultiplyAdd(Unsafe.Add(ref a1, pa), bv, s1);
            }
            if (hasBias)
            {
                s0 += Unsafe.Add(ref bias, j);
                s1 += Unsafe.Add(ref bias, j);
            }
            if (accumulate)
            {
                s0 += Unsafe.Add(ref c, j);
                s1 += Unsafe.Add(ref c1, j);
            }
            Unsafe.Add(ref c, j) = s0;
            Unsafe.Add(ref c1, j) = s1;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(ref T row, int j, int w, Vector256<T> v0, Vector256<T> v1, bool accumulate)
    {
        if (accumulate)
        {
            v0 += Vector256.LoadUnsafe(ref row, (nuint)j);
            v1 += Vector256.LoadUnsafe(ref row, (nuint)(j + w));
        }
        v0.StoreUnsafe(ref row, (nuint)j);
        v1.StoreUnsafe(ref row, (nuint)(j + w));
    }

    /// <summary>
    /// C[i, j] (+)= ⟨A[i, :], B[j, :]⟩ for A row-major [M, K] and B row-major [N, K]: four dot products at a time
    /// share each load of A's row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Dots<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int n, int k, bool accumulate, bool rowInvariant = false)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int w = Vector256<T>.Count;
        int kv = Vector256.IsHardwareAccelerated ? k - k % w : 0;
        ref T a0 = ref MemoryMarshal.GetReference(a);
        ref T b0 = ref MemoryMarshal.GetReference(b);
        int first = 0;
        if (typeof(T) == typeof(float) && Avx2.IsSupported && k == 4 && n % 8 == 0)
        {
            DepthFourDots(ref Unsafe.As<T, float>(ref a0), ref Unsafe.As<T, float>(ref b0), ref Unsafe.As<T, float>(ref MemoryMarshal.GetReference(c)), m, n, accumulate);
            return;
        }
        if (typeof(T) == typeof(float) && Avx.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported && k % 8 == 0 && k > 0)
        {
            ref float af = ref Unsafe.As<T, float>(ref a0), bf = ref Unsafe.As<T, float>(ref b0), cf = ref Unsafe.As<T, float>(ref MemoryMarshal.GetReference(c));
            first = n switch
            {
                _ when n % 8 == 0 => EightDots(ref af, ref bf, ref cf, m, n, k, accumulate),
                // BlockDots leaves the rows beyond its last block of rows to the loop below, which sums differently
                _ when rowInvariant => 0,
                1 => BlockDots<OneColumn>(ref af, ref bf, ref cf, m, k, accumulate),
                2 => BlockDots<TwoColumns>(ref af, ref bf, ref cf, m, k, accumulate),
                4 => BlockDots<FourColumns>(ref af, ref bf, ref cf, m, k, accumulate),
                _ => 0,
            };
        }
        for (int i = first; i < m; i++)
        {
            ref T ai = ref Unsafe.Add(ref a0, i * k);
            int j = 0;
            for (; j + 4 <= n; j += 4)
            {
                ref T bj0 = ref Unsafe.Add(ref b0, j * k);
                ref T bj1 = ref Unsafe.Add(ref bj0, k);
                ref T bj2 = ref Unsafe.Add(ref bj1, k);
                ref T bj3 = ref Unsafe.Add(ref bj2, k);
                Vector256<T> s0 = default, s1 = default, s2 = default, s3 = default;
                for (int p = 0; p < kv; p += w)
                {
                    Vector256<T> av = Vector256.LoadUnsafe(ref ai, (nuint)p);
                    s0 = Fma(av, Vector256.LoadUnsafe(ref bj0, (nuint)p), s0);
                    s1 = Fma(av, Vector256.LoadUnsafe(ref bj1, (nuint)p), s1);
                    s2 = Fma(av, Vector256.LoadUnsafe(ref bj2, (nuint)p), s2);
                    s3 = Fma(av, Vector256.LoadUnsafe(ref bj3, (nuint)p), s3);
                }
                T d0 = Vector256.Sum(s0), d1 = Vector256.Sum(s1), d2 = Vector256.Sum(s2), d3 = Vector256.Sum(s3);
                for (int p = kv; p < k; p++)
                {
                    T ap = Unsafe.Add(ref ai, p);
                    d0 = T.FusedMultiplyAdd(ap, Unsafe.Add(ref bj0, p), d0);
                    d1 = T.FusedMultiplyAdd(ap, Unsafe.Add(ref bj1, p), d1);
                    d2 = T.FusedMultiplyAdd(ap, Unsafe.Add(ref bj2, p), d2);
                    d3 = T.FusedMultiplyAdd(ap, Unsafe.Add(ref bj3, p), d3);
                }
                Span<T> ci = c.Slice(i * n + j, 4);
                if (accumulate)
                {
                    ci[0] += d0; ci[1] += d1; ci[2] += d2; ci[3] += d3;
                }
                else
                {
                    ci[0] = d0; ci[1] = d1; ci[2] = d2; ci[3] = d3;
                }
            }
            for (; j < n; j++)
            {
                ref T bj = ref Unsafe.Add(ref b0, j * k);
                Vector256<T> s = default;
                for (int p = 0; p < kv; p += w) s = Fma(Vector256.LoadUnsafe(ref ai, (nuint)p), Vector256.LoadUnsafe(ref bj, (nuint)p), s);
                T d = kv > 0 ? Vector256.Sum(s) : T.Zero;
                for (int p = kv; p < k; p++) d = T.FusedMultiplyAdd(Unsafe.Add(ref ai, p), Unsafe.Add(ref bj, p), d);
                c[i * n + j] = accumulate ? c[i * n + j] + d : d;
            }
        }
    }

    /// <summary>
    /// Eight dot products at a time whose results are contiguous in C, reduced together by horizontal adds into one
    /// vector (one store) instead of one horizontal sum each, float, for N a multiple of 8 (acting, M = 1: y = W·x):
    /// row i of A against rows j … j + 7 of B, sharing each load of A's row. Returns the first row it did not do.
    /// (The action head, N = 1, 2 or 4, is <see cref="BlockDots{TN}"/>.)
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int EightDots(ref float a, ref float b, ref float c, int m, int n, int k, bool accumulate)
    {
        nint k1 = k, k2 = 2 * k, k3 = 3 * k;
        int chunks = k / 8;
        if (t_nonzeroChunks is null || t_nonzeroChunks.Length < chunks) t_nonzeroChunks = new int[Math.Max(chunks, 64)];
        int[] nonzero = t_nonzeroChunks;
        for (int r = 0; r < m; r++)
        {
            ref float ar = ref Unsafe.Add(ref a, r * k);
            // A wide row that is mostly zero (Pong's frame differences: ~24 of 6,400 pixels) skips its all-zero chunks of
            // eight: FMA(0, b, s) = s + (±0) = s, since an accumulator starting at +0 never becomes −0 under round-to-nearest,
            // so the sums are the same bits as the dense loop's (for finite B) — row by row, whatever rows it is batched
            // with. Rows narrower than SparseMinK (hidden layers of MLPs) go straight to the dense loop, unscanned.
            int count = 0;
            if (k >= SparseMinK && !DenseOnly)
                for (int q = 0; q < chunks; q++)
                    if (!Vector256.EqualsAll(Vector256.LoadUnsafe(ref ar, (nuint)(8 * q)), Vector256<float>.Zero)) nonzero[count++] = 8 * q;
            if (k >= SparseMinK && 2 * count < chunks && !DenseOnly)
            {
                for (int j = 0; j < n; j += 8)
                {
                    ref float b0 = ref Unsafe.Add(ref b, j * k);
                    ref float b4 = ref Unsafe.Add(ref b0, 4 * k);
                    Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
                    for (int q = 0; q < count; q++)
                    {
                        nuint p = (nuint)nonzero[q];
                        Vector256<float> av = Vector256.LoadUnsafe(ref ar, p);
                        s0 = Fma(av, Vector256.LoadUnsafe(ref b0, p), s0);
                        s1 = Fma(av, Vector256.LoadUnsafe(ref Unsafe.Add(ref b0, k1), p), s1);
                        s2 = Fma(av, Vector256.LoadUnsafe(ref Unsafe.Add(ref b0, k2), p), s2);
                        s3 = Fma(av, Vector256.LoadUnsafe(ref Unsafe.Add(ref b0, k3), p), s3);
                        s4 = Fma(av, Vector256.LoadUnsafe(ref b4, p), s4);
                        s5 = Fma(av, Vector256.LoadUnsafe(ref Unsafe.Add(ref b4, k1), p), s5);
                        s6 = Fma(av, Vector256.LoadUnsafe(ref Unsafe.Add(ref b4, k2), p), s6);
                        s7 = Fma(av, Vector256.LoadUnsafe(ref Unsafe.Add(ref b4, k3), p), s7);
                    }
                    StoreEightSums(ref Unsafe.Add(ref c, r * n + j), s0, s1, s2, s3, s4, s5, s6, s7, accumulate);
                }
                continue;
            }
            for (int j = 0; j < n; j += 8)
            {
                ref float b0 = ref Unsafe.Add(ref b, j * k);
                ref float b4 = ref Unsafe.Add(ref b0, 4 * k);
                Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
                for (nuint p = 0; p < (nuint)k; p += 8)
                {
                    Vector256<float> av = Vector256.LoadUnsafe(ref ar, p);
                    s0 = Fma(av, Vector256.LoadUnsafe(ref b0, p), s0);
                    s1 = Fma(av, Vector256.LoadUnsafe(ref Unsafe.Add(ref b0, k1), p), s1);
                    s2 = Fma(av, Vector256.LoadUnsafe(ref Unsafe.Add(ref b0, k2), p), s2);
                    s3 = Fma(av, Vector256.LoadUnsafe(ref Unsafe.Add(ref b0, k3), p), s3);
                    s4 = Fma(av, Vector256.LoadUnsafe(ref b4, p), s4);
                    s5 = Fma(av, Vector256.LoadUnsafe(ref Unsafe.Add(ref b4, k1), p), s5);
                    s6 = Fma(av, Vector256.LoadUnsafe(ref Unsafe.Add(ref b4, k2), p), s6);
                    s7 = Fma(av, Vector256.LoadUnsafe(ref Unsafe.Add(ref b4, k3), p), s7);
                }
                StoreEightSums(ref Unsafe.Add(ref c, r * n + j), s0, s1, s2, s3, s4, s5, s6, s7, accumulate);
            }
        }
        return m;
    }

    /// <summary>The narrowest row EightDots scans for zero chunks.</summary>
    private const int SparseMinK = 256;

    /// <summary>Per-thread switch for tests: EightDots never skips zero chunks.</summary>
    [ThreadStatic] internal static bool DenseOnly;

    /// <summary>EightDots' list of a row's nonzero chunks (offsets), per thread.</summary>
    [ThreadStatic] private static int[]? t_nonzeroChunks;

    private interface IColumns { static abstract int N { get; } }
    private readonly struct OneColumn : IColumns { public static int N => 1; }
    private readonly struct TwoColumns : IColumns { public static int N => 2; }
    private readonly struct FourColumns : IColumns { public static int N => 4; }

    /// <summary>
    /// The action head, C = A·Bᵀ with N = <typeparamref name="TN"/>.N ∈ {1, 2, 4} (K a multiple of 8, float): a block of
    /// 8/N rows of C is eight dot products, contiguous in C, computed as eight accumulators (as many FMA chains as the
    /// units need, each load of A's rows serving N products) and finished by one horizontal-add tree and one store.
    /// Row references are one base per four rows plus offsets k, 2k, 3k (so they fit the registers). Returns the first
    /// row it did not do.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int BlockDots<TN>(ref float a, ref float b, ref float c, int m, int k, bool accumulate) where TN : struct, IColumns
    {
        int n = TN.N, rows = 8 / n; // constants in each compiled copy: the branches on n fold away
        nint k1 = k, k2 = 2 * k, k3 = 3 * k;
        ref float b1 = ref Unsafe.Add(ref b, n >= 2 ? k1 : 0); // B's rows (n of them; n = 4 reads rows 2 and 3 at b1 + k, b1 + 2k)
        int i = 0;
        for (; i + rows <= m; i += rows)
        {
            ref float r0 = ref Unsafe.Add(ref a, i * k);
            ref float r4 = ref Unsafe.Add(ref r0, n == 1 ? 4 * k1 : 0);
            Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
            for (nuint p = 0; p < (nuint)k; p += 8)
            {
                if (n == 1)
                {
                    // eight rows against B's one row: C[i + q, 0] in s_q
                    Vector256<float> bv = Vector256.LoadUnsafe(ref b, p);
                    s0 = Fma(Vector256.LoadUnsafe(ref r0, p), bv, s0);
                    s1 = Fma(Vector256.LoadUnsafe(ref Unsafe.Add(ref r0, k1), p), bv, s1);
                    s2 = Fma(Vector256.LoadUnsafe(ref Unsafe.Add(ref r0, k2), p), bv, s2);
                    s3 = Fma(Vector256.LoadUnsafe(ref Unsafe.Add(ref r0, k3), p), bv, s3);
                    s4 = Fma(Vector256.LoadUnsafe(ref r4, p), bv, s4);
                    s5 = Fma(Vector256.LoadUnsafe(ref Unsafe.Add(ref r4, k1), p), bv, s5);
                    s6 = Fma(Vector256.LoadUnsafe(ref Unsafe.Add(ref r4, k2), p), bv, s6);
                    s7 = Fma(Vector256.LoadUnsafe(ref Unsafe.Add(ref r4, k3), p), bv, s7);
                }
                else if (n == 2)
                {
                    // four rows against B's two: C[i + q, j] in s_(2q + j)
                    Vector256<float> bv0 = Vector256.LoadUnsafe(ref b, p), bv1 = Vector256.LoadUnsafe(ref b1, p);
                    Vector256<float> x = Vector256.LoadUnsafe(ref r0, p);
                    s0 = Fma(x, bv0, s0); s1 = Fma(x, bv1, s1);
                    x = Vector256.LoadUnsafe(ref Unsafe.Add(ref r0, k1), p);
                    s2 = Fma(x, bv0, s2); s3 = Fma(x, bv1, s3);
                    x = Vector256.LoadUnsafe(ref Unsafe.Add(ref r0, k2), p);
                    s4 = Fma(x, bv0, s4); s5 = Fma(x, bv1, s5);
                    x = Vector256.LoadUnsafe(ref Unsafe.Add(ref r0, k3), p);
                    s6 = Fma(x, bv0, s6); s7 = Fma(x, bv1, s7);
                }
                else
                {
                    // two rows against B's four: C[i + q, j] in s_(4q + j)
                    Vector256<float> x0 = Vector256.LoadUnsafe(ref r0, p), x1 = Vector256.LoadUnsafe(ref Unsafe.Add(ref r0, k1), p);
                    Vector256<float> bv = Vector256.LoadUnsafe(ref b, p);
                    s0 = Fma(x0, bv, s0); s4 = Fma(x1, bv, s4);
                    bv = Vector256.LoadUnsafe(ref b1, p);
                    s1 = Fma(x0, bv, s1); s5 = Fma(x1, bv, s5);
                    bv = Vector256.LoadUnsafe(ref Unsafe.Add(ref b1, k1), p);
                    s2 = Fma(x0, bv, s2); s6 = Fma(x1, bv, s6);
                    bv = Vector256.LoadUnsafe(ref Unsafe.Add(ref b1, k2), p);
                    s3 = Fma(x0, bv, s3); s7 = Fma(x1, bv, s7);
                }
            }
            StoreEightSums(ref Unsafe.Add(ref c, i * n), s0, s1, s2, s3, s4, s5, s6, s7, accumulate);
        }
        return i;
    }

    /// <summary>
    /// K = 4, N a multiple of 8, float (the observation layer when acting: y = W·x with W [N, 4]): two rows of B fill
    /// one vector, multiplied by A's row repeated, [x₀ x₁ x₂ x₃ x₀ x₁ x₂ x₃]; three horizontal adds and one lane
    /// permutation turn four such products into eight finished dot products, in order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DepthFourDots(ref float a, ref float b, ref float c, int m, int n, bool accumulate)
    {
        // hadd(hadd(p0, p1), hadd(p2, p3)) holds the sums of rows [0 2 4 6 | 1 3 5 7]; this puts them in order.
        Vector256<int> order = Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7);
        for (int i = 0; i < m; i++)
        {
            Vector128<float> x = Vector128.LoadUnsafe(ref Unsafe.Add(ref a, 4 * i));
            Vector256<float> xx = Vector256.Create(x, x);
            ref float ci = ref Unsafe.Add(ref c, i * n);
            for (int j = 0; j < n; j += 8)
            {
                ref float bj = ref Unsafe.Add(ref b, 4 * j);
                Vector256<float> p0 = Vector256.LoadUnsafe(ref bj) * xx, p1 = Vector256.LoadUnsafe(ref bj, 8) * xx;
                Vector256<float> p2 = Vector256.LoadUnsafe(ref bj, 16) * xx, p3 = Vector256.LoadUnsafe(ref bj, 24) * xx;
                Vector256<float> q = Avx.HorizontalAdd(Avx.HorizontalAdd(p0, p1), Avx.HorizontalAdd(p2, p3));
                Vector256<float> sums = Avx2.PermuteVar8x32(q, order);
                if (accumulate) sums += Vector256.LoadUnsafe(ref ci, (nuint)j);
                sums.StoreUnsafe(ref ci, (nuint)j);
            }
        }
    }

    /// <summary>c[q] (+)= Σ of sq's eight lanes, for q = 0 … 7, by one horizontal-add tree and one store.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreEightSums(ref float c, Vector256<float> s0, Vector256<float> s1, Vector256<float> s2, Vector256<float> s3,
        Vector256<float> s4, Vector256<float> s5, Vector256<float> s6, Vector256<float> s7, bool accumulate)
    {
        // hadd pairs → [s0 s1 s2 s3 | s0 s1 s2 s3] partials per 128-bit half, then add the halves
        Vector256<float> h01 = Avx.HorizontalAdd(s0, s1), h23 = Avx.HorizontalAdd(s2, s3);
        Vector256<float> h45 = Avx.HorizontalAdd(s4, s5), h67 = Avx.HorizontalAdd(s6, s7);
        Vector256<float> q0 = Avx.HorizontalAdd(h01, h23), q1 = Avx.HorizontalAdd(h45, h67);
        Vector256<float> sums = Avx.Permute2x128(q0, q1, 0x20) + Avx.Permute2x128(q0, q1, 0x31);
        if (accumulate) sums += Vector256.LoadUnsafe(ref c);
        sums.StoreUnsafe(ref c);
    }
}
