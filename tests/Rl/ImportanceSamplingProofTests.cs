using PurePg.Autodiff;
using PurePg.Envs.Teaching;
using PurePg.Rl.Estimators;
using Trajectory = PurePg.Rl.Tests.ShippedEstimatorProofTests.Trajectory;

namespace PurePg.Rl.Tests;

/// <summary>
/// The off-policy estimators (<see cref="TrajectoryImportanceSampling"/>, <see cref="PerDecisionImportanceSampling"/>,
/// <see cref="PerStepImportanceSampling"/>) on seeded random tabular MDPs, with episodes drawn from a behaviour policy
/// π_β ≠ π_θ and the gradient taken through the library's path (the policy on the tape, the estimator's
/// <c>Accumulate</c>). Three independent references: the exact ∇J(θ) of the MDP (dynamic programming); the exact
/// expectation of each estimate, by enumerating every trajectory (or every batch of two) with its probability under π_β;
/// and a direct evaluation of each formula written here from the probabilities (quotients of probabilities and the
/// softmax's analytic score e_a − π(·|s), not the library's log-space path).
/// </summary>
public class ImportanceSamplingProofTests
{
    public enum Kind { Full, PerDecision, PerStep }

    internal sealed record OffPolicy(EstimatorProofTests.Setup Target, double[,] Behaviour, TabularValues BehaviourValues)
    {
        public int H => Target.H;
        public int S => Target.Mdp.NumStates;
        public int A => Target.Mdp.NumActions;
        public double Gamma => Target.Mdp.Gamma;
    }

    /// <summary>π_β = softmax(log π_θ + distance·N(0, 1)) per state.</summary>
    internal static OffPolicy Make(EstimatorProofTests.Setup target, double distance, ulong seed)
    {
        int nS = target.Mdp.NumStates, nA = target.Mdp.NumActions;
        var rng = new Rng(seed);
        var theta = new double[nS * nA];
        for (int s = 0; s < nS; s++)
            for (int a = 0; a < nA; a++) theta[s * nA + a] = Math.Log(target.Pi[s, a]) + distance * rng.NextGaussian();
        var values = target.Mdp.Values(theta);
        return new OffPolicy(target, values.Policy, values);
    }

    static OffPolicy Small(double gamma, double distance = 1.0) =>
        Make(EstimatorProofTests.Make(seed: 5, states: 2, actions: 2, horizon: 3, gamma: gamma), distance, seed: 77);

    readonly Tape<double> _tape = new();

    /// <summary>The estimate from one batch of episodes, through the library. With <paramref name="onPolicy"/> the
    /// behaviour's log-probabilities are the target's own (recorded by the same network), so every ρ is exactly 1.</summary>
    internal double[] Estimate(OffPolicy op, Kind kind, IReadOnlyList<(int[] States, int[] Actions, double[] Rewards)> batch,
        ImportanceSamplingOptions options = default, bool onPolicy = false)
    {
        int h = op.H, nS = op.S, m = batch.Count, n = m * h;
        var onehot = new double[n * nS];
        var actions = new int[n];
        var rewards = new double[n];
        var logB = new double[n];
        var advantages = new double[n];
        var g = new double[h];
        for (int i = 0; i < m; i++)
        {
            var (states, acts, rs) = batch[i];
            Returns.RewardToGo(rs, g, op.Gamma);
            for (int t = 0; t < h; t++)
            {
                int k = i * h + t;
                onehot[k * nS + states[t]] = 1;
                actions[k] = acts[t];
                rewards[k] = rs[t];
                logB[k] = Math.Log(op.Behaviour[states[t], acts[t]]);
                advantages[k] = Math.Pow(op.Gamma, t) * g[t];
            }
        }
        var lengths = Enumerable.Repeat(h, m).ToArray();
        _tape.Reset();
        _tape.ZeroGradients();
        var logProb = op.Target.Policy.Distribution(_tape, _tape.Constant(onehot, n, nS)).LogProb(actions);
        if (onPolicy) _tape.Value(logProb).CopyTo(logB);
        var coefficients = new double[n];
        _ = kind switch
        {
            Kind.Full => TrajectoryImportanceSampling.Accumulate(_tape, logProb, logB, rewards, lengths, op.Gamma, coefficients, options),
            Kind.PerDecision => PerDecisionImportanceSampling.Accumulate(_tape, logProb, logB, rewards, lengths, op.Gamma, coefficients, options),
            _ => PerStepImportanceSampling.Accumulate(_tape, logProb, logB, advantages, coefficients, 1.0 / m, options),
        };
        return _tape.GradientOf(op.Target.Policy.Parameters).ToArray();
    }

