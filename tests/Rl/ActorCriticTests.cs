using PurePg.Autodiff;
using PurePg.Autodiff.Modules;
using PurePg.Envs;
using PurePg.Envs.ClassicControl;
using PurePg.Envs.Vector;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Estimators;
using PurePg.Rl.Policies;
using PurePg.Rl.Rollouts;

namespace PurePg.Rl.Tests;

public class ActorCriticTests
{
    static double[] Uniform(Rng rng, int n, double lo, double hi) => Enumerable.Range(0, n).Select(_ => lo + (hi - lo) * rng.NextDouble()).ToArray();

    [Fact]
    public void Loss_gradients_match_finite_differences_in_double_on_both_sides_of_the_clip()
    {
        var rng = new Rng(12);
        const int batch = 40, obs = 3;
        var theta = new ParameterSet<double>();
        var policy = new CategoricalMlpPolicy<double>(theta, obs, [5], 3);
        var value = new ValueMlp<double>(theta, obs, [5]);
        policy.Initialize(rng);
        value.Initialize(rng);
        for (int i = 0; i < theta.Count; i++) theta.Values[i] += 0.3 * (rng.NextDouble() - 0.5);
        double[] states = Uniform(rng, batch * obs, -2, 2);
        int[] actions = Enumerable.Range(0, batch).Select(_ => rng.NextInt(3)).ToArray();
        var t0 = new Tape<double>();
        double[] logProb0 = t0.Value(policy.Distribution(t0, t0.Constant(states, batch, obs)).LogProb(actions)).ToArray();
        double[] oldLogits = t0.Value(policy.Distribution(t0, t0.Constant(states, batch, obs)).Logits).ToArray().Select(x => x + 0.3 * (rng.NextDouble() - 0.5)).ToArray();
        // old log-probabilities offset so that r = exp(logπ − logπ_old) spreads over [0.55, 1.8]: inside and beyond 1 ± 0.2
        double[] offsets = Uniform(rng, batch, -0.6, 0.6);
        double[] oldLogProb = logProb0.Zip(offsets, (a, b) => a + b).ToArray();
        double[] advantages = Uniform(rng, batch, -1, 1);
        double[] returns = Uniform(rng, batch, -1, 1), oldValues = Uniform(rng, batch, -1, 1);
        int inside = offsets.Count(o => Math.Abs(Math.Exp(-o) - 1) < 0.2), beyond = batch - inside;
        Assert.True(inside >= 5 && beyond >= 5, $"{inside} ratios inside the clip range, {beyond} beyond");

        void Check(string name, Func<Tape<double>, Var<double>> loss)
        {
            var result = GradCheck.Check(theta, loss, seed: 3, directions: 6);
            Assert.True(result.Passed, $"{name}: {result}");
        }
        Var<double> LogProb(Tape<double> t) => policy.Distribution(t, t.Constant(states, batch, obs)).LogProb(actions);
        Check("PPO clipped surrogate", t => Losses.ClippedSurrogate(t, LogProb(t), oldLogProb, advantages, 0.2));
        Check("importance-weighted surrogate (TRPO)", t => Losses.Surrogate(t, LogProb(t), oldLogProb, advantages));
        Check("mean KL(π_old ‖ π_θ) (TRPO)", t => t.Mean(policy.Distribution(t, t.Constant(states, batch, obs)).KlFrom(oldLogits)));
        Check("value loss", t => Losses.ValueLoss(t, value.Forward(t, t.Constant(states, batch, obs)), returns));
        Check("clipped value loss", t => Losses.ValueLoss(t, value.Forward(t, t.Constant(states, batch, obs)), returns, oldValues, 0.2));
        Check("PPO total loss", t =>
        {
            var pi = policy.Distribution(t, t.Constant(states, batch, obs));
            var lp = pi.LogProb(actions);
            return -Losses.ClippedSurrogate(t, lp, oldLogProb, advantages, 0.2)
                + Losses.ValueLoss(t, value.Forward(t, t.Constant(states, batch, obs)), returns, oldValues, 0.2) * 0.5
                - t.Mean(pi.Entropy()) * 0.01;
        });
    }

