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
    [Fact] public void TanhWithinFourUlpsIncludingNearZero()
    {
        Sweep(VectorMath.Tanh, Math.Tanh, -10, 10, 4, "Tanh");
        Sweep(VectorMath.Tanh, Math.Tanh, -0.7, 0.7, 4, "Tanh");
        Sweep(VectorMath.Tanh, Math.Tanh, -1e-4, 1e-4, 4, "Tanh");
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
        VectorMath.Tanh(xv, tv);
        VectorMath.Sigmoid(xv, sv);
        Assert.True(float.IsNaN(ev[0]) && float.IsNaN(tv[0]) && float.IsNaN(sv[0]), "NaN in, NaN out");
        Assert.Equal([float.PositiveInfinity, 0f, float.PositiveInfinity, float.PositiveInfinity, 0f, 0f, 1f, 1f], ev[1..9]);
        Assert.Equal([1f, -1f, 1f, 1f, -1f, -1f, 0f, -0f], tv[1..9]);
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
            float[] y = new float[n];
            VectorMath.Tanh(x, y);
            float[] inPlace = (float[])x.Clone();
            VectorMath.Tanh(inPlace, inPlace);
            for (int i = 0; i < n; i++)
            {
                Assert.True(Ulps(y[i], Math.Tanh(x[i])) <= 4, $"n={n} i={i}");
                Assert.True(Ulps(inPlace[i], Math.Tanh(x[i])) <= 4, $"in place n={n} i={i}");
            }
        }
    }
}