    static (int[], int[], double[]) Of(Trajectory t) => (t.States, t.Actions, t.Rewards);
    static (int[], int[], double[]) Of(EstimatorProofTests.Episode e) => (e.States, e.Actions, e.Rewards);

    /// <summary>∇_θ log π_θ(a|s) of the tabular softmax in θ's layout (W [A, S] row-major, then b [A]), times w, added to g.</summary>
    static void AddScore(OffPolicy op, int s, int a, double w, double[] g)
    {
        for (int b = 0; b < op.A; b++)
        {
            double d = ((a == b ? 1 : 0) - op.Target.Pi[s, b]) * w;
            g[b * op.S + s] += d;
            g[op.S * op.A + b] += d;
        }
    }

    static double Ratio(OffPolicy op, int s, int a, double c) => Math.Min(op.Target.Pi[s, a] / op.Behaviour[s, a], c);

    /// <summary>The direct formulas for a batch, from probabilities: weights w_{i,t} per kind, truncation c, and
    /// self-normalization by the batch mean written out.</summary>
    static double[] Direct(OffPolicy op, Kind kind, IReadOnlyList<(int[] States, int[] Actions, double[] Rewards)> batch, double c, bool selfNormalized)
    {
        int h = op.H, m = batch.Count;
        double gamma = op.Gamma;
        // per-step ratio products: rho[i][t] = min(ρ, c); prod[i][t] = Π_{k≤t} rho[i][k]
        var rho = new double[m][];
        var prod = new double[m][];
        for (int i = 0; i < m; i++)
        {
            rho[i] = new double[h];
            prod[i] = new double[h];
            double p = 1;
            for (int t = 0; t < h; t++)
            {
                rho[i][t] = Ratio(op, batch[i].States[t], batch[i].Actions[t], c);
                p *= rho[i][t];
                prod[i][t] = p;
            }
        }
        var g = new double[op.Target.ExactGradient.Length];
        for (int i = 0; i < m; i++)
        {
            var (states, actions, rewards) = batch[i];
            for (int t = 0; t < h; t++)
            {
                double w = 0;
                switch (kind)
                {
                    case Kind.Full:
                        double total = 0;
                        for (int u = 0; u < h; u++) total += Math.Pow(gamma, u) * rewards[u];
                        double mean = selfNormalized ? Enumerable.Range(0, m).Average(j => prod[j][h - 1]) : 1;
                        w = prod[i][h - 1] / mean * total;
                        break;
                    case Kind.PerDecision:
                        for (int u = t; u < h; u++)
                        {
                            double meanU = selfNormalized ? Enumerable.Range(0, m).Average(j => prod[j][u]) : 1;
                            w += Math.Pow(gamma, u) * prod[i][u] / meanU * rewards[u];
                        }
                        break;
                    default:
                        double rtg = 0;
                        for (int u = t; u < h; u++) rtg += Math.Pow(gamma, u) * rewards[u];
                        double meanRho = selfNormalized ? rho.SelectMany(x => x).Average() : 1;
                        w = rho[i][t] / meanRho * rtg;
                        break;
                }
                AddScore(op, states[t], actions[t], w / m, g);
            }
        }
        return g;
    }

    static double[] ExpectationOverSingles(List<Trajectory> all, Func<Trajectory, double[]> estimate)
    {
        double[]? sum = null;
        foreach (var tau in all)
        {
            var e = estimate(tau);
            sum ??= new double[e.Length];
            for (int k = 0; k < e.Length; k++) sum[k] += tau.Probability * e[k];
        }
        return sum!;
    }

    static double[] ExpectationOverPairs(List<Trajectory> all, Func<Trajectory, Trajectory, double[]> estimate)
    {
        double[]? sum = null;
        foreach (var x in all)
            foreach (var y in all)
            {
                var e = estimate(x, y);
                sum ??= new double[e.Length];
                for (int k = 0; k < e.Length; k++) sum[k] += x.Probability * y.Probability * e[k];
            }
        return sum!;
    }

    static double Norm(double[] x) => Math.Sqrt(x.Sum(v => v * v));

    static void AssertClose(double[] expected, double[] actual, string what)
    {
        double scale = Norm(expected);
        for (int k = 0; k < expected.Length; k++)
            Assert.True(Math.Abs(expected[k] - actual[k]) <= 1e-10 * (1 + scale), $"{what}, component {k}: {actual[k]:R} vs {expected[k]:R}");
    }

