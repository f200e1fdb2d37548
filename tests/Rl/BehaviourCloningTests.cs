using PurePg.Autodiff;
using PurePg.Autodiff.Modules;
using PurePg.Envs;
using PurePg.Envs.Vector;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Imitation;
using PurePg.Rl.Normalization;
using PurePg.Rl.Policies;

namespace PurePg.Rl.Tests;

/// <summary>
/// Behaviour cloning as maximum likelihood: on a tabular policy it converges to the MLE (the empirical action frequencies)
/// and recovers the expert's π* as the data grows (total variation → 0); a Gaussian policy recovers a linear-Gaussian
/// expert's mean map and σ; on CartPole-v1 ten expert episodes give a policy at the threshold; BC → PG starts the
/// algorithm's own policy (behind its normalizer) from the clone, and PPO's value warm-up moves φ and never θ.
/// </summary>
public class BehaviourCloningTests
{
    private const int States = 5, Actions = 3;

    /// <summary>π*(·|s) of a fixed tabular expert, far from uniform.</summary>
    private static double[,] Expert()
    {
        var rng = new Rng(7);
        var p = new double[States, Actions];
        for (int s = 0; s < States; s++)
        {
            double total = 0;
            for (int a = 0; a < Actions; a++) total += p[s, a] = Math.Exp(2 * (rng.NextDouble() - 0.5) * 2);
            for (int a = 0; a < Actions; a++) p[s, a] /= total;
        }
        return p;
    }

    /// <summary>N one-step demonstrations: s uniform, a ~ π*(·|s), one-hot observations.</summary>
    private static Demonstrations TabularDemos(double[,] expert, int n, ulong seed)
    {
        var rng = new Rng(seed);
        var obs = new float[n * States];
        var actions = new int[n];
        for (int i = 0; i < n; i++)
        {
            int s = rng.NextInt(States);
            obs[i * States + s] = 1;
            double u = rng.NextDouble(), c = 0;
            int a = 0;
            while (a < Actions - 1 && (c += expert[s, a]) < u) a++;
            actions[i] = a;
        }
        return new Demonstrations("tabular", "π*", States, new Discrete(Actions), obs, actions, null, new double[n],
            Enumerable.Repeat(1, n).ToArray(), new EpisodeEnd[n]);
    }

    /// <summary>π_θ(a|s) of a tabular (no hidden layer) categorical agent, read off the network for each one-hot s.</summary>
    private static double[,] Policy(ActorCritic agent)
    {
        var tape = new Tape<float>();
        var oneHot = new float[States * States];
        for (int s = 0; s < States; s++) oneHot[s * States + s] = 1;
        var logp = tape.Value(agent.Categorical!.Distribution(tape, tape.Borrow(oneHot, States, States)).LogProbs());
        var p = new double[States, Actions];
        for (int s = 0; s < States; s++)
            for (int a = 0; a < Actions; a++) p[s, a] = Math.Exp(logp[s * Actions + a]);
        return p;
    }

    private static double MeanTotalVariation(double[,] p, double[,] q)
    {
        double tv = 0;
        for (int s = 0; s < States; s++)
            for (int a = 0; a < Actions; a++) tv += 0.5 * Math.Abs(p[s, a] - q[s, a]);
        return tv / States;
    }

    private static ActorCritic TabularAgent() =>
        new(Box.Uniform(States, 0, 1), new Discrete(Actions), [], Activation.Tanh, 0, new Rng(1));

    /// <summary>Full-batch Adam: the fit converges to the MLE instead of hovering around it at minibatch noise.</summary>
    private static BehaviourCloningSettings Tabular(int n) => new() { Epochs = 300, BatchSize = n, LearningRate = 0.05, HeldOutFraction = 0 };

