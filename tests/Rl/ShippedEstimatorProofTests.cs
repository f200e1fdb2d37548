using PurePg.Autodiff;
using PurePg.Rl.Estimators;

namespace PurePg.Rl.Tests;

/// <summary>
/// Expectations computed exactly, by enumerating every trajectory of a small tabular MDP (and every batch of M = 2 or 3
/// independent trajectories), with each estimate made through the library's own path (the policy on the tape,
/// <see cref="Returns"/>, <see cref="Baselines"/>, <see cref="PolicyGradient.Accumulate"/>). No sampling noise: a
/// bias of any size — a 2 % scale, the batch mean instead of the leave-one-out mean — shows.
/// <list type="bullet">
/// <item>The estimators of the lectures are exactly unbiased for ∇J(θ), including with leave-one-out baselines in tiny
/// batches (where the plain batch mean's bias is (1 − 1/M) of the baseline's share: 50 % at M = 2).</item>
/// <item>The form REINFORCE, A2C and PPO ship, Σ_t ∇log π(a_t|s_t)·(G_t − b) without γ^t, is unbiased at γ = 1 and at
/// γ &lt; 1 has exactly the bias theory predicts: E[ĝ] − ∇J = Σ_h (1 − γ^h) Σ_s d_h(s) Σ_a π(a|s) ∇log π(a|s) A_h(s, a).</item>
/// </list>
/// </summary>
public class ShippedEstimatorProofTests
{
    internal sealed record Trajectory(int[] States, int[] Actions, double[] Rewards, double Probability);

    /// <summary>Every trajectory of the MDP under the setup's policy (or <paramref name="policy"/>), with its probability.</summary>
    internal static List<Trajectory> Enumerate(EstimatorProofTests.Setup setup, double[,]? policy = null)
    {
        var pi = policy ?? setup.Pi;
        var mdp = setup.Mdp;
        int h = setup.H;
        var all = new List<Trajectory>();
        void Extend(int t, int[] s, int[] a, double[] r, double p)
        {
            if (p == 0) return;
            if (t == h) { all.Add(new((int[])s.Clone(), (int[])a.Clone(), (double[])r.Clone(), p)); return; }
            for (int action = 0; action < mdp.NumActions; action++)
            {
                a[t] = action;
                r[t] = mdp.Reward(s[t], action);
                double pa = p * pi[s[t], action];
                if (t + 1 == h) Extend(t + 1, s, a, r, pa);
                else
                    for (int next = 0; next < mdp.NumStates; next++)
                    {
                        s[t + 1] = next;
                        Extend(t + 1, s, a, r, pa * mdp.Transition(s[t], action, next));
                    }
            }
        }
        for (int s0 = 0; s0 < mdp.NumStates; s0++)
        {
            var s = new int[h];
            s[0] = s0;
            Extend(0, s, new int[h], new double[h], mdp.StartProbability(s0));
        }
        Assert.Equal(1.0, all.Sum(x => x.Probability), 12);
        return all;
    }

    /// <summary>Σ_t w_t ∇log π(a_t|s_t) through the library's path.</summary>
    private static double[] Score(EstimatorProofTests.Setup setup, Trajectory tau, double[] weights)
    {
        int h = setup.H, nS = setup.Mdp.NumStates;
        var onehot = new double[h * nS];
        for (int t = 0; t < h; t++) onehot[t * nS + tau.States[t]] = 1;
        var tape = new Tape<double>();
        var logProb = setup.Policy.Distribution(tape, tape.Constant(onehot, h, nS)).LogProb(tau.Actions);
        PolicyGradient.Accumulate(tape, logProb, weights, 1.0);
        return tape.GradientOf(setup.Policy.Parameters).ToArray();
    }

    private static double[] Weights(int h, Func<int, double> w) => Enumerable.Range(0, h).Select(w).ToArray();

    private static void AssertClose(double[] expected, double[] actual, string what)
    {
        double scale = Math.Sqrt(expected.Sum(x => x * x));
        for (int k = 0; k < expected.Length; k++)
            Assert.True(Math.Abs(expected[k] - actual[k]) <= 1e-10 * (1 + scale),
                $"{what}, component {k}: expectation {actual[k]:R}, exact {expected[k]:R}");
    }

    private static double[] Expectation(List<Trajectory> all, Func<Trajectory, double[]> estimate)
    {
        double[]? sum = null;
        foreach (var tau in all)
        {
            var g = estimate(tau);
            sum ??= new double[g.Length];
            for (int k = 0; k < g.Length; k++) sum[k] += tau.Probability * g[k];
        }
        return sum!;
    }

    public static TheoryData<double> Discounts() => new() { 1.0, 0.7 };

    /// <summary>Σ_t w_t ∇log π(a_t|s_t) G_t with w_t = γ^t (the lectures' estimator) or 1 (the shipped form).</summary>
    private static double[] RewardToGoEstimate(EstimatorProofTests.Setup setup, Trajectory tau, bool discountWeight)
    {
        double gamma = setup.Mdp.Gamma;
        var g = new double[setup.H];
        Returns.RewardToGo(tau.Rewards, g, gamma);
        return Score(setup, tau, Weights(setup.H, t => (discountWeight ? Math.Pow(gamma, t) : 1.0) * g[t]));
    }

