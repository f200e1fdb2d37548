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
    /// <summary>gx += TVjp(g, u), or gx = TVjp(g, u) when <paramref name="overwrite"/>, in one pass over the three spans.</summary>
    public static void AccumulateVjp<T, TVjp>(ReadOnlySpan<T> g, ReadOnlySpan<T> u, Span<T> gx, bool overwrite = false)
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
            if (overwrite)
                for (; i <= n - w; i += w)
                    TVjp.Invoke(Vector256.LoadUnsafe(ref gs, (nuint)i), Vector256.LoadUnsafe(ref us, (nuint)i)).StoreUnsafe(ref d, (nuint)i);
            else
                for (; i <= n - w; i += w)
                    (Vector256.LoadUnsafe(ref d, (nuint)i) + TVjp.Invoke(Vector256.LoadUnsafe(ref gs, (nuint)i), Vector256.LoadUnsafe(ref us, (nuint)i)))
                        .StoreUnsafe(ref d, (nuint)i);
        }
        if (overwrite) for (; i < n; i++) Unsafe.Add(ref d, i) = TVjp.Invoke(Unsafe.Add(ref gs, i), Unsafe.Add(ref us, i));
        else for (; i < n; i++) Unsafe.Add(ref d, i) += TVjp.Invoke(Unsafe.Add(ref gs, i), Unsafe.Add(ref us, i));
    }

    /// <summary>
    /// s[j] += Σ_r x[r, j] for x row-major [rows, cols]: the bias gradient, one pass with the sums in registers —
    /// eight vectors of columns at a time, or, for a few columns that divide a vector (an action head's 1, 2 or 4),
    /// the rows read as one flat run whose lanes are folded back onto their columns at the end.
    /// </summary>
    public static void AccumulateColumnSums<T>(ReadOnlySpan<T> x, int rows, int cols, Span<T> s)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (x.Length < rows * cols || s.Length < cols) throw new ArgumentException($"AccumulateColumnSums: [{rows}, {cols}] needs {rows * cols} values and {cols} sums.");
        int w = Vector256<T>.Count, j = 0;
        ref T x0 = ref MemoryMarshal.GetReference(x);
        ref T s0 = ref MemoryMarshal.GetReference(s);
        if (Vector256.IsHardwareAccelerated)
        {
            if (cols < w && w % cols == 0)
            {
                int total = rows * cols, i = 0;
                Vector256<T> a0 = default, a1 = default, a2 = default, a3 = default;
                for (; i + 4 * w <= total; i += 4 * w)
                {
                    a0 += Vector256.LoadUnsafe(ref x0, (nuint)i);
                    a1 += Vector256.LoadUnsafe(ref x0, (nuint)(i + w));
                    a2 += Vector256.LoadUnsafe(ref x0, (nuint)(i + 2 * w));
                    a3 += Vector256.LoadUnsafe(ref x0, (nuint)(i + 3 * w));
                }
                for (; i + w <= total; i += w) a0 += Vector256.LoadUnsafe(ref x0, (nuint)i);
                Vector256<T> a = (a0 + a1) + (a2 + a3);
                for (int l = 0; l < w; l++) Unsafe.Add(ref s0, l % cols) += a.GetElement(l); // i is a multiple of w, so lane l is column l mod cols
                for (; i < total; i++) Unsafe.Add(ref s0, i % cols) += Unsafe.Add(ref x0, i);
                return;
            }
            for (; j + 8 * w <= cols; j += 8 * w)
            {
                Vector256<T> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
                ref T xr = ref Unsafe.Add(ref x0, j);
                for (int r = 0; r < rows; r++)
                {
                    a0 += Vector256.LoadUnsafe(ref xr);
                    a1 += Vector256.LoadUnsafe(ref xr, (nuint)w);
                    a2 += Vector256.LoadUnsafe(ref xr, (nuint)(2 * w));
                    a3 += Vector256.LoadUnsafe(ref xr, (nuint)(3 * w));
                    a4 += Vector256.LoadUnsafe(ref xr, (nuint)(4 * w));
                    a5 += Vector256.LoadUnsafe(ref xr, (nuint)(5 * w));
                    a6 += Vector256.LoadUnsafe(ref xr, (nuint)(6 * w));
                    a7 += Vector256.LoadUnsafe(ref xr, (nuint)(7 * w));
                    xr = ref Unsafe.Add(ref xr, cols);
                }
                ref T sj = ref Unsafe.Add(ref s0, j);
                (Vector256.LoadUnsafe(ref sj) + a0).StoreUnsafe(ref sj);
                (Vector256.LoadUnsafe(ref sj, (nuint)w) + a1).StoreUnsafe(ref sj, (nuint)w);
                (Vector256.LoadUnsafe(ref sj, (nuint)(2 * w)) + a2).StoreUnsafe(ref sj, (nuint)(2 * w));
                (Vector256.LoadUnsafe(ref sj, (nuint)(3 * w)) + a3).StoreUnsafe(ref sj, (nuint)(3 * w));
                (Vector256.LoadUnsafe(ref sj, (nuint)(4 * w)) + a4).StoreUnsafe(ref sj, (nuint)(4 * w));
                (Vector256.LoadUnsafe(ref sj, (nuint)(5 * w)) + a5).StoreUnsafe(ref sj, (nuint)(5 * w));
                (Vector256.LoadUnsafe(ref sj, (nuint)(6 * w)) + a6).StoreUnsafe(ref sj, (nuint)(6 * w));
                (Vector256.LoadUnsafe(ref sj, (nuint)(7 * w)) + a7).StoreUnsafe(ref sj, (nuint)(7 * w));
            }
            for (; j + w <= cols; j += w)
            {
                Vector256<T> a0 = default, a1 = default;
                ref T xr = ref Unsafe.Add(ref x0, j);
                int r = 0;
                for (; r + 2 <= rows; r += 2)
                {
                    a0 += Vector256.LoadUnsafe(ref xr);
                    a1 += Vector256.LoadUnsafe(ref xr, (nuint)cols);
                    xr = ref Unsafe.Add(ref xr, 2 * cols);
                }
                if (r < rows) a0 += Vector256.LoadUnsafe(ref xr);
                ref T sj = ref Unsafe.Add(ref s0, j);
                (Vector256.LoadUnsafe(ref sj) + (a0 + a1)).StoreUnsafe(ref sj);
            }
        }
        for (; j < cols; j++)
        {
            T acc = T.Zero;
            for (int r = 0; r < rows; r++) acc += Unsafe.Add(ref x0, r * cols + j);
            s[j] += acc;
        }
    }

    /// <summary>
    /// gx = TVjp(g, u) over [rows, cols] and, in the same pass, s[j] += Σ_r gx[r, j]: a fused layer's G′ and its bias
    /// gradient without reading G′ back. The same bits as <see cref="AccumulateVjp{T, TVjp}"/> (overwrite) followed by
    /// <see cref="AccumulateColumnSums{T}"/>: each element by the same vector rule, each column summed over the rows in
    /// order from zero in that method's eight-vector blocks, then added to s. Only for widths those blocks cover exactly
    /// (cols a multiple of 8 vectors: 64, 128, … floats); returns false, having done nothing, for any other. The final
    /// adds into s are written out as in AccumulateColumnSums on purpose: a shared helper taking the eight vectors made
    /// AccumulateColumnSums 15 % slower on [64, 64] (bench BiasGradient, TwoPasses 623 → 716 ns).
    /// </summary>
    public static bool VjpWithColumnSums<T, TVjp>(ReadOnlySpan<T> g, ReadOnlySpan<T> u, Span<T> gx, int rows, int cols, Span<T> s)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
        where TVjp : IPointwiseVjp<T>
    {
        int w = Vector256<T>.Count, n = rows * cols;
        if (!Vector256.IsHardwareAccelerated || cols == 0 || cols % (8 * w) != 0) return false;
        if (g.Length < n || u.Length < n || gx.Length < n || s.Length < cols)
            throw new ArgumentException($"VjpWithColumnSums: [{rows}, {cols}] needs {n} values in g, u and gx and {cols} sums.");
        ref T g0 = ref MemoryMarshal.GetReference(g), u0 = ref MemoryMarshal.GetReference(u), d0 = ref MemoryMarshal.GetReference(gx);
        ref T s0 = ref MemoryMarshal.GetReference(s);
        for (int j = 0; j < cols; j += 8 * w)
        {
            Vector256<T> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            for (int r = 0; r < rows; r++)
            {
                nuint o = (nuint)(r * cols + j);
                Vector256<T> v0 = TVjp.Invoke(Vector256.LoadUnsafe(ref g0, o), Vector256.LoadUnsafe(ref u0, o));
                Vector256<T> v1 = TVjp.Invoke(Vector256.LoadUnsafe(ref g0, o + (nuint)w), Vector256.LoadUnsafe(ref u0, o + (nuint)w));
                Vector256<T> v2 = TVjp.Invoke(Vector256.LoadUnsafe(ref g0, o + (nuint)(2 * w)), Vector256.LoadUnsafe(ref u0, o + (nuint)(2 * w)));
                Vector256<T> v3 = TVjp.Invoke(Vector256.LoadUnsafe(ref g0, o + (nuint)(3 * w)), Vector256.LoadUnsafe(ref u0, o + (nuint)(3 * w)));
                Vector256<T> v4 = TVjp.Invoke(Vector256.LoadUnsafe(ref g0, o + (nuint)(4 * w)), Vector256.LoadUnsafe(ref u0, o + (nuint)(4 * w)));
                Vector256<T> v5 = TVjp.Invoke(Vector256.LoadUnsafe(ref g0, o + (nuint)(5 * w)), Vector256.LoadUnsafe(ref u0, o + (nuint)(5 * w)));
                Vector256<T> v6 = TVjp.Invoke(Vector256.LoadUnsafe(ref g0, o + (nuint)(6 * w)), Vector256.LoadUnsafe(ref u0, o + (nuint)(6 * w)));
                Vector256<T> v7 = TVjp.Invoke(Vector256.LoadUnsafe(ref g0, o + (nuint)(7 * w)), Vector256.LoadUnsafe(ref u0, o + (nuint)(7 * w)));
                v0.StoreUnsafe(ref d0, o); v1.StoreUnsafe(ref d0, o + (nuint)w); v2.StoreUnsafe(ref d0, o + (nuint)(2 * w)); v3.StoreUnsafe(ref d0, o + (nuint)(3 * w));
                v4.StoreUnsafe(ref d0, o + (nuint)(4 * w)); v5.StoreUnsafe(ref d0, o + (nuint)(5 * w)); v6.StoreUnsafe(ref d0, o + (nuint)(6 * w)); v7.StoreUnsafe(ref d0, o + (nuint)(7 * w));
                a0 += v0; a1 += v1; a2 += v2; a3 += v3; a4 += v4; a5 += v5; a6 += v6; a7 += v7;
            }
            ref T sj = ref Unsafe.Add(ref s0, j);
            (Vector256.LoadUnsafe(ref sj) + a0).StoreUnsafe(ref sj);
            (Vector256.LoadUnsafe(ref sj, (nuint)w) + a1).StoreUnsafe(ref sj, (nuint)w);
            (Vector256.LoadUnsafe(ref sj, (nuint)(2 * w)) + a2).StoreUnsafe(ref sj, (nuint)(2 * w));
            (Vector256.LoadUnsafe(ref sj, (nuint)(3 * w)) + a3).StoreUnsafe(ref sj, (nuint)(3 * w));
            (Vector256.LoadUnsafe(ref sj, (nuint)(4 * w)) + a4).StoreUnsafe(ref sj, (nuint)(4 * w));
            (Vector256.LoadUnsafe(ref sj, (nuint)(5 * w)) + a5).StoreUnsafe(ref sj, (nuint)(5 * w));
            (Vector256.LoadUnsafe(ref sj, (nuint)(6 * w)) + a6).StoreUnsafe(ref sj, (nuint)(6 * w));
            (Vector256.LoadUnsafe(ref sj, (nuint)(7 * w)) + a7).StoreUnsafe(ref sj, (nuint)(7 * w));
        }
        return true;
    }

    /// <summary>
    /// Every row of y [rows, cols] ← v (broadcast of a row vector, e.g. a bias before the GEMM accumulates into it):
    /// vector stores per row, or for a few columns that divide a vector, one repeating vector over the whole run.
    /// </summary>
    public static void BroadcastRows<T>(ReadOnlySpan<T> v, Span<T> y, int rows, int cols) where T : unmanaged
    {
        v = v[..cols];
        if (y.Length < rows * cols) throw new ArgumentException($"BroadcastRows: [{rows}, {cols}] needs {rows * cols} values, the destination holds {y.Length}.");
        int w = Vector256<T>.Count;
        if (!Vector256.IsHardwareAccelerated || !Vector256<T>.IsSupported || cols == 0)
        {
            for (int r = 0; r < rows; r++) v.CopyTo(y.Slice(r * cols, cols));
            return;
        }
        ref T v0 = ref MemoryMarshal.GetReference(v);
        ref T y0 = ref MemoryMarshal.GetReference(y);
        int total = rows * cols;
        if (cols < w && w % cols == 0)
        {
            Span<T> pattern = stackalloc T[w];
            for (int l = 0; l < w; l++) pattern[l] = Unsafe.Add(ref v0, l % cols);
            Vector256<T> p = Vector256.Create<T>(pattern);
            int i = 0;
            for (; i + w <= total; i += w) p.StoreUnsafe(ref y0, (nuint)i);
            for (; i < total; i++) Unsafe.Add(ref y0, i) = Unsafe.Add(ref v0, i % cols);
            return;
        }
        if (cols % w == 0)
        {
            for (int r = 0; r < rows; r++)
            {
                ref T yr = ref Unsafe.Add(ref y0, r * cols);
                for (int j = 0; j < cols; j += w) Vector256.LoadUnsafe(ref v0, (nuint)j).StoreUnsafe(ref yr, (nuint)j);
            }
            return;
        }
        for (int r = 0; r < rows; r++) v.CopyTo(y.Slice(r * cols, cols));
    }
}
