using PurePg.Rl.Estimators;

namespace PurePg.Rl.Tests;

/// <summary>The importance-sampling estimators' numerics: weights formed in log space, an overflow reported rather than
/// returned as ∞, bad input named, float agreeing with double, the effective sample size, and no allocation per batch.</summary>
public class ImportanceSamplingSafetyTests
{
    [Fact]
    public void A_trajectory_weight_that_overflows_float_is_reported_and_self_normalization_avoids_it()
    {
        // two episodes of 100 steps, log ρ = 1 and 0.99 per step: W = e^100 and e^99 (beyond float's e^88.7)
        int h = 100;
        var logTarget = new float[2 * h];
        var logBehaviour = new float[2 * h];
        var rewards = new float[2 * h];
        for (int t = 0; t < 2 * h; t++) (logBehaviour[t], rewards[t]) = (t < h ? -1f : -0.99f, 1f);
        var coefficients = new float[2 * h];
        int[] lengths = [h, h];
        var e = Assert.Throws<OverflowException>(() => TrajectoryImportanceSampling.Coefficients<float>(logTarget, logBehaviour, rewards, lengths, 1.0, coefficients));
        Assert.True(e.Message.Contains("importance weight exp(100) of episode 0 overflows Single"), e.Message);
        e = Assert.Throws<OverflowException>(() => PerDecisionImportanceSampling.Coefficients<float>(logTarget, logBehaviour, rewards, lengths, 1.0, coefficients));
        Assert.True(e.Message.Contains("episode 0 at step 88"), e.Message); // P_88 = e^89 is the first product past float's e^88.7

        var stats = TrajectoryImportanceSampling.Coefficients<float>(logTarget, logBehaviour, rewards, lengths, 1.0, coefficients, new() { SelfNormalized = true });
        // W̃ = 2 W_i / (W_0 + W_1): 2/(1 + e^−1) and 2/(e + 1), times R = 100
        Assert.Equal(100 * 2 / (1 + Math.Exp(-1)), coefficients[0], 3);
        Assert.Equal(100 * 2 / (Math.E + 1), coefficients[h], 3);
        Assert.Equal(100.0, stats.MaxLogWeight, 3);
        Assert.True(coefficients.All(float.IsFinite));

        // the same batch fits in double
        var coefficientsD = new double[2 * h];
        TrajectoryImportanceSampling.Coefficients<double>(logTarget.Select(x => (double)x).ToArray(), logBehaviour.Select(x => (double)x).ToArray(),
            rewards.Select(x => (double)x).ToArray(), lengths, 1.0, coefficientsD);
        Assert.Equal(Math.Exp(100) * 100, coefficientsD[0], Math.Exp(100) * 100 * 1e-5);
    }

