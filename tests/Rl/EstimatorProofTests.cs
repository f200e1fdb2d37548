using PurePg.Autodiff;
using PurePg.Autodiff.Modules;
using PurePg.Envs.Teaching;
using PurePg.Rl.Estimators;
using PurePg.Rl.Policies;

namespace PurePg.Rl.Tests;

/// <summary>
/// Each policy-gradient estimator, averaged over many sampled episodes of a random tabular MDP, against the exact ∇J(θ)
/// of the MDP: every component within z standard errors, z = max(4, √(2 ln(2K/10⁻⁴))) for K components (a Bonferroni
/// correction). The gradient goes through the library's own path: the policy network on the tape and
/// <see cref="PolicyGradient.Accumulate"/>. A deliberately biased estimator (an action-dependent baseline) must fail the
/// same check.
/// </summary>
public class EstimatorProofTests
{
    public enum Estimator { Score, TotalReturn, RewardToGo, ConstantBaseline, TimeBaseline, StateBaseline, LearnedStateBaseline, VarianceOptimal, ActionDependentBaseline }

    /// <summary>A tabular softmax policy as the library's network: one-hot s → logits W[·, s] + b, no hidden layer.</summary>
    internal sealed class Setup
    {
        public required TabularMdp Mdp;
        public required CategoricalMlpPolicy<double> Policy;
        public required double[] ExactGradient; // in θ's layout: W [A, S] row-major, then b [A]
        public required double[,] Pi;
        public required TabularValues Values;
        public int H => Mdp.Horizon!.Value;
    }

    internal static Setup Make(int seed, int states, int actions, int horizon, double gamma)
    {
        var mdp = new TabularMdp(states, actions, horizon, gamma, seed);
        var theta = new ParameterSet<double>();
        var policy = new CategoricalMlpPolicy<double>(theta, states, [], actions);
        var rng = new Rng((ulong)seed + 100);
        var tabular = new double[states * actions];
        for (int s = 0; s < states; s++)
            for (int a = 0; a < actions; a++)
            {
                tabular[s * actions + a] = rng.NextGaussian();
                theta.Slice(policy.Network.Layers[0].Weight)[a * states + s] = tabular[s * actions + a];
            }
        var values = mdp.Values(tabular);
        double[] g = values.Gradient();
        var exact = new double[theta.Count];
        for (int s = 0; s < states; s++)
            for (int a = 0; a < actions; a++)
            {
                exact[a * states + s] = g[s * actions + a];          // ∂J/∂W[a,s] = ∂J/∂θ[s,a]
                exact[states * actions + a] += g[s * actions + a];   // ∂J/∂b[a] = Σ_s ∂J/∂θ[s,a]
            }
        return new Setup { Mdp = mdp, Policy = policy, ExactGradient = exact, Pi = values.Policy, Values = values };
    }

    internal sealed record Episode(int[] States, int[] Actions, double[] Rewards);

    internal static Episode[] Sample(Setup setup, int count, ulong seed, double[,]? policy = null)
    {
        var pi = policy ?? setup.Pi;
        var rng = new Rng(seed);
        var episodes = new Episode[count];
        setup.Mdp.Reset(seed: (long)seed);
        for (int i = 0; i < count; i++)
        {
            var s = new int[setup.H];
            var a = new int[setup.H];
            var r = new double[setup.H];
            for (int h = 0; h < setup.H; h++)
            {
                s[h] = setup.Mdp.State;
                double u = rng.NextDouble(), c = 0;
                int action = setup.Mdp.NumActions - 1;
                for (int b = 0; b < setup.Mdp.NumActions; b++)
                {
                    c += pi[s[h], b];
                    if (u < c) { action = b; break; }
                }
                a[h] = action;
                var result = setup.Mdp.Step(action);
                r[h] = result.Reward;
                Assert.Equal(h == setup.H - 1, result.Terminated);
            }
            episodes[i] = new Episode(s, a, r);
            setup.Mdp.Reset();
        }
        return episodes;
    }

