using PurePg.Autodiff;
using PurePg.Autodiff.Modules;
using PurePg.Envs.Vector;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Estimators;
using PurePg.Rl.Rollouts;

namespace PurePg.Rl.Tests;

/// <summary>V-trace against its definition: hand-computed cases, the definition's sum (computed term by term) against
/// the recursion on random rollouts with episode ends, and the on-policy reduction to GAE(γ, λ = 1)'s n-step target.</summary>
public class VTraceTests
{
    static float L(double p) => (float)Math.Log(p);

    [Fact]
    public void Hand_computed_three_steps_with_rho_and_c_cut_at_different_levels()
    {
        // ratios π/μ = 0.5, 2, 0.8; ρ̄ = 1, c̄ = 0.9 → ρ = 0.5, 1, 0.8 and c = 0.5, 0.9, 0.8; γ = 0.9; V = 0.5, 1, 1.5; V(x_3) = 2
        // δ_2 = 0.8·(3 + 0.9·2 − 1.5) = 2.64      v_2 = 1.5 + 2.64 = 4.14
        // δ_1 = 1·(2 + 0.9·1.5 − 1) = 2.35        v_1 = 1 + 2.35 + 0.9·0.9·2.64 = 5.4884
        // δ_0 = 0.5·(1 + 0.9·1 − 0.5) = 0.7       v_0 = 0.5 + 0.7 + 0.9·0.5·(5.4884 − 1) = 3.21978
        // Â_2 = 0.8·(3 + 0.9·2 − 1.5) = 2.64;  Â_1 = 1·(2 + 0.9·4.14 − 1) = 4.726;  Â_0 = 0.5·(1 + 0.9·5.4884 − 0.5) = 2.71978
        float[] targets = new float[3], advantages = new float[3];
        var stats = VTrace.Compute(3, 1, [1f, 2f, 3f], [false, false, false], [false, false, false], [L(0.5), L(0.25), L(0.5)], [L(0.25), L(0.5), L(0.4)],
            [0.5f, 1f, 1.5f], [0f, 0f, 0f], [2f], gamma: 0.9, rhoBar: 1, cBar: 0.9, targets, advantages);
        double[] v = [3.21978, 5.4884, 4.14], a = [2.71978, 4.726, 2.64];
        for (int t = 0; t < 3; t++)
        {
            Assert.True(Math.Abs(targets[t] - v[t]) < 1e-5, $"v_{t} = {targets[t]}, by hand {v[t]}");
            Assert.True(Math.Abs(advantages[t] - a[t]) < 1e-5, $"Â_{t} = {advantages[t]}, by hand {a[t]}");
        }
        Assert.Equal((0.5 + 1 + 0.8) / 3, stats.MeanRho, 6);
        Assert.Equal(1.0 / 3, stats.RhoClippedFraction, 12); // 2 > ρ̄ = 1
        Assert.Equal(1.0 / 3, stats.CClippedFraction, 12);   // 2 > c̄ = 0.9 (0.8 < 0.9 is not cut)
    }