    [Fact]
    public void A_tabular_policy_is_recovered_from_its_own_demonstrations_as_the_data_grows()
    {
        var expert = Expert();
        var tv = new List<double>();
        foreach (int n in new[] { 100, 1_000, 10_000, 50_000 })
        {
            var agent = TabularAgent();
            var demos = TabularDemos(expert, n, (ulong)n);
            new BehaviourCloning(agent, demos, Tabular(n)).Fit();
            tv.Add(MeanTotalVariation(Policy(agent), expert));
        }
        for (int k = 1; k < tv.Count; k++) Assert.True(tv[k] < tv[k - 1], $"TV(π_BC, π*) {string.Join(" → ", tv.Select(x => x.ToString("F4")))} does not fall with N");
        Assert.True(tv[^1] < 0.02, $"TV(π_BC, π*) = {tv[^1]:F4} at N = 50,000");
        Assert.True(tv[0] > 0.04, $"TV at N = 100 is {tv[0]:F4}: too small for the test to tell N apart");
    }

    [Fact]
    public void The_fit_is_the_maximum_likelihood_estimate_the_empirical_action_frequencies()
    {
        var demos = TabularDemos(Expert(), 20_000, 3);
        var counts = new double[States, Actions];
        for (int i = 0; i < demos.Steps; i++) counts[demos.Observations.Slice(i * States, States).IndexOf(1f), demos.DiscreteActions[i]]++;
        for (int s = 0; s < States; s++)
        {
            double row = 0;
            for (int a = 0; a < Actions; a++) row += counts[s, a];
            for (int a = 0; a < Actions; a++) counts[s, a] /= row;
        }
        var agent = TabularAgent();
        var bc = new BehaviourCloning(agent, demos, Tabular(demos.Steps));
        bc.Fit();
        Assert.True(MeanTotalVariation(Policy(agent), counts) < 0.006, $"TV(π_BC, empirical) = {MeanTotalVariation(Policy(agent), counts):F4}");
        // the loss it reports is the empirical cross-entropy at the fit: −(1/N) Σ log π(a_i|s_i)
        Assert.True(bc.History[^1].TrainLoss < bc.History[0].TrainLoss);
        Assert.True(double.IsNaN(bc.History[^1].HeldOutLoss)); // nothing held out
    }

    [Fact]
    public void A_gaussian_policy_recovers_a_linear_gaussian_experts_mean_map_and_sigma()
    {
        const int n = 8_000;
        const double sigma = 0.3;
        var rng = new Rng(11);
        var obs = new float[n * 2];
        var actions = new float[n];
        for (int i = 0; i < n; i++)
        {
            obs[2 * i] = (float)(2 * rng.NextDouble() - 1);
            obs[2 * i + 1] = (float)(2 * rng.NextDouble() - 1);
            actions[i] = (float)(0.5 * obs[2 * i] - obs[2 * i + 1] + 0.25 + sigma * rng.NextGaussian());
        }
        var demos = new Demonstrations("linear", "a = 0.5 s0 − s1 + 0.25 + N(0, 0.3²)", 2, Box.Uniform(1, -10, 10), obs, null, actions,
            new double[n], [n], [EpisodeEnd.Truncated]);
        var agent = new ActorCritic(Box.Uniform(2, -1, 1), Box.Uniform(1, -10, 10), [], Activation.Tanh, 0, new Rng(2));
        var bc = new BehaviourCloning(agent, demos, new BehaviourCloningSettings { Epochs = 60, BatchSize = 128, LearningRate = 0.01, HeldOutFraction = 0.2 });
        bc.Fit();
        var theta = agent.Theta.Values; // W [1, 2], b [1], log σ [1]
        Assert.Equal(0.5, theta[0], 0.04);
        Assert.Equal(-1.0, theta[1], 0.04);
        Assert.Equal(0.25, theta[2], 0.03);
        Assert.Equal(sigma, Math.Exp(theta[3]), 0.02);
        // held-out log-likelihood near the true model's E[log N(a; μ, σ²)] = −½ log(2πσ²) − ½
        double truth = -0.5 * Math.Log(2 * Math.PI * sigma * sigma) - 0.5;
        Assert.Equal(truth, bc.History[^1].HeldOutLogLikelihood, 0.05);
        Assert.True(double.IsNaN(bc.History[^1].HeldOutAccuracy));

        // FitLogStd = false: log σ stays exactly where it was
        var fixedSigma = new ActorCritic(Box.Uniform(2, -1, 1), Box.Uniform(1, -10, 10), [], Activation.Tanh, -0.5, new Rng(2));
        new BehaviourCloning(fixedSigma, demos, new BehaviourCloningSettings { Epochs = 10, BatchSize = 128, LearningRate = 0.01, FitLogStd = false }).Fit();
        Assert.Equal(-0.5f, fixedSigma.Theta.Values[3]);
        Assert.Equal(0.5, fixedSigma.Theta.Values[0], 0.1); // the mean map still fits
    }

