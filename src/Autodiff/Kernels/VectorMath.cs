using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace PurePg.Autodiff.Kernels;

/// <summary>
/// Transcendental functions over spans. For float (training) these are our own Vector256 kernels: TensorPrimitives'
/// float Exp/Tanh/Sigmoid run at scalar speed in the package version we use (≈ 1–2 ns per element measured on the
/// project's machine, against ≈ 0.2 ns here). For double (gradient checks) TensorPrimitives' accurate versions are used,
/// which also makes double the reference the float kernels are tested against.
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

    /// <summary>y = tanh(x).</summary>
    public static void Tanh<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float) && Vector256.IsHardwareAccelerated) Map<TanhOp>(Cast(x), Cast(y));
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

    /// <summary>The one driver for y = f(x): full vectors, then the last vector overlapping the tail (or scalars when shorter than a vector).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Map<TOp>(ReadOnlySpan<float> x, Span<float> y) where TOp : IFloatFunction
    {
        if (y.Length < x.Length) throw new ArgumentException($"Destination holds {y.Length} values, fewer than the {x.Length} inputs.", nameof(y));
        int n = x.Length, w = Vector256<float>.Count, i = 0;
        ref float xs = ref MemoryMarshal.GetReference(x);
        ref float ys = ref MemoryMarshal.GetReference(y);
        if (n < w)
        {
            for (; i < n; i++) Unsafe.Add(ref ys, i) = TOp.Invoke(Unsafe.Add(ref xs, i));
            return;
        }
        for (; i <= n - w; i += w) TOp.Invoke(Vector256.LoadUnsafe(ref xs, (nuint)i)).StoreUnsafe(ref ys, (nuint)i);
        // In-place safe: recomputing the overlap from x is only wrong if y aliases x, so fall back to scalars then.
        if (i < n)
        {
            if (Unsafe.AreSame(ref xs, ref ys)) for (; i < n; i++) Unsafe.Add(ref ys, i) = TOp.Invoke(Unsafe.Add(ref xs, i));
            else TOp.Invoke(Vector256.LoadUnsafe(ref xs, (nuint)(n - w))).StoreUnsafe(ref ys, (nuint)(n - w));
        }
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

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Invoke(Vector256<float> x)
        {
            // |x| < 0.625: tanh x = x + x·z·P(z), z = x² (Cephes tanhf); else 1 − 2 / (exp(2|x|) + 1) with x's sign.
            Vector256<float> ax = Vector256.Abs(x);
            Vector256<float> z = x * x;
            Vector256<float> p = Vector256.Create(-5.70498872745e-3f);
            p = Fma(p, z, Vector256.Create(2.06390887954e-2f));
            p = Fma(p, z, Vector256.Create(-5.37397155531e-2f));
            p = Fma(p, z, Vector256.Create(1.33314422036e-1f));
            p = Fma(p, z, Vector256.Create(-3.33332819422e-1f));
            Vector256<float> small = Fma(p * z, x, x);
            // Past 9.1, 2e^(−2x) is under half the float spacing below 1, so tanh rounds to exactly 1 (tanh 9 does not).
            Vector256<float> e = ExpCore(Vector256.Min(ax, Vector256.Create(9.1f)) * Vector256.Create(2f), twoScalings: false); // in [0, 18.2]
            Vector256<float> large = Vector256.Create(1f) - Vector256.Create(2f) / (e + Vector256.Create(1f));
            large = Vector256.ConditionalSelect(Vector256.Create(-0f), x, large); // copy x's sign bit
            Vector256<float> result = Vector256.ConditionalSelect(Vector256.LessThan(ax, Vector256.Create(0.625f)), small, large);
            return Vector256.ConditionalSelect(Vector256.Equals(x, x), result, x); // NaN stays NaN
        }
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
