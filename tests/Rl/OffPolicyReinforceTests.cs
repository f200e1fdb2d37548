using PurePg.Envs.Teaching;
using PurePg.Envs.Vector;
using PurePg.Rl.Algorithms;

namespace PurePg.Rl.Tests;

/// <summary>REINFORCE that reuses its last K batches with per-step importance weights
/// (<see cref="ReinforceSettings.ReuseBatches"/>, <see cref="ReinforceSettings.Truncation"/>): wired as the formula says,
/// resumed exactly, and still reaching a tabular MDP's optimum.</summary>
public class OffPolicyReinforceTests
{
    static TabularMdp Mdp() => new(4, 3, horizon: null, gamma: 0.9, seed: 17) { MaxEpisodeSteps = 60 };

    static ReinforceSettings Settings(int reuse, double? truncation = null) => new()
    {
        NumEnvs = 8, StepsPerEnv = 120, HiddenSizes = [], Gamma = 0.9, PolicyLearningRate = 0.05, ValueLearningRate = 0.05,
        ValueIterations = 20, Seed = 3, ReuseBatches = reuse, Truncation = truncation,
    };

    [Fact]
    public void The_first_update_is_on_policy_and_a_reused_batch_weighted_to_zero_halves_the_gradient()
    {
        var onPolicy = new Reinforce(new SyncVectorEnv(Mdp, 8), Settings(1));
        // c = 1e-30: the older batch's weights min(ρ, c)·Â vanish, so ĝ = (1/2n) Σ_newest ∇log π·Â, half of K = 1's
        var reusing = new Reinforce(new SyncVectorEnv(Mdp, 8), Settings(2, truncation: 1e-30));
        var a = onPolicy.Update();
        var b = reusing.Update();
        Assert.Equal(a.GradientNorm, b.GradientNorm);
        Assert.Equal(onPolicy.PolicyParameters.Values.ToArray(), reusing.PolicyParameters.Values.ToArray());
        a = onPolicy.Update();
        b = reusing.Update();
        Assert.Equal(0.5 * a.GradientNorm, b.GradientNorm, 0.5 * a.GradientNorm * 1e-5);
        Assert.Equal(0.5, b.TruncatedFraction); // every ratio of the older half is cut
    }

    [Fact]
    public void Without_truncation_the_older_batches_ratios_are_not_all_one_and_with_it_none_exceeds_c()
    {
        var algo = new Reinforce(new SyncVectorEnv(Mdp, 8), Settings(3));
        var u = algo.Update();
        Assert.Equal(1.0, u.EffectiveSampleFraction);
        u = algo.Update();
        Assert.InRange(u.EffectiveSampleFraction, 0.5, 1 - 1e-6); // the policy moved, so the older batch is worth less
        Assert.Equal(0, u.TruncatedFraction);
        var truncated = new Reinforce(new SyncVectorEnv(Mdp, 8), Settings(3, truncation: 1.0));
        truncated.Update();
        u = truncated.Update();
        Assert.InRange(u.TruncatedFraction, 0.05, 0.5 - 1e-6); // some of the older batch's ratios exceed 1
    }

    [Fact]
    public void A_run_resumed_from_a_checkpoint_continues_bit_for_bit()
    {
        var settings = Settings(3, truncation: 2.0);
        var first = new Reinforce(new SyncVectorEnv(Mdp, 8), settings);
        for (int i = 0; i < 4; i++) first.Update();
        var state = new MemoryStream();
        using (var w = new BinaryWriter(state, System.Text.Encoding.UTF8, leaveOpen: true)) first.WriteState(w);
        for (int i = 0; i < 3; i++) first.Update();

        var second = new Reinforce(new SyncVectorEnv(Mdp, 8), settings);
        state.Position = 0;
        using (var r = new BinaryReader(state)) second.ReadState(r);
        for (int i = 0; i < 3; i++) second.Update();
        Assert.Equal(first.PolicyParameters.Values.ToArray(), second.PolicyParameters.Values.ToArray());
        Assert.Equal(first.ValueParameters.Values.ToArray(), second.ValueParameters.Values.ToArray());
    }

    [Fact]
    public void Reusing_four_batches_with_truncation_still_reaches_the_optimum_of_a_tabular_MDP()
    {
        var mdp = Mdp();
        var algo = new Reinforce(new SyncVectorEnv(Mdp, 8), Settings(4, truncation: 1.0));
        for (int i = 0; i < 150; i++) algo.Update();
        double learned = LearningTests.LearnedObjective(algo, mdp), best = LearningTests.OptimalObjective(mdp);
        Assert.True(learned >= best - 0.01 * Math.Abs(best), $"J(learned) = {learned:F4}, J* = {best:F4}");
    }
}
