using PurePg.Autodiff;
using PurePg.Autodiff.Modules;
using PurePg.Rl.Policies;

namespace PurePg.Rl.Tests;

public class PolicyTests
{
    [Fact]
    public void Parameters_are_flattened_layer_by_layer_W_then_b_then_log_std()
    {
        var theta = new ParameterSet<float>();
        var policy = new GaussianMlpPolicy<float>(theta, 3, [5, 4], 2);
        var value = new ValueMlp<float>(theta, 3, [6]);
        string[] names = ["pi.0.W", "pi.0.b", "pi.1.W", "pi.1.b", "pi.2.W", "pi.2.b", "pi.log_std", "v.0.W", "v.0.b", "v.1.W", "v.1.b"];
        Shape[] shapes = [new(5, 3), new(1, 5), new(4, 5), new(1, 4), new(2, 4), new(1, 2), new(1, 2), new(6, 3), new(1, 6), new(1, 6), new(1, 1)];
        Assert.Equal(names, theta.Views.Select(v => v.Name).ToArray());
        Assert.Equal(shapes, theta.Views.Select(v => v.Shape).ToArray());
        int offset = 0;
        foreach (var view in theta.Views)
        {
            Assert.Equal(offset, view.Offset);
            offset += view.Length;
        }
        Assert.Equal(offset, theta.Count);
        Assert.Equal(policy.LogStd, theta["pi.log_std"]);
        Assert.Equal(3, value.Network.Sizes[0]);
    }

    [Fact]
    public void Acting_is_seeded_batched_and_allocation_free()
    {
        var theta = new ParameterSet<float>();
        var policy = new CategoricalMlpPolicy<float>(theta, 4, [64, 64], 3);
        policy.Initialize(new Rng(0));
        for (int i = 0; i < theta.Count; i++) theta.Values[i] += 0.05f * MathF.Sin(i); // a policy that is not uniform
        var obs = Enumerable.Range(0, 64 * 4).Select(i => MathF.Cos(i * 0.37f)).ToArray();
        var tape = new Tape<float>();
        int[] a1 = new int[64], a2 = new int[64];
        float[] lp = new float[64];
        policy.Act(tape, obs, new Rng(42), a1, lp);
        policy.Act(tape, obs, new Rng(42), a2, lp);
        Assert.Equal(a1, a2);
        Assert.All(lp, x => Assert.True(x < 0 && x > -5));
        // the log-probabilities are those of the taken actions
        var check = new Tape<float>();
        var logProb = check.Value(policy.Distribution(check, check.Constant(obs, 64, 4)).LogProb(a2)).ToArray();
        Assert.Equal(logProb, lp);

        var rng = new Rng(1);
        Allocations.NoneInSteadyState(() => policy.Act(tape, obs, rng, a1, lp), what: "categorical Act calls");

        var gaussian = new GaussianMlpPolicy<float>(new ParameterSet<float>(), 4, [8], 2);
        gaussian.Initialize(new Rng(3), initialLogStd: -1);
        var actions = new float[64 * 2];
        Allocations.NoneInSteadyState(() => gaussian.Act(tape, obs, rng, actions, lp), what: "Gaussian Act calls");
        gaussian.Act(tape, obs, rng, actions, lp, deterministic: true);
        var mean = new Tape<float>();
        Assert.Equal(mean.Value(gaussian.Network.Forward(mean, mean.Constant(obs, 64, 4))).ToArray(), actions);
    }


    [Fact]
    public void Bad_batches_are_rejected_with_the_shape_named()
    {
        var policy = new CategoricalMlpPolicy<float>(new ParameterSet<float>(), 4, [8], 2);
        var error = Assert.Throws<ArgumentException>(() => policy.Act(new Tape<float>(), new float[10], new Rng(0), new int[2], new float[2]));
        Assert.Contains("10 observation values", error.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new CategoricalMlpPolicy<float>(new ParameterSet<float>(), 4, [8], 1));
    }
}
