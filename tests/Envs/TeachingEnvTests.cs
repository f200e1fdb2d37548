using PurePg.Envs.Random;
using PurePg.Envs.Teaching;

namespace PurePg.Envs.Tests;

/// <summary>The teaching environments' exact answers against independent computations: finite differences,
/// brute-force enumeration, and Monte Carlo with a confidence bound (4 standard errors).</summary>
public class TeachingEnvTests
{
    static void WithinStandardErrors(double exact, IReadOnlyList<double> samples, double k = 4, string what = "")
    {
        double mean = samples.Average();
        double variance = samples.Sum(x => (x - mean) * (x - mean)) / (samples.Count - 1);
        double se = Math.Sqrt(variance / samples.Count);
        Assert.True(Math.Abs(mean - exact) <= k * se + 1e-12,
            $"{what}: Monte Carlo mean {mean:G6} ± {se:G3} (SE) vs exact {exact:G6}: {Math.Abs(mean - exact) / se:F1} SE apart");
    }

    static double CentralDifference(Func<double, double> f, double x, double h = 1e-5) => (f(x + h) - f(x - h)) / (2 * h);

    // ---- one-step Gaussian ----

    [Fact]
    public void OneStepGaussian_gradients_match_finite_differences()
    {
        var arb = Gen.Choose(-300, 300).Four().Select(t => (t.Item1 / 100.0, t.Item2 / 100.0, t.Item3 / 100.0, t.Item4 / 100.0)).ToArbitrary();
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(100), Prop.ForAll(arb, p =>
        {
            var (a, b, mu, sigmaRaw) = p;
            double sigma = Math.Abs(sigmaRaw) + 0.1;
            var env = new OneStepGaussian(a, b, c: 0.7);
            Assert.Equal(CentralDifference(m => env.ExpectedReward(m, sigma), mu), env.GradientMu(mu, sigma), 8);
            Assert.Equal(CentralDifference(s => env.ExpectedReward(mu, s), sigma), env.GradientSigma(mu, sigma), 8);
        }));
    }

    [Fact]
    public void OneStepGaussian_expected_reward_matches_Monte_Carlo_through_the_environment()
    {
        var env = new OneStepGaussian();
        var random = new NumpyRandom(4);
        const double mu = 0.3, sigma = 0.8;
        var rewards = new double[100_000];
        env.Reset(seed: 0);
        for (int i = 0; i < rewards.Length; i++)
        {
            var r = env.Step((float)(mu + sigma * random.Gaussian()));
            Assert.True(r.Terminated);
            rewards[i] = r.Reward;
            env.Reset();
        }
        WithinStandardErrors(env.ExpectedReward(mu, sigma), rewards, what: "E[f]");
    }

    // ---- exploration chain ----

    [Theory]
    [InlineData(1, 2)]
    [InlineData(3, 2)]
    [InlineData(4, 3)]
    [InlineData(10, 2)]
    public void Chain_hit_probability_from_the_first_state_is_one_over_A_to_the_H(int length, int actions)
    {
        var chain = new ExplorationChain(length, actions);
        Assert.Equal(Math.Pow(1.0 / actions, length), chain.RandomPolicyHitProbabilityFromFirstState, 15);
        Assert.Equal(chain.RandomPolicyHitProbabilityFromFirstState, chain.RandomPolicyHitProbability(), 14);
    }

    [Theory]
    [InlineData(3, 2, ChainStart.FirstState)]
    [InlineData(3, 3, ChainStart.FirstState)]
    [InlineData(3, 2, ChainStart.UniformAlongChain)]
    [InlineData(4, 2, ChainStart.UniformAlongChain)]
    public void Chain_hit_probability_equals_brute_force_enumeration_through_the_environment(int length, int actions, ChainStart start)
    {
        var chain = new ExplorationChain(length, actions, start, lockSeed: 5);
        // Seeds that start the episode in each possible state.
        int starts = start == ChainStart.FirstState ? 1 : length;
        var seedFor = new long[starts];
        for (int s = 0; s < starts; s++)
        {
            long seed = 0;
            while (true) { chain.Reset(seed); if (chain.State == s) break; seed++; }
            seedFor[s] = seed;
        }
        double hits = 0;
        int sequences = (int)Math.Pow(actions, length);
        for (int s = 0; s < starts; s++)
            for (int code = 0; code < sequences; code++)
            {
                chain.Reset(seedFor[s]);
                int c = code;
                for (int h = 0; h < length; h++)
                {
                    var r = chain.Step(c % actions);
                    c /= actions;
                    if (r.Reward > 0) hits++;
                    if (r.Terminated) break;
                }
            }
        Assert.Equal(hits / sequences / starts, chain.RandomPolicyHitProbability(), 14);
    }

    [Fact]
    public void Chain_uniform_start_hit_probability_matches_Monte_Carlo_and_exceeds_the_first_state_one()
    {
        var chain = new ExplorationChain(6, 2, ChainStart.UniformAlongChain);
        var random = new NumpyRandom(8);
        var hits = new double[40_000];
        chain.Reset(seed: 1);
        for (int i = 0; i < hits.Length; i++)
        {
            StepResult r;
            do r = chain.Step(random.NextInt(2)); while (!r.Terminated);
            hits[i] = r.Reward;
            chain.Reset();
        }
        double exact = chain.RandomPolicyHitProbability();
        WithinStandardErrors(exact, hits, what: "hit probability");
        Assert.True(exact > 10 * chain.RandomPolicyHitProbabilityFromFirstState);
    }

    [Fact]
    public void Chain_rules_wrong_action_resets_and_the_horizon_ends_the_episode()
    {
        var chain = new ExplorationChain(5, 3);
        chain.Reset(seed: 0);
        var r = chain.Step(chain.CorrectAction(0));
        Assert.Equal(1, chain.State);
        Assert.Equal(1f, r.Observation[1]);
        r = chain.Step((chain.CorrectAction(1) + 1) % 3);
        Assert.Equal(0, chain.State);
        Assert.Equal(0.0, r.Reward);
        for (int h = 2; h < 5; h++) r = chain.Step(chain.CorrectAction(chain.State));
        Assert.True(r.Terminated); // 5 steps taken: the horizon
        Assert.Equal(0.0, r.Reward);
        chain.Reset();
        for (int s = 0; s < 5; s++) r = chain.Step(chain.CorrectAction(s));
        Assert.Equal(1.0, r.Reward);
        Assert.True(r.Terminated);
    }

    // ---- random tabular MDP ----

    static double[] RandomTheta(int n, int seed, double scale = 1.5)
    {
        var random = new NumpyRandom(seed);
        return Enumerable.Range(0, n).Select(_ => scale * random.Gaussian()).ToArray();
    }

    [Fact]
    public void Tabular_gradient_matches_finite_differences_of_the_exact_objective()
    {
        var arb = Gen.Choose(0, 10_000).Select(seed => seed).ToArbitrary();
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(25), Prop.ForAll(arb, seed =>
        {
            int nS = 2 + seed % 4, nA = 2 + seed / 4 % 3;
            TabularMdp mdp = seed % 3 == 0
                ? new TabularMdp(nS, nA, horizon: null, gamma: 0.9, seed)
                : new TabularMdp(nS, nA, horizon: 1 + seed % 7, gamma: seed % 2 == 0 ? 1.0 : 0.95, seed);
            var theta = RandomTheta(nS * nA, seed + 1);
            var g = mdp.Gradient(theta);
            for (int i = 0; i < theta.Length; i++)
            {
                double fd = CentralDifference(x =>
                {
                    var t = (double[])theta.Clone();
                    t[i] = x;
                    return mdp.Objective(t);
                }, theta[i]);
                Assert.True(Math.Abs(fd - g[i]) <= 1e-8 * (1 + Math.Abs(fd)), $"seed {seed}, θ[{i}]: exact {g[i]:R}, finite difference {fd:R}");
            }
        }));
    }

    [Fact]
    public void Tabular_objective_equals_brute_force_enumeration_of_trajectories()
    {
        var mdp = new TabularMdp(2, 2, horizon: 3, gamma: 0.8, seed: 3);
        var theta = RandomTheta(4, 9);
        var pi = mdp.Policy(theta);
        double total = 0;
        void Walk(int h, int s, double probability, double discountedReturn)
        {
            if (h == 3) { total += probability * discountedReturn; return; }
            for (int a = 0; a < 2; a++)
                for (int next = 0; next < 2; next++)
                    Walk(h + 1, next, probability * pi[s, a] * mdp.Transition(s, a, next), discountedReturn + Math.Pow(0.8, h) * mdp.Reward(s, a));
        }
        for (int s = 0; s < 2; s++) Walk(0, s, mdp.StartProbability(s), 0);
        Assert.Equal(total, mdp.Objective(theta), 13);
    }

    [Fact]
    public void Tabular_objective_matches_Monte_Carlo_through_the_environment()
    {
        var mdp = new TabularMdp(4, 3, horizon: 6, gamma: 1.0, seed: 12);
        var theta = RandomTheta(12, 13);
        var pi = mdp.Policy(theta);
        var random = new NumpyRandom(14);
        var returns = new double[30_000];
        mdp.Reset(seed: 15);
        for (int i = 0; i < returns.Length; i++)
        {
            double g = 0;
            StepResult r;
            do
            {
                int s = mdp.State, a = 0;
                double u = random.NextDouble(), c = pi[s, 0];
                while (u >= c && a < 2) c += pi[s, ++a];
                r = mdp.Step(a);
                g += r.Reward;
            } while (!r.Terminated);
            returns[i] = g;
            mdp.Reset();
        }
        WithinStandardErrors(mdp.Objective(theta), returns, what: "J(θ)");
    }

    [Fact]
    public void Tabular_infinite_discounted_answers_are_the_limit_of_long_horizons()
    {
        var infinite = new TabularMdp(5, 3, horizon: null, gamma: 0.9, seed: 21);
        var finite = new TabularMdp(5, 3, horizon: 400, gamma: 0.9, seed: 21); // γ^400 ≈ 5e-19
        var theta = RandomTheta(15, 22);
        Assert.Equal(finite.Objective(theta), infinite.Objective(theta), 11);
        var gi = infinite.Gradient(theta);
        var gf = finite.Gradient(theta);
        for (int i = 0; i < gi.Length; i++) Assert.Equal(gf[i], gi[i], 11);
        for (int s = 0; s < 5; s++)
            for (int a = 0; a < 3; a++)
                Assert.Equal(1.0, Enumerable.Range(0, 5).Sum(t => infinite.Transition(s, a, t)), 14);
        Assert.Equal(1.0, Enumerable.Range(0, 5).Sum(infinite.StartProbability), 14);
    }

    // ---- LQR ----

    [Fact]
    public void Lqr_optimal_gains_cost_what_the_Riccati_recursion_says_and_are_stationary_points()
    {
        var lqr = Lqr.DoubleIntegrator(horizon: 30);
        var (gains, cost) = lqr.Optimal();
        Assert.Equal(cost, lqr.ExpectedCost(h => gains[h]), 9);
        // The cost's derivative in every gain entry vanishes at the optimum (central differences, relative to the cost).
        for (int h = 0; h < 30; h += 7)
            for (int j = 0; j < 2; j++)
            {
                double Perturbed(double delta)
                {
                    var k = (double[,])gains[h].Clone();
                    k[0, j] += delta;
                    return lqr.ExpectedCost(t => t == h ? k : gains[t]);
                }
                double slope = (Perturbed(1e-4) - Perturbed(-1e-4)) / 2e-4;
                Assert.True(Math.Abs(slope) < 1e-7 * cost, $"h {h}, j {j}: slope {slope}");
                Assert.True(Perturbed(0.05) > cost && Perturbed(-0.05) > cost);
            }
    }

    [Fact]
    public void Lqr_no_stationary_gain_beats_the_optimum_and_the_stationary_Riccati_gain_is_the_long_horizon_limit()
    {
        var lqr = Lqr.DoubleIntegrator(horizon: 50);
        double optimum = lqr.OptimalCost;
        var kInf = lqr.StationaryGain();
        var random = new NumpyRandom(3);
        for (int i = 0; i < 50; i++)
        {
            var k = new double[,] { { kInf[0, 0] + 0.5 * random.Gaussian(), kInf[0, 1] + 0.5 * random.Gaussian() } };
            Assert.True(lqr.ExpectedCost(k) >= optimum);
        }
        Assert.InRange(lqr.ExpectedCost(kInf), optimum, optimum * 1.05);
        var longRun = Lqr.DoubleIntegrator(horizon: 3000).Optimal().Gains[0];
        Assert.Equal(longRun[0, 0], kInf[0, 0], 8);
        Assert.Equal(longRun[0, 1], kInf[0, 1], 8);
    }

    [Fact]
    public void Lqr_expected_cost_of_a_linear_Gaussian_policy_matches_Monte_Carlo_through_the_environment()
    {
        var lqr = Lqr.DoubleIntegrator(horizon: 40);
        var k = lqr.StationaryGain();
        const double actionStd = 0.3;
        var random = new NumpyRandom(5);
        var costs = new double[20_000];
        lqr.Reset(seed: 6);
        for (int i = 0; i < costs.Length; i++)
        {
            double total = 0;
            StepResult r;
            do
            {
                var x = lqr.Observation;
                double u = -(k[0, 0] * x[0] + k[0, 1] * x[1]) + 0.4 + actionStd * random.Gaussian();
                r = lqr.Step((float)u);
                total -= r.Reward;
            } while (!r.Terminated);
            costs[i] = total;
            lqr.Reset();
        }
        WithinStandardErrors(lqr.ExpectedCost(_ => k, actionStd, offset: [0.4]), costs, what: "LQR cost (with a constant offset 0.4)");
        Assert.True(lqr.ExpectedCost(_ => k, actionStd, offset: [0.4]) > lqr.ExpectedCost(k, actionStd));
    }
}