    [Fact]
    public void Ten_expert_episodes_clone_a_cartpole_policy_at_the_threshold()
    {
        var env = EnvRegistry.Make("CartPole-v1");
        var expert = ScriptedExperts.For(env)!.Value;
        var demos = Demonstrations.Record(env, "CartPole-v1", expert.Description, 10, 0, discreteExpert: expert.Act);
        Assert.Equal(5_000, demos.Steps); // the expert balances every episode to the limit
        var agent = new ActorCritic(Box.Uniform(4, -1, 1), new Discrete(2), [64, 64], Activation.Tanh, 0, new Rng(3));
        var bc = new BehaviourCloning(agent, demos, new BehaviourCloningSettings { Epochs = 30, Seed = 1 });
        bc.Fit();
        Assert.True(bc.History[^1].HeldOutAccuracy > 0.95, $"held-out accuracy {bc.History[^1].HeldOutAccuracy:P1}");
        // the held-out figures recomputed one step at a time by the acting path: the mode's accuracy and −mean log π(a*|s)
        var held = bc.HeldOutIndices.ToArray();
        Assert.Equal(500, held.Length);
        var tape = new Tape<float>();
        int correct = 0;
        double loss = 0;
        var mode = new int[1];
        var logp = new float[1];
        foreach (int t in held)
        {
            var s = demos.Observations.Slice(4 * t, 4).ToArray();
            agent.Categorical!.Act(tape, s, new Rng(0), mode, logp, deterministic: true);
            if (mode[0] == demos.DiscreteActions[t]) correct++;
            tape.Reset();
            loss -= tape.Value(agent.Categorical.Distribution(tape, tape.Borrow(s, 1, 4)).LogProb([demos.DiscreteActions[t]]))[0];
        }
        Assert.Equal(correct / 500.0, bc.History[^1].HeldOutAccuracy);
        Assert.Equal(loss / 500, bc.History[^1].HeldOutLoss, 1e-5);
        var (mean, _) = agent.EvaluateReturn(EnvRegistry.Make("CartPole-v1"), 20, 1_000_000);
        Assert.True(mean >= 475, $"BC from 10 episodes: deterministic return {mean:F1} over 20 episodes");
        // the clone alone is a policy file like any trained policy's
        var policy = TrainedPolicy.From(agent, "bc", "CartPole-v1", 0);
        Assert.True(Evaluation.Evaluate(policy, EnvRegistry.Make("CartPole-v1"), 5, seed: 1_000_000).Mean >= 475);
    }

    private static Demonstrations MountainCarDemos(int episodes)
    {
        var env = EnvRegistry.Make("MountainCar-v0");
        var expert = ScriptedExperts.For(env)!.Value;
        return Demonstrations.Record(env, "MountainCar-v0", expert.Description, episodes, 100, discreteExpert: expert.Act);
    }