    [Fact]
    public void Hand_computed_episode_ends_cut_the_traces()
    {
        // copy 0: terminated at t = 0, then two steps to the rollout's end; copy 1: truncated at t = 1 with V(final) = 3.
        // All ratios 2 with ρ̄ = c̄ = 1.5 → ρ = c = 1.5; γ = 0.5; V ≡ 1; V(x_3) = 4 for both.
        // copy 0, t = 2: δ = 1.5·(1 + 0.5·4 − 1) = 3, v = 4, Â = 3;  t = 1: δ = 1.5·(1 + 0.5 − 1) = 0.75, v = 1 + 0.75 + 0.5·1.5·3 = 4,
        //   Â = 1.5·(1 + 0.5·4 − 1) = 3;  t = 0 (terminated): δ = 1.5·(1 − 1) = 0, v = 1, Â = 0.
        // copy 1, t = 2: as copy 0's, v = 4, Â = 3;  t = 1 (truncated, V(final) = 3): δ = 1.5·(1 + 1.5 − 1) = 2.25, v = 3.25,
        //   Â = 2.25;  t = 0: δ = 1.5·(1 + 0.5 − 1) = 0.75, v = 1 + 0.75 + 0.5·1.5·2.25 = 3.4375, Â = 1.5·(1 + 0.5·3.25 − 1) = 2.4375.
        float[] targets = new float[6], advantages = new float[6];
        float[] ones = [1f, 1f, 1f, 1f, 1f, 1f];
        float[] logMu = Enumerable.Repeat(L(0.25), 6).ToArray(), logPi = Enumerable.Repeat(L(0.5), 6).ToArray();
        VTrace.Compute(3, 2, ones, [true, false, false, false, false, false], [false, false, false, true, false, false], logMu, logPi, ones,
            [0f, 0f, 0f, 3f, 0f, 0f], [4f, 4f], gamma: 0.5, rhoBar: 1.5, cBar: 1.5, targets, advantages);
        double[] v = [1, 3.4375, 4, 3.25, 4, 4], a = [0, 2.4375, 3, 2.25, 3, 3]; // [T, N] step-major
        for (int k = 0; k < 6; k++)
        {
            Assert.True(Math.Abs(targets[k] - v[k]) < 1e-6, $"v[{k}] = {targets[k]}, by hand {v[k]}");
            Assert.True(Math.Abs(advantages[k] - a[k]) < 1e-6, $"Â[{k}] = {advantages[k]}, by hand {a[k]}");
        }
    }

