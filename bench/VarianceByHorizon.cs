using PurePg.Envs.Teaching;
using PurePg.Rl.Estimators;

namespace PurePg.Bench;

/// <summary>
/// How the variance of the policy-gradient estimate grows with the horizon H (the lectures warn: up to H³ for the
/// total-return form). Random tabular MDPs (|S| = 4, |A| = 2, γ = 1) with a fixed random softmax policy; for each H,
/// M sampled episodes; the total variance tr Cov(ĝ) of the per-episode estimates for five estimators: total return
/// R(τ) on every step, reward-to-go G_h, G_h minus the constant b = mean of G over a separate pilot set of M episodes,
/// G_h minus the variance-optimal b_k = Σ s_k² G / Σ s_k² per component (REINFORCE's VarianceOptimal, from the same
/// pilot set), and reward-to-go minus the exact V_h(s_h). Prints a table and the log-log slope of each column.
/// Run: dotnet run -c Release --project bench -- variance-horizon [episodes=4000]
/// </summary>
public static class VarianceByHorizon
{
    public static void Run(string[] args)
    {
        int m = args.Length > 1 ? int.Parse(args[1]) : 4000;
        int[] horizons = [2, 4, 8, 16, 32, 64];
        Console.WriteLine($"| H | tr Cov, total return | reward-to-go | G − constant b | G − variance-optimal b_k | reward-to-go − V_h(s) | J(θ) |  ({m} episodes per H)");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        var rows = new List<(int H, double Total, double Rtg, double Baseline, double Constant, double Optimal)>();
        foreach (int h in horizons)
        {
            var mdp = new TabularMdp(4, 2, horizon: h, gamma: 1.0, seed: 1);
            var random = new Random(2);
            var theta = Enumerable.Range(0, 8).Select(_ => random.NextDouble() * 2 - 1).ToArray();
            var values = mdp.Values(theta);
            var pi = values.Policy;
            var estimates = new double[5][][];
            for (int e = 0; e < 5; e++) estimates[e] = new double[m][];
            // the pilot set (its own generator and environment stream, so the measured episodes are the same as without it):
            // b = mean G over its steps, b_k = Σ s_k² G / Σ s_k²
            var (constant, optimal) = Pilot(new TabularMdp(4, 2, horizon: h, gamma: 1.0, seed: 1), pi, h, m);
            var rewards = new double[h];
            var rtg = new double[h];
            var states = new int[h];
            var actions = new int[h];
            mdp.Reset(seed: 3);
            for (int i = 0; i < m; i++)
            {
                Episode(mdp, random, pi, states, actions, rewards);
                double total = Returns.TotalReturn(rewards);
                Returns.RewardToGo(rewards, rtg);
                for (int e = 0; e < 5; e++)
                {
                    var g = new double[8];
                    for (int t = 0; t < h; t++)
                    {
                        double w = e == 0 ? total : e == 1 ? rtg[t] : e == 2 ? rtg[t] - values.V[t][states[t]] : e == 3 ? rtg[t] - constant : rtg[t];
                        for (int b = 0; b < 2; b++) // ∇_{θ[s,b]} log π(a|s) = 1[a = b] − π(b|s)
                        {
                            int k = states[t] * 2 + b;
                            g[k] += (e == 4 ? w - optimal[k] : w) * Score(pi, states[t], actions[t], b);
                        }
                    }
                    estimates[e][i] = g;
                }
            }
            double Trace(double[][] x)
            {
                double sum = 0;
                for (int k = 0; k < 8; k++)
                {
                    double mean = x.Average(v => v[k]);
                    sum += x.Sum(v => (v[k] - mean) * (v[k] - mean)) / (x.Length - 1);
                }
                return sum;
            }
            var row = (h, Trace(estimates[0]), Trace(estimates[1]), Trace(estimates[2]), Trace(estimates[3]), Trace(estimates[4]));
            rows.Add(row);
            Console.WriteLine($"| {h} | {row.Item2:G4} | {row.Item3:G4} | {row.Item5:G4} | {row.Item6:G4} | {row.Item4:G4} | {values.Objective:F3} |");
        }
        double Slope(Func<(int H, double Total, double Rtg, double Baseline, double Constant, double Optimal), double> f)
        {
            var xs = rows.Select(r => Math.Log(r.H)).ToArray();
            var ys = rows.Select(r => Math.Log(f(r))).ToArray();
            double mx = xs.Average(), my = ys.Average();
            return xs.Zip(ys, (x, y) => (x - mx) * (y - my)).Sum() / xs.Sum(x => (x - mx) * (x - mx));
        }
        Console.WriteLine($"| log-log slope (variance ∝ H^slope) | {Slope(r => r.Total):F2} | {Slope(r => r.Rtg):F2} | {Slope(r => r.Constant):F2} | {Slope(r => r.Optimal):F2} | {Slope(r => r.Baseline):F2} | |");
    }

    /// <summary>One episode of π (states, actions, rewards for each of the arrays' h steps), then a reset.</summary>
    static void Episode(TabularMdp mdp, Random random, double[,] pi, int[] states, int[] actions, double[] rewards)
    {
        for (int t = 0; t < states.Length; t++)
        {
            states[t] = mdp.State;
            actions[t] = random.NextDouble() < pi[states[t], 0] ? 0 : 1;
            rewards[t] = mdp.Step(actions[t]).Reward;
        }
        mdp.Reset();
    }

    /// <summary>∂log π(a|s)/∂θ[s, b] = 1[a = b] − π(b|s) for the tabular softmax policy.</summary>
    static double Score(double[,] pi, int s, int a, int b) => (a == b ? 1 : 0) - pi[s, b];

    /// <summary>m pilot episodes of π: the mean of G_h over their steps, and b_k = Σ_t s_tk² G_t / Σ_t s_tk² per component
    /// (<see cref="Baselines.VarianceOptimalConstant"/> with the steps as rows).</summary>
    static (double Constant, double[] Optimal) Pilot(TabularMdp mdp, double[,] pi, int h, int m)
    {
        var random = new Random(5);
        var rewards = new double[h];
        var rtg = new double[h];
        var states = new int[h];
        var actions = new int[h];
        var scores = new List<double>();
        var returns = new List<double>();
        mdp.Reset(seed: 7);
        for (int i = 0; i < m; i++)
        {
            Episode(mdp, random, pi, states, actions, rewards);
            Returns.RewardToGo(rewards, rtg);
            for (int t = 0; t < h; t++)
            {
                var s = new double[8];
                for (int b = 0; b < 2; b++) s[states[t] * 2 + b] = Score(pi, states[t], actions[t], b);
                scores.AddRange(s);
                returns.Add(rtg[t]);
            }
        }
        return (returns.Average(), Baselines.VarianceOptimalConstant(scores.ToArray(), returns.ToArray()));
    }
}
