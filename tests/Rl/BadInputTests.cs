using PurePg.Autodiff;
using PurePg.Autodiff.Modules;
using PurePg.Envs;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Policies;
using PurePg.Rl.SecondOrder;

namespace PurePg.Rl.Tests;

/// <summary>Bad input that used to pass silently gets a message naming it.</summary>
public class BadInputTests
{
    [Fact]
    public void A_non_finite_observation_is_named_by_every_acting_path()
    {
        float[] obs = [0.1f, 0.2f, float.NaN, 0.4f];
        var tape = new Tape<float>();
        var categorical = new CategoricalMlpPolicy<float>(new ParameterSet<float>(), 4, [8], 2);
        var e = Assert.Throws<ArgumentException>(() => categorical.Act(tape, obs, new Rng(1), new int[1], new float[1]));
        Assert.Contains("Observation 0, feature 2, is NaN", e.Message);
        var gaussian = new GaussianMlpPolicy<float>(new ParameterSet<float>(), 2, [8], 1);
        e = Assert.Throws<ArgumentException>(() => gaussian.Act(tape, new float[] { 0f, 1f, float.PositiveInfinity, 0f }, new Rng(1), new float[2], new float[2]));
        Assert.Contains("Observation 1, feature 0, is Infinity", e.Message);
        var agent = new ActorCritic(new Box([-1f, -1f, -1f, -1f], [1f, 1f, 1f, 1f]), new Discrete(2), [8], Activation.Tanh, 0, new Rng(2));
        e = Assert.Throws<ArgumentException>(() => agent.PredictValues(obs, new float[1]));
        Assert.Contains("Observation 0, feature 2, is NaN", e.Message);
    }

    [Fact]
    public void Values_must_match_the_batch()
    {
        var agent = new ActorCritic(new Box([-1f, -1f], [1f, 1f]), new Discrete(2), [8], Activation.Tanh, 0, new Rng(2));
        var e = Assert.Throws<ArgumentException>(() => agent.Act(new float[] { 0f, 0f, 1f, 1f }, new Rng(3), new int[2], default, new float[2], new float[5]));
        Assert.Contains("values has 5 elements for a batch of 2", e.Message);
    }

    [Fact]
    public void Conjugate_gradient_names_a_non_finite_right_hand_side_instead_of_blaming_definiteness()
    {
        double[] b = [1, double.NaN, 3], x = new double[3];
        var e = Assert.Throws<ArgumentException>(() => ConjugateGradient.Solve((p, ap) => p.CopyTo(ap), b, x));
        Assert.Contains("b[1] is NaN", e.Message);
        var nanProduct = Assert.Throws<ArithmeticException>(() => ConjugateGradient.Solve((p, ap) => ap.Fill(double.NaN), [1.0, 2.0], new double[2]));
        Assert.DoesNotContain("add damping", nanProduct.Message);
    }
}
