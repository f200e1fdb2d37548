using PurePg.Autodiff;
using PurePg.Rl.Policies;
using PurePg.Rl.SecondOrder;

namespace PurePg.Rl.Tests;

public class ReadmeExampleTests
{
    [Fact]
    public void The_README_policy_example_runs_with_its_variables_defined()
    {
        var actingTape = new Tape<float>();
        var rng = new Rng(1);
        float[] observations = new float[8 * 4], states = new float[256 * 4];
        for (int i = 0; i < states.Length; i++) states[i] = MathF.Sin(i);
        var actions = new int[8];
        var logProbs = new float[8];

        var theta = new ParameterSet<float>();
        var policy = new CategoricalMlpPolicy<float>(theta, observationSize: 4, hiddenSizes: [64, 64], numActions: 2);
        policy.Initialize(new Rng(seed: 0));
        policy.Act(actingTape, observations, rng, actions, logProbs);

        double[] g = Enumerable.Range(0, theta.Count).Select(i => Math.Cos(i)).ToArray();
        var x = new double[theta.Count];
        var fvp = FisherVectorProduct<float>.For(policy, damping: 0.1);
        fvp.Prepare(states);
        var result = ConjugateGradient.Solve(fvp.Apply, g, x, maxIterations: 10);
        Assert.Equal(10, result.Iterations);
        Assert.All(logProbs, lp => Assert.InRange(lp, -0.7f, -0.68f)); // log ½: the initial policy is near uniform
    }
}
