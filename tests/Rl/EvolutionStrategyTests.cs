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

    private static Es Make(int workers, long seed = 3, bool normalize = false) =>
        new(() => EnvRegistry.Make("CartPole-v1"), new EsSettings { Pairs = 8, HiddenSizes = [16], Workers = workers, Seed = seed, Sigma = 0.05,
            LearningRate = 0.03, NormalizeObservations = normalize });

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_generation_is_the_same_for_one_two_and_three_workers_and_a_resume_is_bit_identical(bool normalize)
    {
        var one = Make(1, normalize: normalize);
        var two = Make(2, normalize: normalize);
        var three = Make(3, normalize: normalize);
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
        if (normalize)
        {
            Assert.Equal(one.ObservationStatistics!.Mean, two.ObservationStatistics!.Mean);
            Assert.Equal(one.ObservationStatistics.Variance, three.ObservationStatistics!.Variance);
        }
        else Assert.Null(one.ObservationStatistics);
        // write after 4 generations, read into a fresh instance, run 3 more: as the uninterrupted run
        using var state = new MemoryStream();
        one.WriteState(new BinaryWriter(state));
        var resumed = Make(2, normalize: normalize);
        state.Position = 0;
        resumed.ReadState(new BinaryReader(state));
        for (int k = 0; k < 3; k++) { one.Iterate(); resumed.Iterate(); }
        Assert.Equal(one.Agent.Theta.Values.ToArray(), resumed.Agent.Theta.Values.ToArray());
        Assert.Equal(one.TotalSteps, resumed.TotalSteps);
        if (normalize) Assert.Equal(one.ObservationStatistics!.Mean, resumed.ObservationStatistics!.Mean);
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

    /// <summary>Observations far from N(0, 1) (mean 5, standard deviation 2), episodes of 3 to 12 steps; every
    /// observation it emits is logged with the episode it belongs to.</summary>
    private sealed class Logged : Env
    {
        public readonly List<(int Episode, float[] Observation)> Log = [];
        private int _episode = -1, _length;

        public Logged() : base(Box.Uniform(3, -100, 100), new Discrete(2)) { }

        protected override void ResetCore(Envs.Random.NumpyRandom random, Span<float> observation)
        {
            _episode++;
            _length = 3 + random.NextInt(10);
            Emit(random, observation);
        }

        protected override (double Reward, bool Terminated) StepCore(int action, Envs.Random.NumpyRandom random, Span<float> observation)
        {
            double reward = action == (Log[^1].Observation[0] > 5 ? 1 : 0) ? 1 : 0;
            Emit(random, observation);
            return (reward, ElapsedSteps + 1 >= _length);
        }

        private void Emit(Envs.Random.NumpyRandom random, Span<float> observation)
        {
            for (int c = 0; c < 3; c++) observation[c] = (float)(5 + 2 * random.Gaussian() * (c + 1));
            Log.Add((_episode, observation.ToArray()));
        }
    }

    [Fact]
    public void Normalization_statistics_are_those_of_every_observation_the_episodes_acted_on_and_the_policy_file_replays_them()
    {
        var envs = new System.Collections.Concurrent.ConcurrentBag<Logged>();
        var es = new Es(() => { var e = new Logged(); envs.Add(e); return e; },
            new EsSettings { Pairs = 6, HiddenSizes = [8], Workers = 2, NormalizeObservations = true, Seed = 5 });
        for (int k = 0; k < 3; k++) es.Iterate();
        // the observations acted on: each episode's but its last (the one after the final step)
        var acted = envs.SelectMany(e => e.Log.GroupBy(x => x.Episode).SelectMany(g => g.SkipLast(1))).Select(x => x.Observation).ToArray();
        Assert.Equal(es.TotalSteps, acted.Length);
        var stats = es.ObservationStatistics!;
        for (int c = 0; c < 3; c++)
        {
            double mean = acted.Average(o => (double)o[c]);
            double variance = acted.Average(o => (o[c] - mean) * (o[c] - mean));
            Assert.Equal(mean, stats.Mean[c], 1e-4);
            Assert.Equal(variance, stats.Variance[c], 1e-3 * variance);
        }
        Assert.Equal(acted.Length + 1e-4, stats.Count, 1e-9);
        // the policy file carries the statistics and acts on z(s): the same action as the agent on the normalized input
        var policy = TrainedPolicy.From(es, "logged");
        Assert.Equal(stats.Mean, policy.Normalizer!.Value.Mean);
        var tape = new Autodiff.Tape<float>();
        var z = new float[3];
        int[] action = new int[1];
        float[] logp = new float[1];
        foreach (var o in acted.Take(200))
        {
            Normalization.NormalizedVectorEnv.Normalize(o, z, stats.Mean, stats.Variance, Es.ObservationClip, true);
            es.Agent.Categorical!.Act(tape, z, new Autodiff.Rng(0), action, logp, deterministic: true);
            Assert.Equal(action[0], policy.Predict(o));
        }
    }

    [Fact]
    public void With_normalization_each_candidate_acts_on_z_of_s_under_the_statistics_at_the_generations_start()
    {
        var settings = new EsSettings { Pairs = 4, HiddenSizes = [8], Workers = 2, NormalizeObservations = true, Seed = 7, Sigma = 0.5 };
        var es = new Es(() => new Logged(), settings);
        es.Iterate(); // statistics away from (0, 1)
        float[] mu = es.Agent.Theta.Values.ToArray();
        double[] mean = es.ObservationStatistics!.Mean.ToArray(), variance = es.ObservationStatistics.Variance.ToArray();
        var episodes = es.Iterate().Episodes; // generation 1
        // replay every candidate by hand: θ = μ ± σε_j, the pair's environment seed, z(s) under the frozen statistics
        var agent = new ActorCritic(Box.Uniform(3, -100, 100), new Discrete(2), [8], Autodiff.Modules.Activation.Tanh, 0, new Autodiff.Rng(0));
        var epsilon = new double[mu.Length];
        var tape = new Autodiff.Tape<float>();
        var z = new float[3];
        int[] action = new int[1];
        float[] logp = new float[1];
        for (int j = 0; j < 8; j++)
        {
            EvolutionStrategyGradient.Noise(7, 1, j / 2, epsilon);
            for (int i = 0; i < mu.Length; i++) agent.Theta.Values[i] = (float)(mu[i] + (j % 2 == 0 ? 1 : -1) * 0.5 * epsilon[i]);
            var env = new Logged();
            var obs = env.Reset(7 * 1_000_003 + 1 * 4_099 + j / 2).ToArray();
            double total = 0;
            while (true)
            {
                Normalization.NormalizedVectorEnv.Normalize(obs, z, mean, variance, Es.ObservationClip, true);
                agent.Categorical!.Act(tape, z, new Autodiff.Rng(0), action, logp, deterministic: true);
                var r = env.Step(action[0]);
                total += r.Reward;
                obs = r.Observation.ToArray();
                if (r.Terminated || r.Truncated) break;
            }
            Assert.Equal(total, episodes[j].Return);
        }
    }
}