    /// <summary>Σ_t γ^t Σ_s d^β_t(s) Σ_a β(a|s) min(π_θ/β, c) ∇log π_θ(a|s) Q^β_t(s,a): the exact expectation of the
    /// per-step estimator with Ĝ_t = γ^t G_t, by dynamic programming over π_β's state distributions and values.</summary>
    static double[] PerStepPrediction(OffPolicy op, double c)
    {
        var g = new double[op.Target.ExactGradient.Length];
        var vb = op.BehaviourValues;
        for (int t = 0; t < op.H; t++)
            for (int s = 0; s < op.S; s++)
                for (int a = 0; a < op.A; a++)
                    AddScore(op, s, a, Math.Pow(op.Gamma, t) * vb.StateDistribution[t][s] * op.Behaviour[s, a] * Ratio(op, s, a, c) * vb.Q[t][s, a], g);
        return g;
    }

    public static TheoryData<Kind, double> KindsAndDiscounts()
    {
        var data = new TheoryData<Kind, double>();
        foreach (var kind in new[] { Kind.Full, Kind.PerDecision })
            foreach (double gamma in new[] { 1.0, 0.7 })
                data.Add(kind, gamma);
        return data;
    }

    [Theory]
    [MemberData(nameof(KindsAndDiscounts))]
    public void Full_ratio_and_per_decision_are_exactly_unbiased_off_policy(Kind kind, double gamma)
    {
        var op = Small(gamma);
        var all = ShippedEstimatorProofTests.Enumerate(op.Target, op.Behaviour);
        var expectation = ExpectationOverSingles(all, tau => Estimate(op, kind, [Of(tau)]));
        AssertClose(op.Target.ExactGradient, expectation, $"E_β[{kind}] vs ∇J(θ), γ = {gamma}");
        var direct = ExpectationOverSingles(all, tau => Direct(op, kind, [Of(tau)], double.PositiveInfinity, false));
        AssertClose(direct, expectation, $"{kind}: library vs direct formula");
    }

    public static TheoryData<Kind, int> SampledCases()
    {
        var data = new TheoryData<Kind, int>();
        foreach (var kind in new[] { Kind.Full, Kind.PerDecision })
            foreach (int mdp in new[] { 0, 1, 2 })
                data.Add(kind, mdp);
        return data;
    }

    [Theory]
    [MemberData(nameof(SampledCases))]
    public void Full_ratio_and_per_decision_are_unbiased_within_Bonferroni_bounds_on_sampled_episodes(Kind kind, int mdp)
    {
        var op = Make(EstimatorProofTests.Mdp(mdp), distance: 0.5, seed: (ulong)(40 + mdp));
        var episodes = EstimatorProofTests.Sample(op.Target, 20_000, seed: 9, policy: op.Behaviour);
        var estimates = episodes.Select(e => Estimate(op, kind, [Of(e)])).ToArray();
        var (mean, se, _) = EstimatorProofTests.Summarize(estimates);
        var violation = EstimatorProofTests.FirstViolation(op.Target, mean, se);
        Assert.True(violation is null, $"{kind} on MDP {mdp}: {violation}");
    }

