using PurePg.Envs.Teaching;
using PurePg.Envs.Vector;
using PurePg.Rl.Algorithms;

namespace PurePg.Rl.Tests;

/// <summary>REINFORCE learns: to the exact optimum of a small tabular MDP, and to within 5 % of the Riccati-optimal cost
/// of an LQR with a linear Gaussian policy.</summary>
public class LearningTests
{
    [Fact]
    public void Reinforce_with_a_value_baseline_reaches_the_optimum_of_a_tabular_MDP()
    {
        const int states = 4, actions = 3;
        TabularMdp Make() => new(states, actions, horizon: null, gamma: 0.9, seed: 17) { MaxEpisodeSteps = 60 };
        var mdp = Make();
        double best = OptimalObjective(mdp), uniform = mdp.Objective(new double[states * actions]);

        var env = new SyncVectorEnv(Make, 8);
        var settings = new ReinforceSettings { NumEnvs = 8, StepsPerEnv = 120, HiddenSizes = [], Gamma = 0.9, PolicyLearningRate = 0.05, ValueLearningRate = 0.05, ValueIterations = 20, Seed = 3 };
        var algo = new Reinforce(env, settings);
        for (int i = 0; i < 150; i++) algo.Update();

        double learned = LearnedObjective(algo, mdp);
        Assert.True(learned >= best - 0.01 * Math.Abs(best), $"J(learned) = {learned:F4}, J* = {best:F4}, J(uniform) = {uniform:F4}");
    }

    /// <summary>J* over deterministic stationary policies (optimal for a discounted MDP), each as a near-deterministic softmax.</summary>
    internal static double OptimalObjective(TabularMdp mdp)
    {
        int states = mdp.NumStates, actions = mdp.NumActions;
        double best = double.NegativeInfinity;
        var theta = new double[states * actions];
        for (int code = 0; code < (int)Math.Pow(actions, states); code++)
        {
            Array.Clear(theta);
            for (int s = 0, c = code; s < states; s++, c /= actions) theta[s * actions + c % actions] = 40;
            best = Math.Max(best, mdp.Objective(theta));
        }
        return best;
    }

    /// <summary>J of the tabular policy REINFORCE learned (no hidden layer on one-hot states): logits W[a, s] + b[a].</summary>
    internal static double LearnedObjective(Reinforce algo, TabularMdp mdp)
    {
        int states = mdp.NumStates, actions = mdp.NumActions;
        var theta = new double[states * actions];
        var w = algo.PolicyParameters.Slice(algo.CategoricalPolicy!.Network.Layers[0].Weight);
        var b = algo.PolicyParameters.Slice(algo.CategoricalPolicy.Network.Layers[0].Bias);
        for (int s = 0; s < states; s++)
            for (int a = 0; a < actions; a++) theta[s * actions + a] = w[a * states + s] + b[a];
        return mdp.Objective(theta);
    }

    [Fact]
    public void Reinforce_with_a_linear_Gaussian_policy_gets_within_five_percent_of_the_Riccati_optimal_LQR_cost()
    {
        Lqr Make() => new(new double[,] { { 0.9 } }, new double[,] { { 1.0 } }, new double[,] { { 1.0 } }, new double[,] { { 0.5 } },
            noiseStd: 0.1, initialStd: 1.0, horizon: 20);
        var lqr = Make();
        double optimal = lqr.OptimalCost;
        var env = new SyncVectorEnv(Make, 16);
        var settings = new ReinforceSettings
        {
            NumEnvs = 16, StepsPerEnv = 100, HiddenSizes = [], Gamma = 1.0, PolicyLearningRate = 0.01, ValueLearningRate = 0.02,
            ValueIterations = 20, InitialLogStd = -0.7, Seed = 5,
        };
        var algo = new Reinforce(env, settings);
        double cost = double.NaN;
        for (int i = 0; i < 300; i++) algo.Update();
        var policy = algo.GaussianPolicy!;
        double w = algo.PolicyParameters.Slice(policy.Network.Layers[0].Weight)[0];
        double b = algo.PolicyParameters.Slice(policy.Network.Layers[0].Bias)[0];
        cost = lqr.ExpectedCost(_ => new double[,] { { -w } }, actionStd: 0, offset: [b]); // the learned mean policy u = w x + b
        Assert.True(cost <= 1.05 * optimal, $"cost of the learned policy {cost:F4} (gain {-w:F3}, offset {b:F3}) vs Riccati optimum {optimal:F4}");
    }
}
