using PurePg.Envs;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Estimators;
using PurePg.Rl.Policies;

namespace PurePg.Rl.Tests;

/// <summary>The ES gradient ĝ of U(μ) = E[F(μ + σε)] against closed forms, within its standard error measured over
/// independent generations (z = 4.5 for every component); antithetic pairs against plain sampling at equal evaluations.</summary>
public class EvolutionStrategyTests
{
    private static (double[] Mean, double[] StandardError, double TotalVariance) Estimates(Func<double[], double> f, double[] mu, double sigma,
        int evaluations, bool antithetic, int generations)
    {
        int d = mu.Length;
        var all = new double[generations][];
        var theta = new double[d];
        var epsilon = new double[d];
        for (int k = 0; k < generations; k++)
        {
            int n = antithetic ? evaluations / 2 : evaluations;
            var fitness = new double[evaluations];
            for (int j = 0; j < n; j++)
            {
                EvolutionStrategyGradient.Noise(7, k, j, epsilon);
                for (int s = 0; s < (antithetic ? 2 : 1); s++)
                {
                    double sign = s == 0 ? 1 : -1;
                    for (int i = 0; i < d; i++) theta[i] = mu[i] + sign * sigma * epsilon[i];
                    fitness[antithetic ? 2 * j + s : j] = f(theta);
                }
            }
            all[k] = new double[d];
            EvolutionStrategyGradient.Estimate(fitness, antithetic, sigma, 7, k, all[k]);
        }
        var mean = Enumerable.Range(0, d).Select(i => all.Average(g => g[i])).ToArray();
        var variance = Enumerable.Range(0, d).Select(i => all.Sum(g => (g[i] - mean[i]) * (g[i] - mean[i])) / (generations - 1)).ToArray();
        return (mean, variance.Select(v => Math.Sqrt(v / generations)).ToArray(), variance.Sum());
    }