    [Fact]
    public void Bad_input_is_named()
    {
        var ok = new double[] { -1, -1, -1 };
        var c = new double[3];
        var e = Assert.Throws<ArgumentException>(() => PerStepImportanceSampling.Coefficients<double>(ok, [-1, double.NaN, -1], ok, c));
        Assert.Contains("log π_β(a|s) at step 1 is NaN", e.Message);
        e = Assert.Throws<ArgumentException>(() => PerStepImportanceSampling.Coefficients<double>(ok, [-1, -1, double.NegativeInfinity], ok, c));
        Assert.Contains("step 2", e.Message);
        e = Assert.Throws<ArgumentException>(() => PerStepImportanceSampling.Coefficients<double>([double.NaN, -1, -1], ok, ok, c));
        Assert.Contains("log π_θ(a|s) at step 0 is NaN", e.Message);
        e = Assert.Throws<ArgumentException>(() => TrajectoryImportanceSampling.Coefficients<double>(ok, ok, ok, [1, 1], 1.0, c));
        Assert.Contains("add up to 2 steps but the batch has 3", e.Message);
        e = Assert.Throws<ArgumentException>(() => PerDecisionImportanceSampling.Coefficients<double>(ok, ok, ok, [3, 0], 1.0, c));
        Assert.Contains("episode 1 has length 0", e.Message);
        e = Assert.Throws<ArgumentException>(() => PerStepImportanceSampling.Coefficients<double>(ok, ok, [1.0, 2.0], c));
        Assert.Contains("3 log π_θ values, 2 advantages", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => PerStepImportanceSampling.Coefficients<double>(ok, ok, ok, c, new() { Truncation = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => PerDecisionImportanceSampling.Coefficients<double>(ok, ok, ok, [3], 1.5, c));
    }

    [Fact]
    public void Float_agrees_with_double_and_the_effective_sample_size_is_what_its_formula_says()
    {
        var random = new Random(5);
        int n = 60;
        int[] lengths = [20, 25, 15];
        var lt = Enumerable.Range(0, n).Select(_ => -random.NextDouble() * 2).ToArray();
        var lb = Enumerable.Range(0, n).Select(_ => -random.NextDouble() * 2).ToArray();
        var r = Enumerable.Range(0, n).Select(_ => random.NextDouble()).ToArray();
        foreach (var options in new ImportanceSamplingOptions[] { new(), new() { Truncation = 1.5 }, new() { SelfNormalized = true } })
        {
            var d = new double[n];
            var f = new float[n];
            var sd = PerDecisionImportanceSampling.Coefficients<double>(lt, lb, r, lengths, 0.95, d, options);
            var sf = PerDecisionImportanceSampling.Coefficients<float>(F(lt), F(lb), F(r), lengths, 0.95, f, options);
            for (int t = 0; t < n; t++) Assert.True(Math.Abs(d[t] - f[t]) <= 1e-4 * (1 + Math.Abs(d[t])), $"{options} step {t}: {f[t]} vs {d[t]}");
            Assert.Equal(sd.EffectiveSampleSize, sf.EffectiveSampleSize, 3);
        }
        // ESS of the per-step ratios against (Σρ)²/Σρ² written out
        var c = new double[n];
        var stats = PerStepImportanceSampling.Coefficients<double>(lt, lb, r, c);
        var rho = lt.Zip(lb, (a, b) => Math.Exp(a - b)).ToArray();
        Assert.Equal(rho.Sum() * rho.Sum() / rho.Sum(x => x * x), stats.EffectiveSampleSize, 10);
        Assert.Equal(n, stats.Count);
        // truncation at c cuts exactly the ratios above c
        stats = PerStepImportanceSampling.Coefficients<double>(lt, lb, r, c, new() { Truncation = 1.0 });
        Assert.Equal(rho.Count(x => x > 1.0) / (double)n, stats.TruncatedFraction, 12);
        for (int t = 0; t < n; t++) Assert.Equal(Math.Min(rho[t], 1.0) * r[t], c[t], 12);
        // equal weights: ESS is the count
        Assert.Equal(n, PerStepImportanceSampling.Coefficients<double>(lt, lt, r, c).EffectiveSampleSize, 9);
    }

    [Fact]
    public void Self_normalized_per_decision_weights_divide_by_the_mean_over_the_episodes_still_running()
    {
        int[] lengths = [3, 1, 2];
        double[] lt = [-0.2, -1.0, -0.5, -0.7, -0.1, -0.3], lb = [-0.9, -0.4, -0.6, -0.2, -0.8, -0.5], r = [1, 2, 3, 4, 5, 6];
        double gamma = 0.9;
        var c = new double[6];
        PerDecisionImportanceSampling.Coefficients<double>(lt, lb, r, lengths, gamma, c, new() { SelfNormalized = true });
        // P_{i,t} = Π_{k≤t} π_θ/π_β, written out per episode; step 0 has 3 episodes running, step 1 two, step 2 one
        double[][] p = new double[3][];
        for (int i = 0, start = 0; i < 3; start += lengths[i++])
        {
            p[i] = new double[lengths[i]];
            double prod = 1;
            for (int t = 0; t < lengths[i]; t++) p[i][t] = prod *= Math.Exp(lt[start + t]) / Math.Exp(lb[start + t]);
        }
        double[] mean = [(p[0][0] + p[1][0] + p[2][0]) / 3, (p[0][1] + p[2][1]) / 2, p[0][2]];
        for (int i = 0, start = 0; i < 3; start += lengths[i++])
            for (int t = 0; t < lengths[i]; t++)
            {
                double expected = 0;
                for (int u = t; u < lengths[i]; u++) expected += Math.Pow(gamma, u) * p[i][u] / mean[u] * r[start + u];
                Assert.Equal(expected, c[start + t], 12);
            }
    }

    [Fact]
    public void No_allocation_per_batch_after_the_first()
    {
        int n = 512;
        var lt = new float[n];
        var lb = new float[n];
        var r = new float[n];
        var c = new float[n];
        for (int t = 0; t < n; t++) (lt[t], lb[t], r[t]) = (-0.5f - t % 7 * 0.1f, -0.6f, 1f);
        int[] lengths = [200, 300, 12];
        var options = new ImportanceSamplingOptions { SelfNormalized = true, Truncation = 2 };
        void All()
        {
            TrajectoryImportanceSampling.Coefficients<float>(lt, lb, r, lengths, 0.99, c, options);
            PerDecisionImportanceSampling.Coefficients<float>(lt, lb, r, lengths, 0.99, c, options);
            PerStepImportanceSampling.Coefficients<float>(lt, lb, r, c, options);
        }
        Allocations.NoneInSteadyState(All, calls: 10, warmUp: 1, what: "batches of the three estimators");
    }

    static float[] F(double[] x) => x.Select(v => (float)v).ToArray();
}