    [Theory]
    [MemberData(nameof(Discounts))]
    public void Reward_to_go_with_the_discount_weight_is_exactly_unbiased(double gamma)
    {
        var setup = EstimatorProofTests.Make(seed: 5, states: 2, actions: 2, horizon: 3, gamma: gamma);
        var all = Enumerate(setup);
        var expectation = Expectation(all, tau => RewardToGoEstimate(setup, tau, discountWeight: true));
        AssertClose(setup.ExactGradient, expectation, $"γ^t·G_t at γ = {gamma}");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Leave_one_out_baselines_are_exactly_unbiased_in_tiny_batches(int m)
    {
        var setup = EstimatorProofTests.Make(seed: 5, states: 2, actions: 2, horizon: 3, gamma: 0.9);
        var all = Enumerate(setup);
        int h = setup.H, k = setup.ExactGradient.Length;
        // per trajectory: Σ γ^t ∇log π G_t, Σ γ^t ∇log π, and Σ γ^t ∇log π(a_t|s_t) e_t (for the time-dependent baseline)
        var withReturn = new double[all.Count][];
        var score = new double[all.Count][];
        var perStep = new double[all.Count][][];
        var rtg = new double[all.Count][];
        for (int i = 0; i < all.Count; i++)
        {
            rtg[i] = new double[h];
            Returns.RewardToGo(all[i].Rewards, rtg[i], setup.Mdp.Gamma);
            withReturn[i] = Score(setup, all[i], Weights(h, t => Math.Pow(setup.Mdp.Gamma, t) * rtg[i][t]));
            score[i] = Score(setup, all[i], Weights(h, t => Math.Pow(setup.Mdp.Gamma, t)));
            perStep[i] = Enumerable.Range(0, h).Select(s => Score(setup, all[i], Weights(h, t => t == s ? Math.Pow(setup.Mdp.Gamma, t) : 0))).ToArray();
        }
        var constant = new double[k];
        var timeDependent = new double[k];
        var index = new int[m];
        var totals = new double[m];
        var b = new double[m];
        var rtgBatch = new double[m * h];
        var bt = new double[m * h];
        while (true)
        {
            double p = 1;
            for (int j = 0; j < m; j++)
            {
                p *= all[index[j]].Probability;
                totals[j] = rtg[index[j]][0];
                rtg[index[j]].CopyTo(rtgBatch, j * h);
            }
            Baselines.LeaveOneOutMean(totals, b);
            Baselines.TimeDependent(rtgBatch, m, bt);
            for (int j = 0; j < m; j++)
            {
                int i = index[j];
                for (int c = 0; c < k; c++)
                {
                    // (1/M) Σ_j Σ_t γ^t ∇log π (G_t − b_j), and (1/M) Σ_j Σ_t γ^t ∇log π (G_t − b_t)
                    constant[c] += p / m * (withReturn[i][c] - b[j] * score[i][c]);
                    double timeTerm = withReturn[i][c];
                    for (int t = 0; t < h; t++) timeTerm -= bt[j * h + t] * perStep[i][t][c];
                    timeDependent[c] += p / m * timeTerm;
                }
            }
            int d = 0;
            while (d < m && ++index[d] == all.Count) index[d++] = 0;
            if (d == m) break;
        }
        AssertClose(setup.ExactGradient, constant, $"leave-one-out constant baseline, M = {m}");
        AssertClose(setup.ExactGradient, timeDependent, $"leave-one-out time-dependent baseline, M = {m}");
    }

    [Theory]
    [MemberData(nameof(Discounts))]
    public void The_shipped_form_without_the_discount_weight_has_exactly_the_predicted_bias(double gamma)
    {
        var setup = EstimatorProofTests.Make(seed: 5, states: 2, actions: 2, horizon: 3, gamma: gamma);
        var all = Enumerate(setup);
        // Σ_t ∇log π(a_t|s_t) G_t: what REINFORCE, A2C and PPO accumulate
        var expectation = Expectation(all, tau => RewardToGoEstimate(setup, tau, discountWeight: false));
        // predicted: E[ĝ] − ∇J = Σ_h (1 − γ^h) Σ_s d_h(s) Σ_a π(a|s) A_h(s, a) ∂log π(a|s)/∂θ, in θ's layout (W [A, S], b [A])
        var v = setup.Values;
        int nS = setup.Mdp.NumStates, nA = setup.Mdp.NumActions;
        var bias = new double[setup.ExactGradient.Length];
        for (int h = 0; h < setup.H; h++)
            for (int s = 0; s < nS; s++)
                for (int a = 0; a < nA; a++)
                {
                    double w = (1 - Math.Pow(gamma, h)) * v.StateDistribution[h][s] * v.Policy[s, a] * v.Advantage(h, s, a);
                    bias[a * nS + s] += w;        // ∂/∂W[a,s] of the softmax's log π(·|s), summed against A: Σ_a π A e_a
                    bias[nS * nA + a] += w;       // the bias b[a]
                }
        var predicted = setup.ExactGradient.Zip(bias, (g, d) => g + d).ToArray();
        AssertClose(predicted, expectation, $"Σ ∇log π·G_t at γ = {gamma}");
        double size = Math.Sqrt(bias.Sum(x => x * x)), norm = Math.Sqrt(setup.ExactGradient.Sum(x => x * x));
        if (gamma == 1) Assert.Equal(0, size);
        else Assert.True(size > 0.05 * norm, $"the predicted bias ({size:G3}) is too small to matter at γ = {gamma} (‖∇J‖ = {norm:G3})");
    }
}
