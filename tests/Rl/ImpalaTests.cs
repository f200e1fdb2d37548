using PurePg.Envs;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Rollouts;
using PurePg.Rl.Training;

namespace PurePg.Rl.Tests;

/// <summary>IMPALA's learner with V-trace: it solves CartPole-v1 while every rollout it learns from is 3 versions old,
/// reports that lag, is reproducible for a seed with the in-process lagged actors, and with one block (no lag) its
/// ratios are all 1.</summary>
public class ImpalaTests
{
    /// <summary>Iterates until a deterministic evaluation (10 episodes, every <paramref name="every"/> steps) reaches
    /// <paramref name="threshold"/> or the budget runs out — the program's --stop-at-threshold protocol.</summary>
    internal static (long Steps, double Return) StepsToThreshold(IOnPolicyAlgorithm algorithm, long budget, long every = 10_000, double threshold = 475)
    {
        long next = every;
        double last = double.NaN;
        while (algorithm.TotalSteps < budget)
        {
            algorithm.Iterate();
            if (algorithm.TotalSteps < next) continue;
            next += every;
            last = algorithm.Agent.EvaluateReturn(EnvRegistry.Make("CartPole-v1"), 10, seed: 1_000_000).Mean;
            if (last >= threshold) return (algorithm.TotalSteps, last);
        }
        return (-1, last);
    }

    [Fact]
    public void Impala_solves_CartPole_from_rollouts_three_versions_old()
    {
        var settings = new ImpalaSettings { NumEnvs = 8, Blocks = 4, Seed = 0 };
        var impala = new Impala(m => AlgorithmCatalog.MakeVectorEnv("CartPole-v1", m), settings);
        var lags = new List<double>();
        for (int k = 0; k < 8; k++) lags.Add(impala.Iterate().Losses.First(l => l.Name == "lag").Value);
        Assert.Equal([0, 1, 2, 3, 3, 3, 3, 3], lags); // the first W rollouts were all sent version 0
        var (steps, reached) = StepsToThreshold(impala, 150_000);
        Assert.True(steps > 0, $"IMPALA (W = 4, lag 3) did not reach 475 in 150,000 steps: last evaluation {reached:F1}");
    }

    [Fact]
    public void A_seed_fixes_an_in_process_run_and_one_block_acts_on_policy()
    {
        var settings = new ImpalaSettings { NumEnvs = 4, Blocks = 2, StepsPerEnv = 16, Seed = 5 };
        Impala Make(ImpalaSettings s) => new(m => AlgorithmCatalog.MakeVectorEnv("Acrobot-v1", m), s);
        var (a, b) = (Make(settings), Make(settings));
        for (int k = 0; k < 6; k++) Assert.Equal(a.Iterate().Losses, b.Iterate().Losses);
        Assert.Equal(a.Agent.Theta.Values.ToArray(), b.Agent.Theta.Values.ToArray());

        var onPolicy = Make(settings with { Blocks = 1 });
        for (int k = 0; k < 4; k++)
        {
            var m = onPolicy.Iterate().Losses.ToDictionary(l => l.Name, l => l.Value);
            Assert.Equal(0, m["lag"]);
            // π = μ up to the float rounding of two forward passes (acting's batch-invariant one and the learner's), which
            // can put a ratio at 1 + 1e-7 and have ρ̄ = 1 "cut" it: the mean is the check
            Assert.Equal(1.0, m["mean_rho"], 5);
        }
    }

    [Fact]
    public void Without_the_correction_every_rollout_is_taken_as_on_policy()
    {
        var settings = new ImpalaSettings { NumEnvs = 4, Blocks = 4, StepsPerEnv = 16, Seed = 3, VTraceCorrection = false, LearningRate = 0.01 };
        var impala = new Impala(m => AlgorithmCatalog.MakeVectorEnv("CartPole-v1", m), settings);
        for (int k = 0; k < 12; k++)
        {
            var m = impala.Iterate().Losses.ToDictionary(l => l.Name, l => l.Value);
            Assert.Equal(1.0, m["mean_rho"]); // exactly: μ is taken to be π
            Assert.Equal(k < 4 ? k : 3, m["lag"]);
        }
    }

    [Fact]
    public void Settings_that_cannot_run_are_refused_by_name()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new ImpalaSettings { NumEnvs = 2, Blocks = 3 }.Validate());
        Assert.Contains("Blocks", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ImpalaSettings { RhoBar = 0 }.Validate());
        var source = new LaggedRolloutSource(m => AlgorithmCatalog.MakeVectorEnv("CartPole-v1", m), 8, 20, 2, [64, 64], Autodiff.Modules.Activation.Tanh);
        Assert.Throws<ArgumentException>(() => new Impala(source, new ImpalaSettings { Blocks = 4 }));
    }
}
