using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using static PurePg.Autodiff.Kernels.MicroKernels;

namespace PurePg.Autodiff.Kernels;

/// <summary>
/// GEMM paths for the skinny shapes of RL networks, which would spend more time packing than multiplying:
/// observation layers (K = 4), action heads (N = 2), single-observation acting (M = 1).
/// </summary>
internal static class GemmSkinny
{
    /// <summary>
    /// C[i, :] (+)= Σ_p A(i, p) · B[p, :] with A(i, p) = a[i·sAi + p·sAp] and B row-major [K, N].
    /// Columns go four vectors at a time, each an FMA chain over p.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void RowTimesMatrix<T>(ReadOnlySpan<T> a, int sAi, int sAp, ReadOnlySpan<T> b, Span<T> c, int m, int n, int k, bool accumulate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int w = Vector256<T>.Count;
        ref T a0 = ref MemoryMarshal.GetReference(a);
        ref T b0 = ref MemoryMarshal.GetReference(b);
        ref T c0 = ref MemoryMarshal.GetReference(c);
        for (int i = 0; i < m; i++)
        {
            ref T ai = ref Unsafe.Add(ref a0, i * sAi);
            ref T ci = ref Unsafe.Add(ref c0, i * n);
            int j = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                for (; j + 4 * w <= n; j += 4 * w)
                {
                    Vector256<T> s0, s1, s2, s3;
                    if (accumulate)
                    {
                        s0 = Vector256.LoadUnsafe(ref ci, (nuint)j);
                        s1 = Vector256.LoadUnsafe(ref ci, (nuint)(j + w));
                        s2 = Vector256.LoadUnsafe(ref ci, (nuint)(j + 2 * w));
                        s3 = Vector256.LoadUnsafe(ref ci, (nuint)(j + 3 * w));
                    }
                    else s0 = s1 = s2 = s3 = default;
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
                    s0.StoreUnsafe(ref ci, (nuint)j);
                    s1.StoreUnsafe(ref ci, (nuint)(j + w));
                    s2.StoreUnsafe(ref ci, (nuint)(j + 2 * w));
                    s3.StoreUnsafe(ref ci, (nuint)(j + 3 * w));
                }
                for (; j + w <= n; j += w)
                {
                    Vector256<T> s = accumulate ? Vector256.LoadUnsafe(ref ci, (nuint)j) : default;
                    ref T bp = ref Unsafe.Add(ref b0, j);
                    for (int p = 0; p < k; p++)
                    {
                        s = Fma(Vector256.Create(Unsafe.Add(ref ai, p * sAp)), Vector256.LoadUnsafe(ref bp), s);
                        bp = ref Unsafe.Add(ref bp, n);
                    }
                    s.StoreUnsafe(ref ci, (nuint)j);
                }
            }
            for (; j < n; j++)
            {
                T s = accumulate ? Unsafe.Add(ref ci, j) : T.Zero;
                for (int p = 0; p < k; p++) s = T.FusedMultiplyAdd(Unsafe.Add(ref ai, p * sAp), Unsafe.Add(ref b0, p * n + j), s);
                Unsafe.Add(ref ci, j) = s;
            }
        }
    }

    /// <summary>
    /// C[i, j] (+)= ⟨A[i, :], B[j, :]⟩ for A row-major [M, K] and B row-major [N, K]: four dot products at a time
    /// share each load of A's row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Dots<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int n, int k, bool accumulate)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int w = Vector256<T>.Count;
        int kv = Vector256.IsHardwareAccelerated ? k - k % w : 0;
        ref T a0 = ref MemoryMarshal.GetReference(a);
        ref T b0 = ref MemoryMarshal.GetReference(b);
        for (int i = 0; i < m; i++)
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
}