    [Fact]
    public void Pretraining_clones_into_the_algorithms_policy_behind_its_normalizer_started_from_the_demonstrations_statistics()
    {
        var demos = MountainCarDemos(5);
        var env = new NormalizedVectorEnv(new SyncVectorEnv("MountainCar-v0", 4));
        var ppo = new Ppo(env, new PpoSettings { NumEnvs = 4, StepsPerEnv = 64, Seed = 2 });
        var bc = BehaviourCloning.Pretrain(ppo, demos, new BehaviourCloningSettings { Epochs = 50 }, "MountainCar-v0");
        // the statistics are the demonstrations' mean and population variance (with the 10⁻⁴ prior weight)
        for (int c = 0; c < 2; c++)
        {
            var column = Enumerable.Range(0, demos.Steps).Select(t => (double)demos.Observations[t * 2 + c]).ToArray();
            double mean = column.Average();
            Assert.Equal(mean, env.ObservationStatistics.Mean[c], 1e-6 * Math.Max(1, Math.Abs(mean)));
            Assert.Equal(column.Average(x => (x - mean) * (x - mean)), env.ObservationStatistics.Variance[c], 1e-6);
        }
        // the current observations were renormalized with them
        var expected = new float[env.Observations.Length];
        var raw = new SyncVectorEnv("MountainCar-v0", 4);
        raw.Reset(2);
        env.NormalizeObservation(raw.Observations, expected);
        Assert.Equal(expected, env.Observations.ToArray());
        // the policy file replays the normalizer: its mode agrees with the expert on the demonstrated states
        var policy = TrainedPolicy.From(ppo, "MountainCar-v0");
        int agree = 0;
        for (int t = 0; t < demos.Steps; t++) if (policy.Predict(demos.Observations.Slice(2 * t, 2)) == demos.DiscreteActions[t]) agree++;
        Assert.True(agree > 0.95 * demos.Steps, $"the clone agrees with the expert on {agree} of {demos.Steps} states");
        Assert.True(bc.History[^1].HeldOutAccuracy > 0.9);

        // BC starts a run: refused once the run has taken steps, and for other spaces
        ppo.Iterate();
        Assert.Contains("at step 256", Assert.Throws<InvalidOperationException>(() => BehaviourCloning.Pretrain(ppo, demos, new BehaviourCloningSettings())).Message);
        var cartPole = new Ppo(new SyncVectorEnv("CartPole-v1", 1), new PpoSettings { NumEnvs = 1, StepsPerEnv = 64 });
        Assert.Contains("recorded on MountainCar-v0, not CartPole-v1",
            Assert.Throws<ArgumentException>(() => BehaviourCloning.Pretrain(cartPole, demos, new BehaviourCloningSettings(), "CartPole-v1")).Message);
    }

    [Fact]
    public void The_value_warm_up_fits_phi_on_the_cloned_policys_returns_and_never_moves_theta()
    {
        var demos = MountainCarDemos(3);
        var ppo = new Ppo(new SyncVectorEnv("MountainCar-v0", 4), new PpoSettings { NumEnvs = 4, StepsPerEnv = 128, BatchSize = 128, Epochs = 4, Seed = 4 });
        BehaviourCloning.Pretrain(ppo, demos, new BehaviourCloningSettings { Epochs = 5 });
        float[] theta = ppo.Agent.Theta.Values.ToArray(), phi = ppo.Agent.Phi.Values.ToArray();
        var losses = ppo.WarmUpValue(6);
        Assert.Equal(theta, ppo.Agent.Theta.Values.ToArray());
        Assert.NotEqual(phi, ppo.Agent.Phi.Values.ToArray());
        Assert.Equal(6 * 512, ppo.TotalSteps);
        Assert.True(losses[^1] < 0.5 * losses[0], $"value loss {string.Join(" → ", losses.Select(l => l.ToString("F2")))}");
    }

    [Fact]
    public void Bad_settings_are_named()
    {
        Assert.Contains("HeldOutFraction", Assert.Throws<ArgumentOutOfRangeException>(() => new BehaviourCloningSettings { HeldOutFraction = 1 }.Validate()).Message);
        Assert.Contains("Epochs", Assert.Throws<ArgumentOutOfRangeException>(() => new BehaviourCloningSettings { Epochs = 0 }.Validate()).Message);
    }
}
