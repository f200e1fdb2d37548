using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace PurePg.Autodiff.Kernels;

/// <summary>
/// Transcendental functions over spans. For float (training) these are our own vector kernels; for double (gradient
/// checks) TensorPrimitives' accurate versions are used, which also makes double the reference the float kernels are
/// tested against. Why our own: when they were written, TensorPrimitives' float kernels ran at scalar speed (≈ 1–2 ns per
/// element). Measured again with System.Numerics.Tensors 10.0.11 (bench TranscendentalBenchmarks, 2048 × 64 values, Zen 4
/// with AVX-512, 2026-12-05): its Tanh still takes 91 µs against our 48 (512-bit) / 53 (256-bit), but its Exp and
/// Sigmoid now take 68 and 80 µs against our 83 and 105, at ≤ 1.8 ulp and the same bits at any width or offset. Exp and
/// σ run on [batch, actions]-sized tensors in the policies (log-softmax, exp of log σ), so ours stay: switching would
/// change every trajectory's bits for no measurable step time.
/// </summary>
/// <remarks>
/// Accuracy of the float kernels: a few ulp (Cephes polynomials with FMA). exp(x) is +∞ above ln(FLT_MAX) and flushes to
/// 0 below −87.34 (where the true value is subnormal, &lt; 2⁻¹²⁶). NaN in gives NaN out.
/// </remarks>
internal static class VectorMath
{
    /// <summary>y = exp(x).</summary>
    public static void Exp<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && Vector256.IsHardwareAccelerated) Map<ExpOp>(Cast(x), Cast(y));
        else TensorPrimitives.Exp(x, y);
    }

    /// <summary>y = tanh(x). For float, at the vector width the GEMM runs at on this thread (<see cref="Gemm.BestIsa"/>, or
    /// <see cref="Gemm.IsaOverride"/>): the 512-bit and 256-bit kernels give the same bits, so the choice moves only the time.</summary>
    public static void Tanh<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && Vector256.IsHardwareAccelerated)
        {
            if ((Gemm.IsaOverride ?? Gemm.BestIsa) == GemmIsa.Vector512) TanhStaged512(Cast(x), Cast(y));
            else TanhStaged(Cast(x), Cast(y));
        }
        else TensorPrimitives.Tanh(x, y);
    }

    /// <summary>y = σ(x) = 1 / (1 + exp(−x)).</summary>
    public static void Sigmoid<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && Vector256.IsHardwareAccelerated) Map<SigmoidOp>(Cast(x), Cast(y));
        else TensorPrimitives.Sigmoid(x, y);
    }

    private static ReadOnlySpan<float> Cast<T>(ReadOnlySpan<T> x) where T : unmanaged => MemoryMarshal.Cast<T, float>(x);
    private static Span<float> Cast<T>(Span<T> x) where T : unmanaged => MemoryMarshal.Cast<T, float>(x);

    private interface IFloatFunction
    {
        static abstract float Invoke(float x);
        static abstract Vector256<float> Invoke(Vector256<float> x);
    }

    /// <summary>The one driver for y = f(x): full vectors, then the last vector overlapping the tail, or (shorter than a
    /// vector, or in place) the tail through one zero-padded vector — every element gets the vector arithmetic, so an
    /// element's result does not depend on the length or its position (what <see cref="Tape{T}.BatchInvariant"/> needs).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Map<TOp>(ReadOnlySpan<float> x, Span<float> y) where TOp : IFloatFunction
    {
        if (y.Length < x.Length) throw new ArgumentException($"Destination holds {y.Length} values, fewer than the {x.Length} inputs.", nameof(y));
        int n = x.Length, w = Vector256<float>.Count, i = 0;
        ref float xs = ref MemoryMarshal.GetReference(x);
        ref float ys = ref MemoryMarshal.GetReference(y);
        for (; i <= n - w; i += w) TOp.Invoke(Vector256.LoadUnsafe(ref xs, (nuint)i)).StoreUnsafe(ref ys, (nuint)i);
        if (i == n) return;
        // In-place safe: recomputing the overlap from x is only wrong if y aliases x, so pad a copy of the tail then.
        if (i > 0 && !Unsafe.AreSame(ref xs, ref ys))
        {
            TOp.Invoke(Vector256.LoadUnsafe(ref xs, (nuint)(n - w))).StoreUnsafe(ref ys, (nuint)(n - w));
            return;
        }
        Span<float> pad = stackalloc float[w];
        pad.Clear();
        x[i..].CopyTo(pad);
        ref float p0 = ref MemoryMarshal.GetReference(pad);
        TOp.Invoke(Vector256.LoadUnsafe(ref p0)).StoreUnsafe(ref p0);
        pad[..(n - i)].CopyTo(y[i..]);
    }

    private readonly struct ExpOp : IFloatFunction
    {
        public static float Invoke(float x) => MathF.Exp(x);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Invoke(Vector256<float> x) => ExpVector(x);
    }

    private readonly struct TanhOp : IFloatFunction
    {
        public static float Invoke(float x) => MathF.Tanh(x);

        /// <remarks>
        /// One branch for every x: tanh|x| = u / (u + 2) with u = expm1(2|x|), and x's sign. Both terms are positive,
        /// so nothing cancels near 0 (u ≈ 2|x| there, computed as r + r²·P(r) without forming 1 + …), and the chain
        /// is short (the polynomial runs in Estrin's scheme): the kernel is bound by the latency of its dependent
        /// operations, not by their count. ≤ 4 ulp (tested; 2.4 ulp the largest seen over 58 M samples).
        /// </remarks>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Invoke(Vector256<float> x) => Finish(Expm1(Reduce(x, out var n), n), x);

        // The constants of both widths' stages (one set, so the two copies below are visibly the same arithmetic).
        private const float Cap = 9.1f, Shifter = 12582912f, Log2E = 1.44269504088896341f, Ln2Hi = -0.693359375f, Ln2Lo = 2.12194440e-4f;
        private const float P0 = 5.0000001201e-1f, P1 = 1.6666665459e-1f, P2 = 4.1665795894e-2f, P3 = 8.3334519073e-3f, P4 = 1.3981999507e-3f, P5 = 1.9875691500e-4f;

        /// <summary>2|x| = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in two for an exact reduction), |x| capped at 9.1.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Reduce(Vector256<float> x, out Vector256<float> n)
        {
            // Past 9.1, 2e^(−2x) is under half the float spacing below 1, so tanh rounds to exactly 1 (tanh 9 does not).
            Vector256<float> t = Vector256.Min(Vector256.Abs(x), Vector256.Create(Cap)) * Vector256.Create(2f); // in [0, 18.2]
            Vector256<float> shifter = Vector256.Create(Shifter);
            n = Fma(t, Vector256.Create(Log2E), shifter) - shifter; // n ≤ 27
            Vector256<float> r = Fma(n, Vector256.Create(Ln2Hi), t);
            return Fma(n, Vector256.Create(Ln2Lo), r);
        }

        /// <summary>u = expm1(n·ln2 + r) = 2ⁿ·expm1(r) + (2ⁿ − 1), expm1(r) = r + r²·P(r) with P the Cephes expf polynomial.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Expm1(Vector256<float> r, Vector256<float> n)
        {
            // P = (a0 + a1 r) + r²(a2 + a3 r) + r⁴(a4 + a5 r)
            Vector256<float> r2 = r * r;
            Vector256<float> r4 = r2 * r2;
            Vector256<float> q0 = Fma(Vector256.Create(P1), r, Vector256.Create(P0));
            Vector256<float> q1 = Fma(Vector256.Create(P3), r, Vector256.Create(P2));
            Vector256<float> q2 = Fma(Vector256.Create(P5), r, Vector256.Create(P4));
            Vector256<float> em = Fma(Fma(q2, r4, Fma(q1, r2, q0)), r2, r);
            Vector256<float> scale = Vector256.ShiftLeft(Vector256.ConvertToInt32Native(n) + Vector256.Create(127), 23).AsSingle();
            return Fma(scale, em, scale - Vector256.Create(1f));
        }

        /// <summary>tanh x = sign(x)·u / (u + 2); NaN stays NaN.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Finish(Vector256<float> u, Vector256<float> x)
        {
            Vector256<float> y = u / (u + Vector256.Create(2f));
            y = Vector256.ConditionalSelect(Vector256.Create(-0f), x, y); // copy x's sign bit
            return Vector256.ConditionalSelect(Vector256.Equals(x, x), y, x);
        }

        // The same three stages on 512-bit vectors, operation for operation (each lane gives the 256-bit stage's bits).

        /// <summary><see cref="Reduce(Vector256{float}, out Vector256{float})"/> on 16 lanes.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Reduce(Vector512<float> x, out Vector512<float> n)
        {
            Vector512<float> t = Vector512.Min(Vector512.Abs(x), Vector512.Create(Cap)) * Vector512.Create(2f);
            Vector512<float> shifter = Vector512.Create(Shifter);
            n = Vector512.FusedMultiplyAdd(t, Vector512.Create(Log2E), shifter) - shifter;
            Vector512<float> r = Vector512.FusedMultiplyAdd(n, Vector512.Create(Ln2Hi), t);
            return Vector512.FusedMultiplyAdd(n, Vector512.Create(Ln2Lo), r);
        }

        /// <summary><see cref="Expm1(Vector256{float}, Vector256{float})"/> on 16 lanes.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Expm1(Vector512<float> r, Vector512<float> n)
        {
            Vector512<float> r2 = r * r;
            Vector512<float> r4 = r2 * r2;
            Vector512<float> q0 = Vector512.FusedMultiplyAdd(Vector512.Create(P1), r, Vector512.Create(P0));
            Vector512<float> q1 = Vector512.FusedMultiplyAdd(Vector512.Create(P3), r, Vector512.Create(P2));
            Vector512<float> q2 = Vector512.FusedMultiplyAdd(Vector512.Create(P5), r, Vector512.Create(P4));
            Vector512<float> em = Vector512.FusedMultiplyAdd(Vector512.FusedMultiplyAdd(q2, r4, Vector512.FusedMultiplyAdd(q1, r2, q0)), r2, r);
            Vector512<float> scale = Vector512.ShiftLeft(Vector512.ConvertToInt32Native(n) + Vector512.Create(127), 23).AsSingle();
            return Vector512.FusedMultiplyAdd(scale, em, scale - Vector512.Create(1f));
        }

        /// <summary><see cref="Finish(Vector256{float}, Vector256{float})"/> on 16 lanes.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<float> Finish(Vector512<float> u, Vector512<float> x)
        {
            Vector512<float> y = u / (u + Vector512.Create(2f));
            y = Vector512.ConditionalSelect(Vector512.Create(-0f), x, y);
            return Vector512.ConditionalSelect(Vector512.Equals(x, x), y, x);
        }
    }

    /// <summary>
    /// y = tanh(x) in blocks of 256 values, one pass per stage (<see cref="TanhOp.Reduce(Vector256{float}, out Vector256{float})"/>,
    /// <see cref="TanhOp.Expm1(Vector256{float}, Vector256{float})"/>, <see cref="TanhOp.Finish(Vector256{float}, Vector256{float})"/>) through two stack buffers. Same arithmetic as <see cref="TanhOp.Invoke(Vector256{float})"/>,
    /// bit for bit; the short chains of each pass keep more vectors in flight than the one long chain does
    /// (measured 1.25× faster on [64, 64]). In place is allowed: each pass reads x at the index it writes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit] // the buffers are written before they are read
    private static void TanhStaged(ReadOnlySpan<float> x, Span<float> y)
    {
        if (y.Length < x.Length) throw new ArgumentException($"Destination holds {y.Length} values, fewer than the {x.Length} inputs.", nameof(y));
        const int Block = 256;
        int w = Vector256<float>.Count, full = x.Length / w * w;
        Span<float> rs = stackalloc float[Block], ns = stackalloc float[Block];
        ref float xs = ref MemoryMarshal.GetReference(x), ys = ref MemoryMarshal.GetReference(y);
        ref float r0 = ref MemoryMarshal.GetReference(rs), n0 = ref MemoryMarshal.GetReference(ns);
        for (int b = 0; b < full; b += Block)
        {
            int len = Math.Min(Block, full - b);
            ref float xb = ref Unsafe.Add(ref xs, b), yb = ref Unsafe.Add(ref ys, b);
            for (int i = 0; i < len; i += w)
            {
                TanhOp.Reduce(Vector256.LoadUnsafe(ref xb, (nuint)i), out var n).StoreUnsafe(ref r0, (nuint)i);
                n.StoreUnsafe(ref n0, (nuint)i);
            }
            for (int i = 0; i < len; i += w)
                TanhOp.Expm1(Vector256.LoadUnsafe(ref r0, (nuint)i), Vector256.LoadUnsafe(ref n0, (nuint)i)).StoreUnsafe(ref r0, (nuint)i);
            for (int i = 0; i < len; i += w)
                TanhOp.Finish(Vector256.LoadUnsafe(ref r0, (nuint)i), Vector256.LoadUnsafe(ref xb, (nuint)i)).StoreUnsafe(ref yb, (nuint)i);
        }
        if (full == x.Length) return;
        // The tail as Map does it: the last vector overlapping it, or one zero-padded vector.
        if (full == 0 || Unsafe.AreSame(ref xs, ref ys)) Map<TanhOp>(x[full..], y[full..]);
        else TanhOp.Invoke(Vector256.LoadUnsafe(ref xs, (nuint)(x.Length - w))).StoreUnsafe(ref ys, (nuint)(x.Length - w));
    }

    /// <summary>
    /// <see cref="TanhStaged"/> on 512-bit vectors: the same blocks and passes, 16 values per vector, the last x.Length mod 16
    /// values by <see cref="TanhStaged"/>. Same bits as the 256-bit kernel (tested); measured on Zen 4, which splits each
    /// 512-bit operation in two, 47 against 53 µs on [2048, 64] (fewer instructions for the same work); where 512-bit
    /// arithmetic runs at full rate (Zen 5) it is the width that halves the activation's time. A copy of the 256-bit
    /// driver on purpose: one driver taking the width as a flag measured 3–5 % slower at both widths.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit] // the buffers are written before they are read
    private static void TanhStaged512(ReadOnlySpan<float> x, Span<float> y)
    {
        if (y.Length < x.Length) throw new ArgumentException($"Destination holds {y.Length} values, fewer than the {x.Length} inputs.", nameof(y));
        const int Block = 256;
        int w = Vector512<float>.Count, full = x.Length / w * w;
        Span<float> rs = stackalloc float[Block], ns = stackalloc float[Block];
        ref float xs = ref MemoryMarshal.GetReference(x), ys = ref MemoryMarshal.GetReference(y);
        ref float r0 = ref MemoryMarshal.GetReference(rs), n0 = ref MemoryMarshal.GetReference(ns);
        for (int b = 0; b < full; b += Block)
        {
            int len = Math.Min(Block, full - b);
            ref float xb = ref Unsafe.Add(ref xs, b), yb = ref Unsafe.Add(ref ys, b);
            for (int i = 0; i < len; i += w)
            {
                TanhOp.Reduce(Vector512.LoadUnsafe(ref xb, (nuint)i), out var n).StoreUnsafe(ref r0, (nuint)i);
                n.StoreUnsafe(ref n0, (nuint)i);
            }
            for (int i = 0; i < len; i += w)
                TanhOp.Expm1(Vector512.LoadUnsafe(ref r0, (nuint)i), Vector512.LoadUnsafe(ref n0, (nuint)i)).StoreUnsafe(ref r0, (nuint)i);
            for (int i = 0; i < len; i += w)
                TanhOp.Finish(Vector512.LoadUnsafe(ref r0, (nuint)i), Vector512.LoadUnsafe(ref xb, (nuint)i)).StoreUnsafe(ref yb, (nuint)i);
        }
        if (full < x.Length) TanhStaged(x[full..], y[full..]);
    }

    private readonly struct SigmoidOp : IFloatFunction
    {
        public static float Invoke(float x) => 1f / (1f + MathF.Exp(-x));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Invoke(Vector256<float> x) => Vector256.Create(1f) / (Vector256.Create(1f) + ExpVector(-x));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> c) => MicroKernels.Fma(a, b, c);

    /// <summary>exp(x) for any x: +∞ above ln(FLT_MAX), 0 below −87.34 (subnormal results flush), NaN stays NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ExpVector(Vector256<float> x)
    {
        Vector256<float> overflow = Vector256.GreaterThan(x, Vector256.Create(88.72283935546875f));
        Vector256<float> underflow = Vector256.LessThan(x, Vector256.Create(-87.33654022216797f));
        Vector256<float> y = ExpCore(Vector256.Min(Vector256.Max(x, Vector256.Create(-87.33654022216797f)), Vector256.Create(88.72283935546875f)), twoScalings: true);
        y = Vector256.ConditionalSelect(overflow, Vector256.Create(float.PositiveInfinity), y);
        y = Vector256.ConditionalSelect(underflow, Vector256<float>.Zero, y);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), y, x); // NaN stays NaN
    }

    /// <summary>
    /// exp(x) = 2ⁿ·exp(r) for x in [−87.34, 88.72]: n = round(x·log₂e), r = x − n·ln2 (ln2 split in two for an exact
    /// reduction), exp(r) by the Cephes expf polynomial. 2ⁿ goes into the exponent field — in two halves when n may
    /// reach 128 (<paramref name="twoScalings"/>), in one when the caller knows |n| ≤ 127.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ExpCore(Vector256<float> x, bool twoScalings)
    {
        // round to nearest by adding and subtracting 1.5·2²³ (exact for |v| < 2²²; here |n| ≤ 128)
        Vector256<float> shifter = Vector256.Create(12582912f);
        Vector256<float> n = Fma(x, Vector256.Create(1.44269504088896341f), shifter) - shifter;
        Vector256<float> r = Fma(n, Vector256.Create(-0.693359375f), x);
        r = Fma(n, Vector256.Create(2.12194440e-4f), r);
        Vector256<float> p = Vector256.Create(1.9875691500e-4f);
        p = Fma(p, r, Vector256.Create(1.3981999507e-3f));
        p = Fma(p, r, Vector256.Create(8.3334519073e-3f));
        p = Fma(p, r, Vector256.Create(4.1665795894e-2f));
        p = Fma(p, r, Vector256.Create(1.6666665459e-1f));
        p = Fma(p, r, Vector256.Create(5.0000001201e-1f));
        Vector256<float> y = Fma(p, r * r, r) + Vector256.Create(1f);
        Vector256<int> ni = Vector256.ConvertToInt32Native(n); // n is integral and |n| ≤ 128: no saturation fix-up needed
        if (!twoScalings) return y * Vector256.ShiftLeft(ni + Vector256.Create(127), 23).AsSingle();
        Vector256<int> half = Vector256.ShiftRightArithmetic(ni, 1);
        y *= Vector256.ShiftLeft(half + Vector256.Create(127), 23).AsSingle();
        return y * Vector256.ShiftLeft(ni - half + Vector256.Create(127), 23).AsSingle();
    }
}
