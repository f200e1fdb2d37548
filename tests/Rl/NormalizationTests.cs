using PurePg.Envs.ClassicControl;
using PurePg.Envs.Vector;
using PurePg.Rl.Normalization;

namespace PurePg.Rl.Tests;

public class NormalizationTests
{
    [Fact]
    public void Running_statistics_equal_the_closed_form_merge_of_the_prior_with_all_data()
    {
        var rng = new System.Random(1);
        var stats = new RunningMeanStd(3);
        var all = new List<float[]>();
        for (int batch = 0; batch < 20; batch++)
        {
            int rows = 1 + rng.Next(9);
            var x = new float[rows * 3];
            for (int i = 0; i < x.Length; i++) x[i] = (float)(5 * rng.NextDouble() - 1 + i % 3);
            stats.Update(x, rows);
            for (int r = 0; r < rows; r++) all.Add(x.AsSpan(r * 3, 3).ToArray());
        }
        // prior: weight c₀ = 10⁻⁴, mean 0, variance 1; merged with n points of mean m and population variance v:
        // mean = n m/(n + c₀), var = (c₀ + n v + m² c₀ n/(n + c₀))/(n + c₀)
        double c0 = 1e-4, n = all.Count;
        for (int c = 0; c < 3; c++)
        {
            double m = all.Average(v => (double)v[c]), v = all.Average(r => (r[c] - m) * (r[c] - m));
            Assert.Equal(n * m / (n + c0), stats.Mean[c], 10);
            Assert.Equal((c0 + n * v + m * m * c0 * n / (n + c0)) / (n + c0), stats.Variance[c], 9);
        }
        Assert.Equal(n + c0, stats.Count, 9);
    }

    [Fact]
    public void Observations_and_rewards_are_normalized_as_VecNormalize_does_and_raw_rewards_are_kept()
    {
        var raw = new SyncVectorEnv(() => new Pendulum { MaxEpisodeSteps = 30 }, 3);
        var reference = new SyncVectorEnv(() => new Pendulum { MaxEpisodeSteps = 30 }, 3);
        var env = new NormalizedVectorEnv(raw, gamma: 0.9);
        env.Reset(seed: 4);
        reference.Reset(seed: 4);
        var obsStats = new RunningMeanStd(3);
        var retStats = new RunningMeanStd(1);
        obsStats.Update(reference.Observations, 3);
        var returns = new double[3];
        var actions = new float[3];
        var random = new System.Random(2);
        for (int t = 0; t < 100; t++)
        {
            for (int i = 0; i < 3; i++) actions[i] = (float)(4 * random.NextDouble() - 2);
            env.Step(actions);
            reference.Step(actions);
            obsStats.Update(reference.Observations, 3);
            var g = new float[3];
            for (int i = 0; i < 3; i++) g[i] = (float)(returns[i] = returns[i] * 0.9 + reference.Rewards[i]);
            retStats.Update(g, 3);
            for (int i = 0; i < 3; i++)
            {
                Assert.Equal(reference.Rewards[i], env.RawRewards[i]);
                double expected = Math.Clamp(reference.Rewards[i] / Math.Sqrt(retStats.Variance[0] + 1e-8), -10, 10);
                Assert.True(Math.Abs(expected - env.Rewards[i]) <= 1e-5 * (1 + Math.Abs(expected)), $"step {t}, copy {i}: reward {env.Rewards[i]} vs {expected}");
                for (int c = 0; c < 3; c++)
                {
                    double z = Math.Clamp((reference.Observations[i * 3 + c] - obsStats.Mean[c]) / Math.Sqrt(obsStats.Variance[c] + 1e-8), -10, 10);
                    Assert.True(Math.Abs(z - env.Observations[i * 3 + c]) <= 1e-5 * (1 + Math.Abs(z)), $"step {t}, copy {i}, feature {c}");
                }
                if (reference.Terminated[i] || reference.Truncated[i]) returns[i] = 0;
            }
        }
        // frozen statistics while evaluating
        env.Training = false;
        double before = env.ObservationStatistics.Count;
        env.Step(actions);
        Assert.Equal(before, env.ObservationStatistics.Count);
    }
}