    private static readonly double[] Mu = [0.3, -1.2, 0.8, 2.0, -0.5];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_estimate_of_a_quadratic_matches_its_exact_gradient(bool antithetic)
    {
        double[] c = [1, 0, -1, 0.5, 2];
        // U(μ) = −Σ(μ_i − c_i)² − dσ², so ∇U = −2(μ − c) exactly
        var (mean, se, _) = Estimates(t => -t.Select((x, i) => (x - c[i]) * (x - c[i])).Sum(), Mu, 0.1, 100, antithetic, 400);
        for (int i = 0; i < Mu.Length; i++)
            Assert.True(Math.Abs(mean[i] + 2 * (Mu[i] - c[i])) <= 4.5 * se[i], $"component {i}: {mean[i]} ± {se[i]} vs {-2 * (Mu[i] - c[i])}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_estimate_of_a_sine_matches_the_gradient_of_its_Gaussian_smoothing(bool antithetic)
    {
        // U(μ) = Σ E[sin(μ_i + σε_i)] = Σ sin(μ_i) e^{−σ²/2}, so ∂U/∂μ_i = cos(μ_i) e^{−σ²/2}: at σ = 0.8 that is 0.726 cos μ_i
        const double sigma = 0.8;
        var (mean, se, _) = Estimates(t => t.Sum(Math.Sin), Mu, sigma, 100, antithetic, 400);
        for (int i = 0; i < Mu.Length; i++)
        {
            double exact = Math.Cos(Mu[i]) * Math.Exp(-sigma * sigma / 2);
            Assert.True(Math.Abs(mean[i] - exact) <= 4.5 * se[i], $"component {i}: {mean[i]} ± {se[i]} vs {exact}");
            Assert.True(se[i] < 0.02, $"component {i}: SE {se[i]} too large for the test to see the smoothing factor");
        }
    }

    [Fact]
    public void Antithetic_pairs_have_lower_variance_at_equal_evaluations()
    {
        double[] c = [1, 0, -1, 0.5, 2];
        Func<double[], double> f = t => 3 - t.Select((x, i) => (x - c[i]) * (x - c[i])).Sum(); // a large F: plain sampling pays for it
        double plain = Estimates(f, Mu, 0.1, 100, antithetic: false, 200).TotalVariance;
        double paired = Estimates(f, Mu, 0.1, 100, antithetic: true, 200).TotalVariance;
        Assert.True(paired < 0.2 * plain, $"antithetic {paired:G3} vs plain {plain:G3}");
    }

    [Fact]
    public void Centered_ranks_span_minus_half_to_half_and_ignore_the_scale_of_returns()
    {
        double[] ranks = new double[5];
        EvolutionStrategyGradient.CenteredRanks([10, -3, 500, 7, 7], ranks);
        Assert.Equal([0.25, -0.5, 0.5, -0.25, 0.0], ranks);
    }

    private static Es Make(int workers, long seed = 3) =>
        new(() => EnvRegistry.Make("CartPole-v1"), new EsSettings { Pairs = 8, HiddenSizes = [16], Workers = workers, Seed = seed, Sigma = 0.05, LearningRate = 0.03 });

    [Fact]
    public void A_generation_is_the_same_for_one_two_and_three_workers_and_a_resume_is_bit_identical()
    {
        var one = Make(1);
        var two = Make(2);
        var three = Make(3);
        for (int k = 0; k < 4; k++)
        {
            var m1 = one.Iterate();
            var m2 = two.Iterate();
            three.Iterate();
            Assert.Equal(m1.Episodes, m2.Episodes);
        }
        Assert.Equal(one.Agent.Theta.Values.ToArray(), two.Agent.Theta.Values.ToArray());
        Assert.Equal(one.Agent.Theta.Values.ToArray(), three.Agent.Theta.Values.ToArray());
        Assert.Equal(one.TotalSteps, two.TotalSteps);
        // write after 4 generations, read into a fresh instance, run 3 more: as the uninterrupted run
        using var state = new MemoryStream();
        one.WriteState(new BinaryWriter(state));
        var resumed = Make(2);
        state.Position = 0;
        resumed.ReadState(new BinaryReader(state));
        for (int k = 0; k < 3; k++) { one.Iterate(); resumed.Iterate(); }
        Assert.Equal(one.Agent.Theta.Values.ToArray(), resumed.Agent.Theta.Values.ToArray());
        Assert.Equal(one.TotalSteps, resumed.TotalSteps);
        Assert.NotEqual(Make(1, seed: 4).Iterate().Episodes, Make(1).Iterate().Episodes); // the seed matters
    }

    [Fact]
    public void The_algorithms_parallel_gradient_is_the_estimators_bit_for_bit()
    {
        foreach (int workers in new[] { 1, 2, 3 })
        {
            var es = Make(workers);
            es.Iterate();
            var metrics = es.Iterate(); // generation 1
            double[] shaped = new double[metrics.Episodes.Count], expected = new double[es.Agent.Theta.Count];
            EvolutionStrategyGradient.CenteredRanks(metrics.Episodes.Select(e => e.Return).ToArray(), shaped);
            EvolutionStrategyGradient.Estimate(shaped, antithetic: true, 0.05, 3, generation: 1, expected);
            Assert.Equal(expected, es.LastGradient.ToArray());
        }
    }

    [Fact]
    public void Es_with_its_defaults_solves_CartPole()
    {
        var es = new Es(() => EnvRegistry.Make("CartPole-v1"), new EsSettings { Workers = 2 });
        double mean = 0;
        while (es.TotalSteps < 300_000 && mean < 475)
        {
            es.Iterate();
            if (es.Generation % 5 == 0) mean = Evaluation.Evaluate(TrainedPolicy.From(es, "CartPole-v1"), EnvRegistry.Make("CartPole-v1"), 10, seed: 9).Mean;
        }
        Assert.True(mean >= 475, $"{mean} after {es.TotalSteps} steps");
    }
}