    [Fact]
    public void The_recursion_equals_the_definitions_sum_on_random_rollouts_with_episode_ends()
    {
        var arb = Gen.Choose(0, 1_000_000).ToArbitrary();
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(100), Prop.ForAll(arb, seed =>
        {
            var rng = new Rng((ulong)seed);
            int T = 1 + rng.NextInt(12), N = 1 + rng.NextInt(3), n = T * N;
            double gamma = rng.NextDouble(), rhoBar = 0.3 + 2 * rng.NextDouble(), cBar = 0.3 + 2 * rng.NextDouble();
            float[] r = F(rng, n, -2, 2), V = F(rng, n, -2, 2), Vfinal = F(rng, n, -2, 2), Vlast = F(rng, N, -2, 2);
            float[] logMu = F(rng, n, -3, 0), logPi = F(rng, n, -3, 0);
            bool[] term = new bool[n], trunc = new bool[n];
            for (int k = 0; k < n; k++) { int u = rng.NextInt(6); term[k] = u == 0; trunc[k] = u == 1; }
            float[] targets = new float[n], advantages = new float[n];
            VTrace.Compute(T, N, r, term, trunc, logMu, logPi, V, Vfinal, Vlast, gamma, rhoBar, cBar, targets, advantages);
            for (int i = 0; i < N; i++)
            for (int s = 0; s < T; s++)
            {
                // v_s = V(x_s) + Σ_{t ≥ s, within s's episode} γ^{t−s} (Π_{i=s}^{t−1} c_i) δ_t, term by term
                double sum = 0, discount = 1, traces = 1;
                int t = s;
                for (; t < T; t++)
                {
                    int k = t * N + i;
                    double ratio = Math.Exp((double)logPi[k] - logMu[k]);
                    double next = term[k] ? 0 : trunc[k] ? Vfinal[k] : t + 1 < T ? V[(t + 1) * N + i] : Vlast[i];
                    sum += discount * traces * Math.Min(rhoBar, ratio) * (r[k] + gamma * next - V[k]);
                    traces *= Math.Min(cBar, ratio);
                    discount *= gamma;
                    if (term[k] || trunc[k]) break;
                }
                int ks = s * N + i;
                double vs = V[ks] + sum;
                Assert.True(Math.Abs(targets[ks] - vs) <= 1e-4 * (1 + Math.Abs(vs)), $"T={T} N={N} copy {i} step {s}: recursion {targets[ks]}, definition {vs}");
                // Â_s = ρ_s (r_s + γ v_{s+1} − V(x_s)), v_{s+1} from the definition again (or the bootstrap at an end)
                double rs = Math.Exp((double)logPi[ks] - logMu[ks]);
                double vNext = term[ks] ? 0 : trunc[ks] ? Vfinal[ks] : s + 1 < T ? targets[(s + 1) * N + i] : Vlast[i];
                double adv = Math.Min(rhoBar, rs) * (r[ks] + gamma * vNext - V[ks]);
                Assert.True(Math.Abs(advantages[ks] - adv) <= 1e-4 * (1 + Math.Abs(adv)), $"copy {i} step {s}: Â {advantages[ks]} vs {adv}");
            }
        }));
    }

    static float[] F(Rng rng, int n, double lo, double hi) => Enumerable.Range(0, n).Select(_ => (float)(lo + (hi - lo) * rng.NextDouble())).ToArray();

    [Theory]
    [InlineData("CartPole-v1", 3, 64)]   // terminations
    [InlineData("Pendulum-v1", 2, 150)]  // truncations at 200 steps (two rollouts)
    public void On_policy_V_trace_is_the_n_step_return_of_GAE_with_lambda_one(string id, int n, int steps)
    {
        var source = new VectorEnvRolloutSource(id == "CartPole-v1" ? new CartPoleVectorEnv(n) : new SyncVectorEnv(id, n), steps);
        var agent = new ActorCritic(source.SingleObservationSpace, source.SingleActionSpace, [8], Activation.Tanh, 0, new Rng(2));
        source.Reset(3);
        int ends = 0;
        for (int rollout = 0; rollout < 2; rollout++)
        {
            source.Collect(agent);
            var b = source.Buffer;
            ends += b.Episodes.Count;
            int size = steps * n;
            float[] truncated = new float[size], last = new float[n], scratch = new float[size];
            agent.PredictValues(b.FinalObservations, scratch);
            for (int k = 0; k < size; k++) truncated[k] = b.Truncated[k] && !b.Terminated[k] ? scratch[k] : 0f;
            agent.PredictValues(b.LastObservations, last);
            float[] gaeAdvantages = new float[size], gaeReturns = new float[size];
            AdvantageEstimation.Gae(b, 0.97, 1.0, truncated, last, gaeAdvantages, gaeReturns);
            float[] targets = new float[size], advantages = new float[size];
            var stats = VTrace.Compute(b, b.LogProbs, b.Values, truncated, last, 0.97, rhoBar: 1, cBar: 1, targets, advantages); // π = μ
            Assert.Equal(1.0, stats.MeanRho, 12);
            for (int k = 0; k < size; k++)
            {
                Assert.True(Math.Abs(targets[k] - gaeReturns[k]) <= 1e-4 * (1 + Math.Abs(gaeReturns[k])), $"{id} step {k}: v {targets[k]}, GAE(λ=1) return {gaeReturns[k]}");
                Assert.True(Math.Abs(advantages[k] - gaeAdvantages[k]) <= 1e-4 * (1 + Math.Abs(gaeReturns[k])), $"{id} step {k}: Â {advantages[k]}, GAE(λ=1) {gaeAdvantages[k]}");
            }
        }
        Assert.True(ends > 0, $"{id}: no episode ended; the test must cross episode ends");
    }

    [Fact]
    public void A_behaviour_log_probability_that_is_not_finite_is_named_by_step()
    {
        float[] t = new float[2], a = new float[2];
        var e = Assert.Throws<ArgumentException>(() => VTrace.Compute(2, 1, [1f, 1f], [false, false], [false, false], [0f, float.NegativeInfinity], [0f, 0f],
            [0f, 0f], [0f, 0f], [0f], 0.9, 1, 1, t, a));
        Assert.Contains("at step 1", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => VTrace.Compute(2, 1, [1f, 1f], [false, false], [false, false], [0f, 0f], [0f, 0f],
            [0f, 0f], [0f, 0f], [0f], 0.9, 0, 1, t, a));
    }
}