    /// <summary>Per-episode estimates ĝ_i ([M, K]) of <paramref name="estimator"/>; <paramref name="calibration"/> is an
    /// independent batch for the baselines that are fitted (learned V, variance-optimal b).</summary>
    internal static double[][] Estimates(Setup setup, Estimator estimator, Episode[] episodes, Episode[] calibration)
    {
        int m = episodes.Length, h = setup.H, nS = setup.Mdp.NumStates;
        double gamma = setup.Mdp.Gamma;
        var totals = episodes.Select(e => Returns.TotalReturn(e.Rewards, gamma)).ToArray();
        var rtg = new double[m * h];
        for (int i = 0; i < m; i++) Returns.RewardToGo(episodes[i].Rewards, rtg.AsSpan(i * h, h), gamma);
        var constant = new double[m];
        Baselines.LeaveOneOutMean(totals, constant);
        var timeBaseline = new double[m * h];
        Baselines.TimeDependent(rtg, m, timeBaseline);
        double[,]? learnedV = estimator == Estimator.LearnedStateBaseline ? FitTabularValue(setup, calibration) : null;
        double[]? optimal = estimator == Estimator.VarianceOptimal ? OptimalBaseline(setup, calibration) : null;

        var tape = new Tape<double>();
        var theta = setup.Policy.Parameters;
        var result = new double[m][];
        var onehot = new double[h * nS];
        var weights = new double[h];
        for (int i = 0; i < m; i++)
        {
            var e = episodes[i];
            Array.Clear(onehot);
            for (int t = 0; t < h; t++)
            {
                onehot[t * nS + e.States[t]] = 1;
                double discount = Math.Pow(gamma, t), g = rtg[i * h + t];
                weights[t] = estimator switch
                {
                    Estimator.TotalReturn or Estimator.VarianceOptimal => totals[i],
                    Estimator.RewardToGo => discount * g,
                    Estimator.ConstantBaseline => discount * (g - constant[i]),
                    Estimator.Score => 1.0,
                    Estimator.TimeBaseline => discount * (g - timeBaseline[i * h + t]),
                    Estimator.StateBaseline => discount * (g - setup.Values.V[t][e.States[t]]),
                    Estimator.LearnedStateBaseline => discount * (g - learnedV![t, e.States[t]]),
                    _ => discount * (g - (e.Actions[t] == 0 ? 2.0 : 0.0)), // ActionDependentBaseline: biased
                };
            }
            tape.Reset();
            tape.ZeroGradients();
            var logProb = setup.Policy.Distribution(tape, tape.Constant(onehot, h, nS)).LogProb(e.Actions);
            PolicyGradient.Accumulate(tape, logProb, weights, 1.0);
            double[] gi = tape.GradientOf(theta).ToArray();
            if (estimator == Estimator.VarianceOptimal)
            {
                // ĝ_ik = g_ik (R_i − b_k) with g_i = Σ_h ∇log π(a_h|s_h), the episode's score
                Array.Fill(weights, 1.0);
                tape.Reset();
                tape.ZeroGradients();
                var lp = setup.Policy.Distribution(tape, tape.Constant(onehot, h, nS)).LogProb(e.Actions);
                PolicyGradient.Accumulate(tape, lp, weights, 1.0);
                double[] score = tape.GradientOf(theta).ToArray();
                for (int k = 0; k < gi.Length; k++) gi[k] = score[k] * (totals[i] - optimal![k]);
            }
            result[i] = gi;
        }
        return result;
    }

    /// <summary>V_h(s) by Monte Carlo regression on reward-to-go (for a table, least squares is the per-(h, s) mean).</summary>
    static double[,] FitTabularValue(Setup setup, Episode[] batch)
    {
        int h = setup.H, nS = setup.Mdp.NumStates;
        var sum = new double[h, nS];
        var count = new int[h, nS];
        var g = new double[h];
        foreach (var e in batch)
        {
            Returns.RewardToGo(e.Rewards, g, setup.Mdp.Gamma);
            for (int t = 0; t < h; t++)
            {
                sum[t, e.States[t]] += g[t];
                count[t, e.States[t]]++;
            }
        }
        for (int t = 0; t < h; t++)
            for (int s = 0; s < nS; s++) sum[t, s] = count[t, s] > 0 ? sum[t, s] / count[t, s] : 0;
        return sum;
    }

    static double[] OptimalBaseline(Setup setup, Episode[] batch)
    {
        var scores = Estimates(setup, Estimator.Score, batch, batch);
        var totals = batch.Select(e => Returns.TotalReturn(e.Rewards, setup.Mdp.Gamma)).ToArray();
        return Baselines.VarianceOptimalConstant(scores.SelectMany(x => x).ToArray(), totals);
    }

    internal static (double[] Mean, double[] StandardError, double TotalVariance) Summarize(double[][] estimates)
    {
        int m = estimates.Length, k = estimates[0].Length;
        var mean = new double[k];
        var se = new double[k];
        double total = 0;
        for (int c = 0; c < k; c++)
        {
            double mu = 0;
            for (int i = 0; i < m; i++) mu += estimates[i][c];
            mu /= m;
            double v = 0;
            for (int i = 0; i < m; i++) v += (estimates[i][c] - mu) * (estimates[i][c] - mu);
            v /= m - 1;
            mean[c] = mu;
            se[c] = Math.Sqrt(v / m);
            total += v;
        }
        return (mean, se, total);
    }