    [Fact]
    public void Clipped_surrogate_passes_no_gradient_where_the_clip_binds()
    {
        // r = e^{0.5} > 1.2 with Â > 0: min picks the clipped, constant term, so ∂/∂θ = 0
        var theta = new ParameterSet<double>();
        var z = theta.Add("z", 1, 2);
        theta.Values[0] = 0.3;
        var tape = new Tape<double>();
        var logProb = tape.LogSoftmaxGather(tape.Parameter(theta, z), [0]);
        double lp = tape.Value(logProb)[0];
        tape.Backward(Losses.ClippedSurrogate(tape, logProb, new[] { lp - 0.5 }, new[] { 1.0 }, 0.2));
        Assert.Equal([0.0, 0.0], tape.GradientOf(theta).ToArray());
    }

    [Fact]
    public void Gae_is_TD0_at_lambda_zero_and_the_n_step_return_at_lambda_one()
    {
        var env = new SyncVectorEnv(() => new CartPole { MaxEpisodeSteps = 7 }, 2);
        env.Reset(seed: 5);
        var buffer = new RolloutBuffer(30, 2, 4, 0);
        var random = new System.Random(6);
        buffer.Collect(env, (obs, d, c, lp, v) =>
        {
            for (int i = 0; i < d.Length; i++) { d[i] = random.Next(2); v[i] = (float)random.NextDouble(); }
        });
        var truncated = Enumerable.Range(0, 60).Select(k => 10f + k).ToArray();
        float[] last = [0.5f, -0.5f];
        var adv = new float[60];
        var ret = new float[60];
        const double gamma = 0.9;
        AdvantageEstimation.Gae(buffer, gamma, 0.0, truncated, last, adv, ret);
        for (int t = 0; t < 30; t++)
            for (int i = 0; i < 2; i++)
            {
                int k = t * 2 + i;
                double next = buffer.Terminated[k] ? 0 : buffer.Truncated[k] ? truncated[k] : t == 29 ? last[i] : buffer.Values[k + 2];
                double td = buffer.Rewards[k] + gamma * next - buffer.Values[k]; // TD(0): r + γV(s') − V(s)
                Assert.True(Math.Abs(td - adv[k]) <= 1e-6 * (1 + Math.Abs(td)), $"step {t}, copy {i}: {adv[k]} vs {td}"); // one float rounding
            }
        AdvantageEstimation.Gae(buffer, gamma, 1.0, truncated, last, adv, ret);
        var reference = new float[60];
        buffer.RewardToGo(gamma, truncated, last, reference); // R ← r + γR bootstrapped: the n-step return
        for (int k = 0; k < 60; k++)
        {
            Assert.True(Math.Abs(reference[k] - ret[k]) <= 1e-5 * (1 + Math.Abs(reference[k])), $"{k}: {ret[k]} vs {reference[k]}");
            Assert.True(Math.Abs(reference[k] - buffer.Values[k] - adv[k]) <= 1e-5 * (1 + Math.Abs(reference[k])), $"{k}: {adv[k]}");
        }
    }

    [Fact]
    public void Explained_variance_is_one_for_exact_values_and_zero_for_a_constant()
    {
        var agent = new ActorCritic(new CartPole().ObservationSpace, new Discrete(2), [8], Activation.Tanh, 0, new Rng(1));
        var env = new CartPoleVectorEnv(2);
        var source = new VectorEnvRolloutSource(env, 50);
        source.Reset(seed: 0);
        var rollout = new OnPolicyRollout(source, agent, new Rng(2));
        rollout.CollectAndEstimate(0.99, 0.95);
        rollout.Returns.CopyTo(rollout.Buffer.Values, 0);
        Assert.Equal(1.0, rollout.ExplainedVariance, 12);
        Array.Fill(rollout.Buffer.Values, 3f);
        Assert.Equal(0.0, rollout.ExplainedVariance, 6);
    }

