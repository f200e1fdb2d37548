using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace PurePg.Autodiff.Kernels;

/// <summary>
/// The vector-Jacobian product of an elementwise op: the contribution v(g, u) to gx, where u is whichever of the op's
/// output y or input x its derivative is cheapest in.
/// </summary>
internal interface IPointwiseVjp<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    static abstract T Invoke(T g, T u);
    static abstract Vector256<T> Invoke(Vector256<T> g, Vector256<T> u);
}

/// <summary>tanh: g·(1 − y²).</summary>
internal readonly struct TanhVjp<T> : IPointwiseVjp<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public static T Invoke(T g, T y) => g - g * y * y;
    public static Vector256<T> Invoke(Vector256<T> g, Vector256<T> y) => g - g * y * y;
}

/// <summary>σ: g·y·(1 − y).</summary>
internal readonly struct SigmoidVjp<T> : IPointwiseVjp<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public static T Invoke(T g, T y) => g * (y - y * y);
    public static Vector256<T> Invoke(Vector256<T> g, Vector256<T> y) => g * (y - y * y);
}

/// <summary>log, from x: g / x.</summary>
internal readonly struct LogVjp<T> : IPointwiseVjp<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public static T Invoke(T g, T x) => g / x;
    public static Vector256<T> Invoke(Vector256<T> g, Vector256<T> x) => g / x;
}

/// <summary>x², from x: 2x·g.</summary>
internal readonly struct SquareVjp<T> : IPointwiseVjp<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public static T Invoke(T g, T x) => (x + x) * g;
    public static Vector256<T> Invoke(Vector256<T> g, Vector256<T> x) => (x + x) * g;
}

/// <summary>√x, from y: g / (2y).</summary>
internal readonly struct SqrtVjp<T> : IPointwiseVjp<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public static T Invoke(T g, T y) => g / (y + y);
    public static Vector256<T> Invoke(Vector256<T> g, Vector256<T> y) => g / (y + y);
}

/// <summary>ReLU: g where y &gt; 0, else 0.</summary>
internal readonly struct ReluVjp<T> : IPointwiseVjp<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    public static T Invoke(T g, T y) => y > T.Zero ? g : T.Zero;
    public static Vector256<T> Invoke(Vector256<T> g, Vector256<T> y) => g & Vector256.GreaterThan(y, Vector256<T>.Zero);
}

/// <summary>Loops of the backward pass fused into one pass each.</summary>
internal static class Elementwise
{
    /// <summary>gx += TVjp(g, u), in one pass over the three spans.</summary>
    public static void AccumulateVjp<T, TVjp>(ReadOnlySpan<T> g, ReadOnlySpan<T> u, Span<T> gx)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVjp : IPointwiseVjp<T>
    {
        int n = gx.Length, i = 0;
        if (g.Length < n || u.Length < n) throw new ArgumentException($"AccumulateVjp: spans of {g.Length} and {u.Length} values for {n} gradients.");
        ref T gs = ref MemoryMarshal.GetReference(g);
        ref T us = ref MemoryMarshal.GetReference(u);
        ref T d = ref MemoryMarshal.GetReference(gx);
        if (Vector256.IsHardwareAccelerated)
        {
            int w = Vector256<T>.Count;
            for (; i <= n - w; i += w)
                (Vector256.LoadUnsafe(ref d, (nuint)i) + TVjp.Invoke(Vector256.LoadUnsafe(ref gs, (nuint)i), Vector256.LoadUnsafe(ref us, (nuint)i)))
                    .StoreUnsafe(ref d, (nuint)i);
        }
        for (; i < n; i++) Unsafe.Add(ref d, i) += TVjp.Invoke(Unsafe.Add(ref gs, i), Unsafe.Add(ref us, i));
    }

    /// <summary>s[j] += Σ_r x[r, j] for x row-major [rows, cols]: the bias gradient, one pass with the sums in registers.</summary>
    public static void AccumulateColumnSums<T>(ReadOnlySpan<T> x, int rows, int cols, Span<T> s)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (x.Length < rows * cols || s.Length < cols) throw new ArgumentException($"AccumulateColumnSums: [{rows}, {cols}] needs {rows * cols} values and {cols} sums.");
        int w = Vector256<T>.Count, j = 0;
        ref T x0 = ref MemoryMarshal.GetReference(x);
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j + 4 * w <= cols; j += 4 * w)
            {
                Vector256<T> a0 = default, a1 = default, a2 = default, a3 = default;
                ref T xr = ref Unsafe.Add(ref x0, j);
                for (int r = 0; r < rows; r++)
                {
                    a0 += Vector256.LoadUnsafe(ref xr);
                    a1 += Vector256.LoadUnsafe(ref xr, (nuint)w);
                    a2 += Vector256.LoadUnsafe(ref xr, (nuint)(2 * w));
                    a3 += Vector256.LoadUnsafe(ref xr, (nuint)(3 * w));
                    xr = ref Unsafe.Add(ref xr, cols);
                }
                Span<T> sj = s.Slice(j, 4 * w);
                (Vector256.Create<T>(sj) + a0).CopyTo(sj);
                (Vector256.Create<T>(sj[w..]) + a1).CopyTo(sj[w..]);
                (Vector256.Create<T>(sj[(2 * w)..]) + a2).CopyTo(sj[(2 * w)..]);
                (Vector256.Create<T>(sj[(3 * w)..]) + a3).CopyTo(sj[(3 * w)..]);
            }
        }
        for (; j < cols; j++)
        {
            T acc = T.Zero;
            for (int r = 0; r < rows; r++) acc += Unsafe.Add(ref x0, r * cols + j);
            s[j] += acc;
        }
    }

    /// <summary>Every row of y [rows, cols] ← v (broadcast of a row vector, e.g. a bias before the GEMM accumulates into it).</summary>
    public static void BroadcastRows<T>(ReadOnlySpan<T> v, Span<T> y, int rows, int cols) where T : unmanaged
    {
        v = v[..cols];
        for (int r = 0; r < rows; r++) v.CopyTo(y.Slice(r * cols, cols));
    }
}