    internal static double CriticalZ(int components) => Math.Max(4.0, Math.Sqrt(2 * Math.Log(2.0 * components / 1e-4)));

    internal static string? FirstViolation(Setup setup, double[] mean, double[] se)
    {
        double z = CriticalZ(mean.Length);
        for (int c = 0; c < mean.Length; c++)
            if (Math.Abs(mean[c] - setup.ExactGradient[c]) > z * se[c] + 1e-12)
                return $"component {c}: estimate {mean[c]:G5} ± {se[c]:G3} (SE), exact {setup.ExactGradient[c]:G5}, {Math.Abs(mean[c] - setup.ExactGradient[c]) / se[c]:F1} SE > z = {z:F2}";
        return null;
    }

    public static TheoryData<Estimator, int> UnbiasedCases()
    {
        var data = new TheoryData<Estimator, int>();
        foreach (var e in new[] { Estimator.TotalReturn, Estimator.RewardToGo, Estimator.ConstantBaseline, Estimator.TimeBaseline,
                     Estimator.StateBaseline, Estimator.LearnedStateBaseline, Estimator.VarianceOptimal })
            foreach (int mdp in new[] { 0, 1, 2 })
                data.Add(e, mdp);
        return data;
    }

    internal static Setup Mdp(int which) => which switch
    {
        0 => Make(seed: 3, states: 3, actions: 2, horizon: 4, gamma: 1.0),
        1 => Make(seed: 8, states: 4, actions: 3, horizon: 5, gamma: 0.6),
        _ => Make(seed: 21, states: 2, actions: 4, horizon: 3, gamma: 1.0),
    };

    [Theory]
    [MemberData(nameof(UnbiasedCases))]
    public void Estimator_is_unbiased_for_the_exact_policy_gradient(Estimator estimator, int mdp)
    {
        var setup = Mdp(mdp);
        var episodes = Sample(setup, 20_000, seed: 1);
        var calibration = Sample(setup, 5_000, seed: 2);
        var (mean, se, _) = Summarize(Estimates(setup, estimator, episodes, calibration));
        Assert.True(FirstViolation(setup, mean, se) is null, $"{estimator} on MDP {mdp}: {FirstViolation(setup, mean, se)}");
    }

    [Fact]
    public void An_action_dependent_baseline_fails_the_same_test()
    {
        foreach (int mdp in new[] { 0, 1 })
        {
            var setup = Mdp(mdp);
            var episodes = Sample(setup, 20_000, seed: 1);
            var (mean, se, _) = Summarize(Estimates(setup, Estimator.ActionDependentBaseline, episodes, episodes));
            Assert.NotNull(FirstViolation(setup, mean, se));
        }
    }

    [Fact]
    public void Variance_reward_to_go_and_baselines_reduce_it()
    {
        foreach (int mdp in new[] { 0, 1 })
        {
            var setup = Mdp(mdp);
            var episodes = Sample(setup, 20_000, seed: 4);
            var calibration = Sample(setup, 5_000, seed: 5);
            double Var(Estimator e) => Summarize(Estimates(setup, e, episodes, calibration)).TotalVariance;
            double total = Var(Estimator.TotalReturn), rtg = Var(Estimator.RewardToGo), state = Var(Estimator.StateBaseline);
            double optimal = Var(Estimator.VarianceOptimal);
            Assert.True(rtg < total, $"MDP {mdp}: reward-to-go {rtg:G4} vs total return {total:G4}");
            Assert.True(state < rtg, $"MDP {mdp}: V(s) baseline {state:G4} vs none {rtg:G4}");
            // the variance-optimal constant (total-return form) against the mean-return constant in the same form
            double totalWithMean = Summarize(TotalReturnWithMeanBaseline(setup, episodes)).TotalVariance;
            Assert.True(optimal <= totalWithMean * 1.001, $"MDP {mdp}: optimal constant {optimal:G4} vs mean-return constant {totalWithMean:G4}");
        }
    }

    static double[][] TotalReturnWithMeanBaseline(Setup setup, Episode[] episodes)
    {
        var totals = episodes.Select(e => Returns.TotalReturn(e.Rewards, setup.Mdp.Gamma)).ToArray();
        var b = new double[totals.Length];
        Baselines.LeaveOneOutMean(totals, b);
        var scores = Estimates(setup, Estimator.Score, episodes, episodes);
        for (int i = 0; i < scores.Length; i++)
            for (int k = 0; k < scores[i].Length; k++) scores[i][k] *= totals[i] - b[i];
        return scores;
    }
}
