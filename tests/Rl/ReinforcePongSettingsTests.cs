using PurePg.Autodiff.Modules;
using PurePg.Envs.Vector;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Rollouts;
using PurePg.Rl.Training;

namespace PurePg.Rl.Tests;

/// <summary>The settings the lectures' Pong run uses: returns restarted at every point, gradients in chunks on several
/// threads, RMSProp, the sum over the batch.</summary>
public class ReinforcePongSettingsTests
{
    const string Pong = "PurePg/PongDiff80-v0";

    static ReinforceSettings PongSettings(int threads, int chunk = 90) => new()
    {
        NumEnvs = 3, StepsPerEnv = 150, HiddenSizes = [8], Activation = Activation.Relu, Baseline = ReinforceBaseline.None,
        ResetReturnAtReward = true, NormalizeAdvantages = true, GradientSum = true, Optimizer = ReinforceOptimizer.RmsProp,
        PolicyLearningRate = 1e-3, GradientChunkRows = chunk, Threads = threads, Seed = 4,
    };

    static Reinforce Build(ReinforceSettings s) => s.Threads > 1
        ? new Reinforce(new ParallelRolloutSource(m => AlgorithmCatalog.MakeVectorEnv(Pong, m), s.NumEnvs, s.StepsPerEnv, s.Threads), s)
        : new Reinforce(AlgorithmCatalog.MakeVectorEnv(Pong, s.NumEnvs), s);

    [Fact]
    public void The_return_restarts_at_every_point_and_an_unfinished_rally_gets_none()
    {
        var algo = Build(PongSettings(1));
        int points = 0, pending = 0;
        for (int u = 0; u < 3; u++)
        {
            algo.Update();
            Assert.All(algo.LastGradient.ToArray(), g => Assert.True(float.IsFinite(g), "the unfinished rallies' NaN reached the gradient"));
            var (buffer, g) = algo.LastBatch;
            // reference, written forwards: a rally runs up to its nonzero reward (or the episode's end); within it
            // G_t = γ^(end − t) r_end; the steps after a copy's last rally end have no return (NaN)
            int n = buffer.NumEnvs;
            for (int i = 0; i < n; i++)
            {
                int start = 0;
                for (int t = 0; t < buffer.Steps; t++)
                {
                    int k = t * n + i;
                    bool ends = buffer.Rewards[k] != 0 || buffer.Terminated[k];
                    if (!ends) continue;
                    points += buffer.Rewards[k] != 0 ? 1 : 0;
                    for (int h = start; h <= t; h++)
                        Assert.Equal(Math.Pow(0.99, t - h) * buffer.Rewards[k], g[h * n + i], 1e-6);
                    start = t + 1;
                }
                for (int h = start; h < buffer.Steps; h++, pending++) Assert.True(float.IsNaN(g[h * n + i]), $"copy {i} step {h}: {g[h * n + i]}");
            }
        }
        Assert.True(points >= 6 && pending > 0, $"{points} points, {pending} pending steps: the test must see both");
    }

    [Fact]
    public void Two_threads_give_the_bits_of_one()
    {
        var one = Build(PongSettings(1));
        var two = Build(PongSettings(2));
        for (int u = 0; u < 3; u++)
        {
            one.Update();
            two.Update();
            Assert.True(one.LastGradient.SequenceEqual(two.LastGradient), $"update {u}: the gradients differ");
            Assert.True(one.Agent.Theta.Values.SequenceEqual(two.Agent.Theta.Values), $"update {u}: θ differs");
        }
    }

    [Fact]
    public void Chunks_add_up_to_the_whole_batch_gradient()
    {
        var whole = Build(PongSettings(1, chunk: 0));
        var chunked = Build(PongSettings(1, chunk: 70));
        whole.Update();
        chunked.Update();
        var a = whole.LastGradient.ToArray();
        var b = chunked.LastGradient.ToArray();
        double norm = Math.Sqrt(a.Sum(x => (double)x * x));
        Assert.True(norm > 0);
        for (int k = 0; k < a.Length; k++) Assert.True(Math.Abs(a[k] - b[k]) <= 1e-5 * norm, $"component {k}: whole {a[k]}, chunked {b[k]}");
    }