    [Fact]
    public void Trpo_step_direction_is_the_dense_solution_of_the_damped_Fisher_system()
    {
        var rng = new Rng(2);
        var agent = new ActorCritic(new CartPole().ObservationSpace, new Discrete(2), [4], Activation.Tanh, 0, rng);
        for (int i = 0; i < agent.Theta.Count; i++) agent.Theta.Values[i] += (float)(0.5 * (rng.NextDouble() - 0.5));
        const int batch = 256;
        var states = Uniform(rng, batch * 4, -1, 1).Select(x => (float)x).ToArray();
        var actions = Enumerable.Range(0, batch).Select(_ => rng.NextInt(2)).ToArray();
        var advantages = Uniform(rng, batch, -1, 1).Select(x => (float)x).ToArray();
        var core = new SecondOrderCore(agent, damping: 0.1);
        core.Begin(states, actions, default, advantages);
        int d = agent.Theta.Count;
        var result = core.Solve(iterations: 4 * d);
        // the dense (F + λI), column by column, and its solve
        var f = new double[d, d];
        var e = new double[d];
        var column = new double[d];
        for (int j = 0; j < d; j++)
        {
            Array.Clear(e);
            e[j] = 1;
            core.Fisher.Apply((ReadOnlySpan<double>)e, column);
            for (int i = 0; i < d; i++) f[i, j] = column[i];
        }
        var x = DenseSolve(f, core.Gradient);
        double norm = Math.Sqrt(x.Sum(v => v * v));
        for (int i = 0; i < d; i++)
            Assert.True(Math.Abs(x[i] - core.Direction[i]) <= 1e-3 * norm, $"component {i}: CG {core.Direction[i]:G6}, dense {x[i]:G6} ({result})");
    }

    static double[] DenseSolve(double[,] a, double[] b)
    {
        int n = b.Length;
        var m = (double[,])a.Clone();
        var x = (double[])b.Clone();
        for (int c = 0; c < n; c++)
        {
            int p = c;
            for (int r = c + 1; r < n; r++) if (Math.Abs(m[r, c]) > Math.Abs(m[p, c])) p = r;
            for (int j = 0; j < n; j++) (m[c, j], m[p, j]) = (m[p, j], m[c, j]);
            (x[c], x[p]) = (x[p], x[c]);
            for (int r = c + 1; r < n; r++)
            {
                double factor = m[r, c] / m[c, c];
                for (int j = c; j < n; j++) m[r, j] -= factor * m[c, j];
                x[r] -= factor * x[c];
            }
        }
        for (int r = n - 1; r >= 0; r--)
        {
            for (int j = r + 1; j < n; j++) x[r] -= m[r, j] * x[j];
            x[r] /= m[r, r];
        }
        return x;
    }

    [Fact]
    public void Trpo_never_accepts_a_step_outside_the_trust_region_or_that_lowers_the_surrogate()
    {
        foreach (double maxKl in new[] { 0.01, 1e-5 })
        {
            var settings = new TrpoSettings { NumEnvs = 2, StepsPerEnv = 256, MaxKl = maxKl, HiddenSizes = [16], ValueIterations = 5, Seed = 1 };
            var trpo = new Trpo(new CartPoleVectorEnv(2), settings);
            for (int i = 0; i < 8; i++)
            {
                var before = trpo.Agent.Theta.Values.ToArray();
                var update = trpo.Update();
                if (update.Accepted)
                {
                    Assert.True(update.Kl <= maxKl, $"δ = {maxKl}: accepted KL {update.Kl}");
                    Assert.True(update.Improvement > 0, $"δ = {maxKl}: accepted improvement {update.Improvement}");
                }
                else Assert.Equal(before, trpo.Agent.Theta.Values.ToArray()); // restored exactly
            }
        }
    }

