using PurePg.Autodiff.Kernels;

namespace PurePg.Autodiff.Tests;

/// <summary>Our float Exp/Tanh/Sigmoid kernels against double-precision references, in ulps, including special values and every tail length.</summary>
public class VectorMathTests
{
    private delegate void Kernel(ReadOnlySpan<float> x, Span<float> y);

    /// <summary>|y − exact| in units of the float spacing at |exact| (the ulp), so small results are judged at their own scale.</summary>
    private static double Ulps(float y, double exact)
    {
        if (double.IsInfinity(exact) || double.IsNaN(exact)) return y.Equals((float)exact) ? 0 : double.PositiveInfinity;
        double ulp = Math.Max(MathF.BitIncrement(MathF.Abs((float)exact)) - MathF.Abs((float)exact), float.Epsilon);
        return Math.Abs(y - exact) / ulp;
    }

    private static void Sweep(Kernel kernel, Func<double, double> exact, double lo, double hi, double maxUlps, string name)
    {
        var rng = new Rng(17);
        float[] x = new float[4099];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(lo + (hi - lo) * rng.NextDouble());
        float[] y = new float[x.Length];
        kernel(x, y);
        for (int i = 0; i < x.Length; i++)
        {
            double u = Ulps(y[i], exact(x[i]));
            Assert.True(u <= maxUlps, $"{name}({x[i]:R}) = {y[i]:R}, exact {exact(x[i]):R}: {u:F1} ulp > {maxUlps}");
        }
    }

    [Fact] public void ExpWithinFourUlps() => Sweep(VectorMath.Exp, Math.Exp, -87, 88.7, 4, "Exp");
    /// <summary>Runs <paramref name="body"/> with float tanh at each vector width (it follows the GEMM's kernel choice), on any machine.</summary>
    private static void AtBothWidths(Action<GemmIsa> body)
    {
        foreach (GemmIsa isa in (GemmIsa[])[GemmIsa.Vector256, GemmIsa.Vector512])
        {
            Gemm.IsaOverride = isa;
            try { body(isa); }
            finally { Gemm.IsaOverride = null; }
        }
    }

    [Fact] public void TanhWithinFourUlpsIncludingNearZero() => AtBothWidths(isa =>
    {
        Sweep(VectorMath.Tanh, Math.Tanh, -10, 10, 4, $"Tanh {isa}");
        Sweep(VectorMath.Tanh, Math.Tanh, -0.7, 0.7, 4, $"Tanh {isa}");
        Sweep(VectorMath.Tanh, Math.Tanh, -1e-4, 1e-4, 4, $"Tanh {isa}");
    });

    [Fact]
    public void Tanh_gives_the_same_bits_at_both_widths_for_every_length_in_and_out_of_place()
    {
        var rng = new Rng(5);
        float[] specials = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, 9.1f, -9.1f, 1e-30f, float.Epsilon];
        foreach (int n in Enumerable.Range(0, 3 * 16 + 2).Concat([255, 256, 257, 263, 271, 520, 1029, 4099]))
        {
            float[] x = Enumerable.Range(0, n).Select(i => i % 7 == 3 ? specials[i % specials.Length] : (float)(rng.NextDouble() * 24 - 12)).ToArray();
            var outs = new List<(float[] Out, float[] InPlace)>();
            AtBothWidths(_ =>
            {
                float[] y = new float[n], inPlace = (float[])x.Clone();
                VectorMath.Tanh(x, y);
                VectorMath.Tanh(inPlace, inPlace);
                outs.Add((y, inPlace));
            });
            for (int i = 0; i < n; i++)
            {
                Assert.True(BitConverter.SingleToInt32Bits(outs[0].Out[i]) == BitConverter.SingleToInt32Bits(outs[1].Out[i]),
                    $"n={n} i={i} tanh({x[i]:R}): 256-bit {outs[0].Out[i]:R}, 512-bit {outs[1].Out[i]:R}");
                Assert.True(BitConverter.SingleToInt32Bits(outs[0].Out[i]) == BitConverter.SingleToInt32Bits(outs[1].InPlace[i]),
                    $"n={n} i={i} tanh({x[i]:R}) in place at 512 bits: {outs[1].InPlace[i]:R}, 256-bit {outs[0].Out[i]:R}");
                Assert.True(BitConverter.SingleToInt32Bits(outs[0].Out[i]) == BitConverter.SingleToInt32Bits(outs[0].InPlace[i]),
                    $"n={n} i={i} tanh({x[i]:R}) in place at 256 bits: {outs[0].InPlace[i]:R}, out of place {outs[0].Out[i]:R}");
            }
        }
    }
    [Fact] public void SigmoidWithinFourUlps() => Sweep(VectorMath.Sigmoid, x => 1 / (1 + Math.Exp(-x)), -80, 80, 4, "Sigmoid");

    [Fact]
    public void SpecialValues()
    {
        float[] x = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 89f, 1000f, -88f, -1000f, 0f, -0f];
        float[] e = new float[x.Length], t = new float[x.Length], s = new float[x.Length];
        // pad to a full vector so the vector path, not the scalar fallback, sees every special value
        float[] xv = [.. x, .. new float[16 - x.Length]];
        float[] ev = new float[16], tv = new float[16], sv = new float[16];
        VectorMath.Exp(xv, ev);
        VectorMath.Sigmoid(xv, sv);
        Assert.True(float.IsNaN(ev[0]) && float.IsNaN(sv[0]), "NaN in, NaN out");
        Assert.Equal([float.PositiveInfinity, 0f, float.PositiveInfinity, float.PositiveInfinity, 0f, 0f, 1f, 1f], ev[1..9]);
        AtBothWidths(isa =>
        {
            VectorMath.Tanh(xv, tv);
            Assert.True(float.IsNaN(tv[0]), $"tanh {isa}: NaN in, NaN out");
            Assert.Equal([1f, -1f, 1f, 1f, -1f, -1f, 0f, -0f], tv[1..9]);
        });
        Assert.Equal([1f, 0f, 1f, 1f, (float)(1 / (1 + Math.Exp(88))), 0f, 0.5f, 0.5f], sv[1..9]); // σ(−88) = e⁻⁸⁸ is a subnormal float
    }

    [Fact]
    public void EveryLengthAndInPlace()
    {
        var rng = new Rng(3);
        // every short length, and lengths around the 256-value blocks the tanh kernel works in
        foreach (int n in Enumerable.Range(0, 2 * 16 + 2).Concat([255, 256, 257, 263, 520, 1029]))
        {
            float[] x = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 6 - 3)).ToArray();
            AtBothWidths(isa =>
            {
                float[] y = new float[n];
                VectorMath.Tanh(x, y);
                float[] inPlace = (float[])x.Clone();
                VectorMath.Tanh(inPlace, inPlace);
                for (int i = 0; i < n; i++)
                {
                    Assert.True(Ulps(y[i], Math.Tanh(x[i])) <= 4, $"{isa} n={n} i={i}");
                    Assert.True(Ulps(inPlace[i], Math.Tanh(x[i])) <= 4, $"{isa} in place n={n} i={i}");
                }
            });
        }
    }
}