    [Fact]
    public void The_sum_is_the_mean_times_the_batch_and_the_first_rmsprop_step_is_its_formula()
    {
        var mean = Build(PongSettings(1) with { GradientSum = false });
        var sum = Build(PongSettings(1));
        var theta0 = sum.Agent.Theta.Values.ToArray();
        mean.Update();
        sum.Update();
        var a = mean.LastGradient.ToArray();
        var b = sum.LastGradient.ToArray();
        for (int k = 0; k < a.Length; k++) Assert.Equal(b[k], a[k] * 450f, Math.Max(1e-3, 1e-4 * Math.Abs(b[k])));
        // RMSProp from v = 0: v = (1 − ρ)g², θ₁ = θ₀ + α g/(√v + ε), ρ = 0.99, α = 1e-3, ε = 1e-5
        var theta1 = sum.Agent.Theta.Values;
        for (int k = 0; k < b.Length; k++)
        {
            double g = b[k], expected = theta0[k] + 1e-3 * g / (Math.Sqrt(0.01 * g * g) + 1e-5);
            Assert.Equal(expected, theta1[k], 1e-6);
        }
    }

    [Fact]
    public void The_sum_applies_to_the_variance_optimal_baselines_step_too()
    {
        static Reinforce Make(bool sum) => new(new SyncVectorEnv(() => new Envs.Teaching.TabularMdp(4, 3, horizon: 10), 2),
            new ReinforceSettings { NumEnvs = 2, StepsPerEnv = 30, HiddenSizes = [], Baseline = ReinforceBaseline.VarianceOptimal, GradientSum = sum, Seed = 1 });
        var (mean, total) = (Make(false), Make(true));
        for (int u = 0; u < 2; u++) { mean.Update(); total.Update(); } // the second update uses a nonzero b_k
        var a = mean.LastGradient.ToArray();
        var b = total.LastGradient.ToArray();
        Assert.Contains(a, v => v != 0);
        for (int k = 0; k < a.Length; k++) Assert.Equal(b[k], a[k] * 60f, Math.Max(1e-5, 1e-5 * Math.Abs(b[k])));
    }

    [Fact]
    public void The_policy_head_gain_scales_the_output_layer_only()
    {
        var small = Build(PongSettings(1) with { PolicyHeadGain = 0.01 }).Agent.Theta.Values.ToArray();
        var large = Build(PongSettings(1) with { PolicyHeadGain = 1 }).Agent.Theta.Values.ToArray();
        int scaled = 0;
        for (int k = 0; k < small.Length; k++)
        {
            if (small[k] == large[k]) continue;
            Assert.Equal(100, large[k] / small[k], 1e-3);
            scaled++;
        }
        Assert.Equal(2 * 8, scaled); // the 2 × 8 output weights; hidden weights and every bias unchanged
        Assert.Contains("PolicyHeadGain", Assert.Throws<ArgumentOutOfRangeException>(() => (PongSettings(1) with { PolicyHeadGain = 0 }).Validate()).Message);
    }

    [Fact]
    public void Settings_that_cannot_work_together_are_refused_by_name()
    {
        Assert.Contains("ResetReturnAtReward", Assert.Throws<ArgumentOutOfRangeException>(() => (PongSettings(1) with { Baseline = ReinforceBaseline.Value }).Validate()).Message);
        Assert.Contains("GradientChunkRows", Assert.Throws<ArgumentOutOfRangeException>(() => (PongSettings(1) with { ReuseBatches = 2 }).Validate()).Message);
        Assert.Contains("Threads", Assert.Throws<ArgumentOutOfRangeException>(() => (PongSettings(1) with { Threads = 4 }).Validate()).Message);
        Assert.Contains("RmsPropDecay", Assert.Throws<ArgumentOutOfRangeException>(() => (PongSettings(1) with { RmsPropDecay = 1 }).Validate()).Message);
        Assert.Throws<ArgumentException>(() => new Reinforce(new SyncVectorEnv(Pong, 3), PongSettings(1) with { StepsPerEnv = 10, NumEnvs = 2 }));
    }
}