    static (float[] Theta, float[] Phi) Train(Func<ActorCritic> run) { var a = run(); return (a.Theta.Values.ToArray(), a.Phi.Values.ToArray()); }

    [Fact]
    public void A2c_npg_trpo_and_ppo_are_bit_for_bit_reproducible_for_a_seed()
    {
        Func<ActorCritic>[] runs =
        [
            () => { var a = new A2c(new CartPoleVectorEnv(4), new A2cSettings { NumEnvs = 4, Seed = 9 }); for (int i = 0; i < 30; i++) a.Update(); return a.Agent; },
            () => { var a = new NaturalPolicyGradient(new CartPoleVectorEnv(2), new TrpoSettings { NumEnvs = 2, StepsPerEnv = 128, ValueIterations = 5, ValueTargets = ValueTargets.MonteCarlo, Seed = 9 }); for (int i = 0; i < 3; i++) a.Update(); return a.Agent; },
            () => { var a = new Trpo(new CartPoleVectorEnv(2), new TrpoSettings { NumEnvs = 2, StepsPerEnv = 128, ValueIterations = 5, ValueTargets = ValueTargets.TemporalDifference, Seed = 9 }); for (int i = 0; i < 3; i++) a.Update(); return a.Agent; },
            () => { var a = new Trpo(new CartPoleVectorEnv(2), new TrpoSettings { NumEnvs = 2, StepsPerEnv = 128, ValueIterations = 5, Seed = 9 }); for (int i = 0; i < 3; i++) a.Update(); return a.Agent; },
            () => { var a = new Ppo(new SyncVectorEnv("Pendulum-v1", 2), new PpoSettings { NumEnvs = 2, StepsPerEnv = 64, BatchSize = 32, Epochs = 2, Seed = 9 }); for (int i = 0; i < 3; i++) a.Update(); return a.Agent; },
        ];
        foreach (var run in runs)
        {
            var (theta1, phi1) = Train(run);
            var (theta2, phi2) = Train(run);
            Assert.Equal(theta1, theta2);
            Assert.Equal(phi1, phi2);
        }
    }

    /// <summary>
    /// A2C's annealed step size (the zoo's lin_α): the update after a rollout that brought the steps to S takes
    /// α·(1 − S/S_max) — bit for bit the update a constant-α run with that value takes, and no update at all once
    /// S = S_max; the metrics report the value used.
    /// </summary>
    [Fact]
    public void A2c_anneals_its_step_size_linearly_over_the_planned_steps()
    {
        A2c Make(bool anneal, double alpha, long planned) =>
            new(new CartPoleVectorEnv(2), new A2cSettings { NumEnvs = 2, Seed = 3, LearningRate = alpha, AnnealLearningRate = anneal }) { PlannedSteps = planned };
        // one rollout of 2 × 5 = 10 steps planned as 40: the first update runs at α·(1 − 10/40) = 0.75α
        var annealed = Make(true, 7e-4, 40);
        var metrics = annealed.Iterate();
        Assert.Equal(7e-4 * 0.75, metrics.Losses.First(l => l.Name == "learning_rate").Value, 15);
        var constant = Make(false, 7e-4 * 0.75, 1);
        constant.Update();
        Assert.Equal(constant.Agent.Theta.Values.ToArray(), annealed.Agent.Theta.Values.ToArray());
        Assert.Equal(constant.Agent.Phi.Values.ToArray(), annealed.Agent.Phi.Values.ToArray());
        Assert.Equal(7e-4 * 0.5, annealed.Iterate().Losses.First(l => l.Name == "learning_rate").Value, 15);
        // planned as one rollout: the update at S = S_max has α = 0 and leaves θ and φ as they were
        var done = Make(true, 7e-4, 10);
        float[] theta0 = done.Agent.Theta.Values.ToArray(), phi0 = done.Agent.Phi.Values.ToArray();
        done.Update();
        Assert.Equal(theta0, done.Agent.Theta.Values.ToArray());
        Assert.Equal(phi0, done.Agent.Phi.Values.ToArray());
    }
}
