using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace PurePg.Autodiff.Kernels;

/// <summary>
/// Register-tile micro-kernels of the packed GEMM. Each computes one MR × NR tile of C from a packed panel of op(A)
/// (MR values per k step) and a packed panel of op(B) (NR values per k step), keeping the whole tile in registers:
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
    private static void Store<T>(ref T c, int w, Vector256<T> v0, Vector256<T> v1, bool add)
    {
        if (add)
        {
            v0 += Vector256.LoadUnsafe(ref c);
            v1 += Vector256.LoadUnsafe(ref c, (nuint)w);
        }
        v0.StoreUnsafe(ref c);
        v1.StoreUnsafe(ref c, (nuint)w);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store<T>(ref T c, int w, Vector512<T> v0, Vector512<T> v1, bool add)
    {
        if (add)
        {
            v0 += Vector512.LoadUnsafe(ref c);
            v1 += Vector512.LoadUnsafe(ref c, (nuint)w);
        }
        v0.StoreUnsafe(ref c);
        v1.StoreUnsafe(ref c, (nuint)w);
    }

    /// <summary>Writes the top-left mr × nr corner of a full tile (row stride <paramref name="tileStride"/>) into C.</summary>
    private static void CopyTile<T>(ReadOnlySpan<T> tile, int tileStride, ref T c, int ldc, int mr, int nr, bool add)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        for (int r = 0; r < mr; r++)
        {
            ReadOnlySpan<T> src = tile.Slice(r * tileStride, nr);
            Span<T> dst = MemoryMarshal.CreateSpan(ref Unsafe.Add(ref c, r * ldc), nr);
            if (add) System.Numerics.Tensors.TensorPrimitives.Add(dst, src, dst);
            else src.CopyTo(dst);
        }
    }

    /// <summary>Portable fallback with the same packed layout, for hardware without 256-bit FMA.</summary>
    internal static void KernelScalar<T>(int kc, ReadOnlySpan<T> ap, ReadOnlySpan<T> bp, ref T c, int ldc, int MR, int NR, int mr, int nr, bool add)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Span<T> acc = stackalloc T[MR * NR];
        acc.Clear();
        for (int p = 0; p < kc; p++)
        {
            ReadOnlySpan<T> a = ap.Slice(p * MR, MR), b = bp.Slice(p * NR, NR);
            for (int r = 0; r < MR; r++)
            {
                T ar = a[r];
                Span<T> row = acc.Slice(r * NR, NR);
                for (int j = 0; j < NR; j++) row[j] = T.FusedMultiplyAdd(ar, b[j], row[j]);
            }
        }
        CopyTile<T>(acc, NR, ref c, ldc, mr, nr, add);
    }

    /// <summary>6×2·Vector256&lt;T&gt;.Count register tile: C[0..mr, 0..nr) (+)= Ap·Bp over kc packed steps.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Kernel256<T>(int kc, ref T ap, ref T bp, ref T c, int ldc, int mr, int nr, bool add)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int w = Vector256<T>.Count;
        Vector256<T> c00 = default, c01 = default;
        Vector256<T> c10 = default, c11 = default;
        Vector256<T> c20 = default, c21 = default;
        Vector256<T> c30 = default, c31 = default;
        Vector256<T> c40 = default, c41 = default;
        Vector256<T> c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector256<T> b0 = Vector256.LoadUnsafe(ref bp), b1 = Vector256.LoadUnsafe(ref bp, (nuint)w);
            Vector256<T> a;
            a = Vector256.Create(Unsafe.Add(ref ap, 0)); c00 = Fma(a, b0, c00); c01 = Fma(a, b1, c01);
            a = Vector256.Create(Unsafe.Add(ref ap, 1)); c10 = Fma(a, b0, c10); c11 = Fma(a, b1, c11);
            a = Vector256.Create(Unsafe.Add(ref ap, 2)); c20 = Fma(a, b0, c20); c21 = Fma(a, b1, c21);
            a = Vector256.Create(Unsafe.Add(ref ap, 3)); c30 = Fma(a, b0, c30); c31 = Fma(a, b1, c31);
            a = Vector256.Create(Unsafe.Add(ref ap, 4)); c40 = Fma(a, b0, c40); c41 = Fma(a, b1, c41);
            a = Vector256.Create(Unsafe.Add(ref ap, 5)); c50 = Fma(a, b0, c50); c51 = Fma(a, b1, c51);
            ap = ref Unsafe.Add(ref ap, 6);
            bp = ref Unsafe.Add(ref bp, 2 * w);
        }
        if (mr == 6 && nr == 2 * w)
        {
            Store(ref Unsafe.Add(ref c, 0 * ldc), w, c00, c01, add);
            Store(ref Unsafe.Add(ref c, 1 * ldc), w, c10, c11, add);
            Store(ref Unsafe.Add(ref c, 2 * ldc), w, c20, c21, add);
            Store(ref Unsafe.Add(ref c, 3 * ldc), w, c30, c31, add);
            Store(ref Unsafe.Add(ref c, 4 * ldc), w, c40, c41, add);
            Store(ref Unsafe.Add(ref c, 5 * ldc), w, c50, c51, add);
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
        CopyTile(tile, 2 * w, ref c, ldc, mr, nr, add);
    }

    /// <summary>8×2·Vector512&lt;T&gt;.Count register tile: C[0..mr, 0..nr) (+)= Ap·Bp over kc packed steps.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Kernel512<T>(int kc, ref T ap, ref T bp, ref T c, int ldc, int mr, int nr, bool add)
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
        for (int p = 0; p < kc; p++)
        {
            Vector512<T> b0 = Vector512.LoadUnsafe(ref bp), b1 = Vector512.LoadUnsafe(ref bp, (nuint)w);
            Vector512<T> a;
            a = Vector512.Create(Unsafe.Add(ref ap, 0)); c00 = Fma(a, b0, c00); c01 = Fma(a, b1, c01);
            a = Vector512.Create(Unsafe.Add(ref ap, 1)); c10 = Fma(a, b0, c10); c11 = Fma(a, b1, c11);
            a = Vector512.Create(Unsafe.Add(ref ap, 2)); c20 = Fma(a, b0, c20); c21 = Fma(a, b1, c21);
            a = Vector512.Create(Unsafe.Add(ref ap, 3)); c30 = Fma(a, b0, c30); c31 = Fma(a, b1, c31);
            a = Vector512.Create(Unsafe.Add(ref ap, 4)); c40 = Fma(a, b0, c40); c41 = Fma(a, b1, c41);
            a = Vector512.Create(Unsafe.Add(ref ap, 5)); c50 = Fma(a, b0, c50); c51 = Fma(a, b1, c51);
            a = Vector512.Create(Unsafe.Add(ref ap, 6)); c60 = Fma(a, b0, c60); c61 = Fma(a, b1, c61);
            a = Vector512.Create(Unsafe.Add(ref ap, 7)); c70 = Fma(a, b0, c70); c71 = Fma(a, b1, c71);
            ap = ref Unsafe.Add(ref ap, 8);
            bp = ref Unsafe.Add(ref bp, 2 * w);
        }
        if (mr == 8 && nr == 2 * w)
        {
            Store(ref Unsafe.Add(ref c, 0 * ldc), w, c00, c01, add);
            Store(ref Unsafe.Add(ref c, 1 * ldc), w, c10, c11, add);
            Store(ref Unsafe.Add(ref c, 2 * ldc), w, c20, c21, add);
            Store(ref Unsafe.Add(ref c, 3 * ldc), w, c30, c31, add);
            Store(ref Unsafe.Add(ref c, 4 * ldc), w, c40, c41, add);
            Store(ref Unsafe.Add(ref c, 5 * ldc), w, c50, c51, add);
            Store(ref Unsafe.Add(ref c, 6 * ldc), w, c60, c61, add);
            Store(ref Unsafe.Add(ref c, 7 * ldc), w, c70, c71, add);
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
        CopyTile(tile, 2 * w, ref c, ldc, mr, nr, add);
    }
}