    [Fact]
    public void At_theta_equal_to_beta_every_form_is_the_on_policy_estimator_number_for_number()
    {
        var setup = EstimatorProofTests.Mdp(1);
        var op = new OffPolicy(setup, setup.Pi, setup.Values);
        var episodes = EstimatorProofTests.Sample(setup, 200, seed: 3);
        var total = EstimatorProofTests.Estimates(setup, EstimatorProofTests.Estimator.TotalReturn, episodes, episodes);
        var rtg = EstimatorProofTests.Estimates(setup, EstimatorProofTests.Estimator.RewardToGo, episodes, episodes);
        foreach (bool normalized in new[] { false, true })
        {
            var options = new ImportanceSamplingOptions { SelfNormalized = normalized, Truncation = normalized ? 1.0 : null };
            for (int i = 0; i < episodes.Length; i++)
            {
                Assert.Equal(total[i], Estimate(op, Kind.Full, [Of(episodes[i])], options, onPolicy: true));
                Assert.Equal(rtg[i], Estimate(op, Kind.PerDecision, [Of(episodes[i])], options, onPolicy: true));
                Assert.Equal(rtg[i], Estimate(op, Kind.PerStep, [Of(episodes[i])], options, onPolicy: true));
            }
        }
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.7)]
    public void The_per_step_approximation_is_exact_at_beta_and_far_from_it_has_the_bias_the_exact_computation_predicts(double gamma)
    {
        foreach (double distance in new[] { 0.0, 1.5 })
        {
            var op = Small(gamma, distance);
            var all = ShippedEstimatorProofTests.Enumerate(op.Target, op.Behaviour);
            var expectation = ExpectationOverSingles(all, tau => Estimate(op, Kind.PerStep, [Of(tau)]));
            var predicted = PerStepPrediction(op, double.PositiveInfinity);
            AssertClose(predicted, expectation, $"E_β[per-step] vs Σ d^β π_θ ∇log π_θ Q^β at distance {distance}");
            double bias = Norm(predicted.Zip(op.Target.ExactGradient, (p, e) => p - e).ToArray()), norm = Norm(op.Target.ExactGradient);
            if (distance == 0) AssertClose(op.Target.ExactGradient, expectation, "per-step at θ = β");
            else Assert.True(bias > 0.1 * norm, $"the per-step estimator's bias {bias:G3} is not visible beside ‖∇J‖ = {norm:G3}");
        }
    }

    [Fact]
    public void Truncation_is_biased_by_exactly_the_enumerated_amount_and_the_bias_shows_in_samples()
    {
        const double c = 1.0;
        var op = Small(0.9, distance: 1.5);
        var options = new ImportanceSamplingOptions { Truncation = c };
        var all = ShippedEstimatorProofTests.Enumerate(op.Target, op.Behaviour);
        foreach (var kind in new[] { Kind.Full, Kind.PerDecision, Kind.PerStep })
        {
            var expectation = ExpectationOverSingles(all, tau => Estimate(op, kind, [Of(tau)], options));
            AssertClose(ExpectationOverSingles(all, tau => Direct(op, kind, [Of(tau)], c, false)), expectation, $"truncated {kind}: library vs direct");
            if (kind == Kind.PerStep) AssertClose(PerStepPrediction(op, c), expectation, "truncated per-step vs dynamic programming");
            double bias = Norm(expectation.Zip(op.Target.ExactGradient, (p, e) => p - e).ToArray());
            Assert.True(bias > 0.1 * Norm(op.Target.ExactGradient), $"truncated {kind}: bias {bias:G3} too small to show");

            // measured: the sample mean sits on the enumerated expectation, not on ∇J
            var episodes = EstimatorProofTests.Sample(op.Target, 20_000, seed: 12, policy: op.Behaviour);
            var (mean, se, _) = EstimatorProofTests.Summarize(episodes.Select(e => Estimate(op, kind, [Of(e)], options)).ToArray());
            var biased = new EstimatorProofTests.Setup { Mdp = op.Target.Mdp, Policy = op.Target.Policy, ExactGradient = expectation, Pi = op.Target.Pi, Values = op.Target.Values };
            Assert.True(EstimatorProofTests.FirstViolation(biased, mean, se) is null, $"truncated {kind}: {EstimatorProofTests.FirstViolation(biased, mean, se)}");
            Assert.NotNull(EstimatorProofTests.FirstViolation(op.Target, mean, se));
        }
    }

    [Fact]
    public void Self_normalization_is_biased_in_small_batches_by_exactly_the_enumerated_amount_and_the_bias_shows_in_samples()
    {
        var op = Small(0.9, distance: 1.5);
        var options = new ImportanceSamplingOptions { SelfNormalized = true };
        var all = ShippedEstimatorProofTests.Enumerate(op.Target, op.Behaviour);
        foreach (var kind in new[] { Kind.Full, Kind.PerDecision, Kind.PerStep })
        {
            // every batch of M = 2 episodes, with its probability
            var expectation = ExpectationOverPairs(all, (x, y) => Estimate(op, kind, [Of(x), Of(y)], options));
            AssertClose(ExpectationOverPairs(all, (x, y) => Direct(op, kind, [Of(x), Of(y)], double.PositiveInfinity, true)), expectation,
                $"self-normalized {kind}: library vs direct");
            double bias = Norm(expectation.Zip(op.Target.ExactGradient, (p, e) => p - e).ToArray());
            Assert.True(bias > 0.02 * Norm(op.Target.ExactGradient), $"self-normalized {kind}: bias {bias:G3} too small to show");

            // measured on 20,000 sampled batches of two
            var episodes = EstimatorProofTests.Sample(op.Target, 40_000, seed: 13, policy: op.Behaviour);
            var estimates = Enumerable.Range(0, 20_000).Select(b => Estimate(op, kind, [Of(episodes[2 * b]), Of(episodes[2 * b + 1])], options)).ToArray();
            var (mean, se, _) = EstimatorProofTests.Summarize(estimates);
            var biased = new EstimatorProofTests.Setup { Mdp = op.Target.Mdp, Policy = op.Target.Policy, ExactGradient = expectation, Pi = op.Target.Pi, Values = op.Target.Values };
            Assert.True(EstimatorProofTests.FirstViolation(biased, mean, se) is null, $"self-normalized {kind}: {EstimatorProofTests.FirstViolation(biased, mean, se)}");
            Assert.NotNull(EstimatorProofTests.FirstViolation(op.Target, mean, se));
        }
    }
}
