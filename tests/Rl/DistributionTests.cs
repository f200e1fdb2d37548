using PurePg.Autodiff;
using PurePg.Rl.Distributions;

namespace PurePg.Rl.Tests;

public class DistributionTests
{
    internal static void WithinStandardErrors(double exact, IReadOnlyList<double> samples, string what, double k = 4)
    {
        double mean = samples.Average();
        double se = Math.Sqrt(samples.Sum(x => (x - mean) * (x - mean)) / (samples.Count - 1) / samples.Count);
        Assert.True(Math.Abs(mean - exact) <= k * se + 1e-12, $"{what}: Monte Carlo {mean:G6} ± {se:G3} vs exact {exact:G6}");
    }

    static double[] Uniform(Rng rng, int n, double lo, double hi) => Enumerable.Range(0, n).Select(_ => lo + (hi - lo) * rng.NextDouble()).ToArray();

    static double[] Softmax(ReadOnlySpan<double> row)
    {
        double max = double.NegativeInfinity;
        foreach (double z in row) max = Math.Max(max, z);
        var e = new double[row.Length];
        for (int j = 0; j < row.Length; j++) e[j] = Math.Exp(row[j] - max);
        double total = e.Sum();
        return e.Select(x => x / total).ToArray();
    }

    // Tolerances here are |expected − actual| ≤ 10⁻¹², not xunit's "equal after rounding to 12 places": with random
    // inputs, two values 10⁻¹⁶ apart can round to different 12th digits (CI saw 0.60217660786749994 vs …50005).
    [Fact]
    public void Categorical_probabilities_sum_to_one_and_entropy_and_KL_match_their_formulas()
    {
        var arb = Gen.Choose(0, 100_000).ToArbitrary();
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(50), Prop.ForAll(arb, seed =>
        {
            var rng = new Rng((ulong)seed);
            int rows = 1 + rng.NextInt(6), cols = 2 + rng.NextInt(6);
            double[] logits = Uniform(rng, rows * cols, -4, 4), oldLogits = Uniform(rng, rows * cols, -4, 4);
            var tape = new Tape<double>();
            var pi = new Categorical<double>(tape, tape.Constant(logits, rows, cols));
            var logProbs = tape.Value(pi.LogProbs()).ToArray();
            var entropy = tape.Value(pi.Entropy()).ToArray();
            var kl = tape.Value(pi.KlFrom(oldLogits)).ToArray();
            for (int r = 0; r < rows; r++)
            {
                double[] p = Softmax(logits.AsSpan(r * cols, cols)), q = Softmax(oldLogits.AsSpan(r * cols, cols));
                Assert.Equal(1.0, Enumerable.Range(0, cols).Sum(j => Math.Exp(logProbs[r * cols + j])), 1e-12);
                Assert.Equal(-p.Sum(x => x * Math.Log(x)), entropy[r], 1e-12);
                Assert.Equal(Enumerable.Range(0, cols).Sum(j => q[j] * Math.Log(q[j] / p[j])), kl[r], 1e-12);
            }
        }));
    }

    [Fact]
    public void Categorical_entropy_and_KL_match_Monte_Carlo_over_sampled_actions()
    {
        var rng = new Rng(3);
        const int n = 40_000;
        double[] logits = [0.3, -1.2, 2.0, 0.0], oldLogits = [1.0, 0.5, -0.5, 0.2];
        var tape = new Tape<double>();
        var pi = new Categorical<double>(tape, tape.Constant(Enumerable.Range(0, n).SelectMany(_ => logits).ToArray(), n, 4));
        var old = new Categorical<double>(tape, tape.Constant(Enumerable.Range(0, n).SelectMany(_ => oldLogits).ToArray(), n, 4));
        var actions = new int[n];
        pi.Sample(rng, actions);
        var logProb = tape.Value(pi.LogProb(actions)).ToArray();
        WithinStandardErrors(tape.Value(pi.Entropy())[0], logProb.Select(x => -x).ToArray(), "entropy");
        old.Sample(rng, actions);
        var lpOld = tape.Value(old.LogProb(actions)).ToArray();
        var lpNew = tape.Value(pi.LogProb(actions)).ToArray();
        WithinStandardErrors(tape.Value(pi.KlFrom(Enumerable.Range(0, n).SelectMany(_ => oldLogits).ToArray()))[0],
            lpOld.Zip(lpNew, (a, b) => a - b).ToArray(), "KL");
    }

    [Fact]
    public void Categorical_gradients_match_finite_differences()
    {
        var rng = new Rng(5);
        var theta = new ParameterSet<double>();
        var z = theta.Add("z", 5, 4);
        Uniform(rng, 20, -3, 3).CopyTo(theta.Slice(z));
        int[] actions = [0, 3, 1, 2, 2];
        double[] oldLogits = Uniform(rng, 20, -3, 3);
        var result = GradCheck.Check(theta, t =>
        {
            var pi = new Categorical<double>(t, t.Parameter(theta, z));
            return t.Mean(pi.LogProb(actions)) + t.Mean(pi.Entropy()) + t.Mean(pi.KlFrom(oldLogits));
        }, seed: 1, directions: 5);
        Assert.True(result.Passed, result.ToString());
    }

    [Fact]
    public void Categorical_is_finite_at_logits_of_magnitude_a_thousand_in_float()
    {
        var theta = new ParameterSet<float>();
        var z = theta.Add("z", 3, 3);
        float[] logits = [1000f, -1000f, 0f, -1000f, -999f, -1000f, 1000f, 1000f, 999f];
        logits.CopyTo(theta.Slice(z));
        var tape = new Tape<float> { CheckFinite = true }; // throws on the first non-finite value or gradient
        var pi = new Categorical<float>(tape, tape.Parameter(theta, z));
        var loss = tape.Mean(pi.LogProb([1, 0, 2])) + tape.Mean(pi.Entropy()) + tape.Mean(pi.KlFrom([0f, 0f, 0f, 1000f, 0f, -1000f, 1f, 2f, 3f]));
        tape.Backward(loss);
        Assert.Equal(-2000f, tape.Value(pi.LogProb([1, 0, 2]))[0]);
        Assert.All(tape.GradientOf(theta).ToArray(), g => Assert.True(float.IsFinite(g)));
    }

    [Fact]
    public void Gaussian_log_density_entropy_and_KL_match_closed_forms()
    {
        var arb = Gen.Choose(0, 100_000).ToArbitrary();
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(50), Prop.ForAll(arb, seed =>
        {
            var rng = new Rng((ulong)seed);
            int rows = 1 + rng.NextInt(5), d = 1 + rng.NextInt(4);
            double[] mu = Uniform(rng, rows * d, -2, 2), logStd = Uniform(rng, d, -1.5, 1), a = Uniform(rng, rows * d, -3, 3);
            double[] oldMu = Uniform(rng, rows * d, -2, 2), oldLogStd = Uniform(rng, d, -1.5, 1);
            var tape = new Tape<double>();
            var pi = new DiagonalGaussian<double>(tape, tape.Constant(mu, rows, d), tape.Constant(logStd, 1, d));
            var logProb = tape.Value(pi.LogProb(a)).ToArray();
            var kl = tape.Value(pi.KlFrom(oldMu, oldLogStd)).ToArray();
            double entropy = tape.Value(pi.Entropy())[0];
            double expectedEntropy = 0;
            for (int j = 0; j < d; j++) expectedEntropy += 0.5 * Math.Log(2 * Math.PI * Math.E * Math.Exp(2 * logStd[j]));
            Assert.Equal(expectedEntropy, entropy, 1e-12);
            for (int r = 0; r < rows; r++)
            {
                double density = 1, klExpected = 0;
                for (int j = 0; j < d; j++)
                {
                    double s = Math.Exp(logStd[j]), so = Math.Exp(oldLogStd[j]), x = a[r * d + j] - mu[r * d + j];
                    density *= Math.Exp(-x * x / (2 * s * s)) / (s * Math.Sqrt(2 * Math.PI));
                    klExpected += Math.Log(s / so) + (so * so + Math.Pow(oldMu[r * d + j] - mu[r * d + j], 2)) / (2 * s * s) - 0.5;
                }
                // relative to the magnitude: the values reach ~10², where 12 absolute decimals would be below double resolution
                Assert.True(Math.Abs(Math.Log(density) - logProb[r]) <= 1e-12 * (1 + Math.Abs(logProb[r])), $"log density {logProb[r]:R} vs {Math.Log(density):R}");
                Assert.True(Math.Abs(klExpected - kl[r]) <= 1e-12 * (1 + Math.Abs(klExpected)), $"KL {kl[r]:R} vs {klExpected:R}");
            }
        }));
    }

    [Fact]
    public void Gaussian_entropy_and_KL_match_Monte_Carlo()
    {
        var rng = new Rng(11);
        const int n = 40_000;
        double[] mu = [0.5, -1.0], logStd = [-0.3, 0.4], oldMu = [0.0, -0.5], oldLogStd = [0.1, 0.2];
        var tape = new Tape<double>();
        var pi = new DiagonalGaussian<double>(tape, tape.Constant(Enumerable.Range(0, n).SelectMany(_ => mu).ToArray(), n, 2), tape.Constant(logStd, 1, 2));
        var old = new DiagonalGaussian<double>(tape, tape.Constant(Enumerable.Range(0, n).SelectMany(_ => oldMu).ToArray(), n, 2), tape.Constant(oldLogStd, 1, 2));
        var a = new double[2 * n];
        pi.Sample(rng, a);
        WithinStandardErrors(tape.Value(pi.Entropy())[0], tape.Value(pi.LogProb(a)).ToArray().Select(x => -x).ToArray(), "entropy");
        old.Sample(rng, a);
        var diff = tape.Value(old.LogProb(a)).ToArray().Zip(tape.Value(pi.LogProb(a)).ToArray(), (x, y) => x - y).ToArray();
        WithinStandardErrors(tape.Value(pi.KlFrom(Enumerable.Range(0, n).SelectMany(_ => oldMu).ToArray(), oldLogStd))[0], diff, "KL");
    }

    [Fact]
    public void Gaussian_gradients_match_finite_differences_and_log_std_is_clamped()
    {
        var rng = new Rng(7);
        var theta = new ParameterSet<double>();
        var mu = theta.Add("mu", 4, 3);
        var ls = theta.Add("log_std", 1, 3);
        Uniform(rng, 12, -2, 2).CopyTo(theta.Slice(mu));
        Uniform(rng, 3, -1, 1).CopyTo(theta.Slice(ls));
        double[] a = Uniform(rng, 12, -2, 2), oldMu = Uniform(rng, 12, -2, 2);
        var result = GradCheck.Check(theta, t =>
        {
            var pi = new DiagonalGaussian<double>(t, t.Parameter(theta, mu), t.Parameter(theta, ls));
            return t.Mean(pi.LogProb(a)) + pi.Entropy() + t.Mean(pi.KlFrom(oldMu, [0.1, -0.2, 0.3]));
        }, seed: 2, directions: 5);
        Assert.True(result.Passed, result.ToString());

        theta.Slice(ls).Fill(-50); // far below the clamp: σ = e⁻²⁰, not 0
        var tape = new Tape<double> { CheckFinite = true };
        var pi = new DiagonalGaussian<double>(tape, tape.Parameter(theta, mu), tape.Parameter(theta, ls));
        Assert.Equal(-20.0, tape.Value(pi.LogStd)[0]);
        tape.Backward(tape.Mean(pi.LogProb(tape.Value(pi.Mean).ToArray())));
        Assert.All(tape.GradientOf(theta).Slice(12, 3).ToArray(), g => Assert.Equal(0.0, g));
    }
}
