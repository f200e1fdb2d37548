using System.Numerics.Tensors;
using PurePg.Autodiff;
using PurePg.Autodiff.Modules;
using PurePg.Rl.Policies;

namespace PurePg.Rl.Tests;

/// <summary>Forward mode through whole policies: ⟨u, Jᵀc⟩ = ⟨J u, c⟩ for log π(a|s) of both policy kinds.</summary>
public class PolicyJvpTests
{
    [Fact]
    public void Jvp_of_log_probabilities_agrees_with_vjp_for_both_policy_kinds()
    {
        var arb = Gen.Choose(0, 100_000).ToArbitrary();
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(60), Prop.ForAll(arb, seed =>
        {
            var rng = new Rng((ulong)seed);
            int obs = 1 + rng.NextInt(5), batch = 1 + rng.NextInt(9), hidden = 1 + rng.NextInt(9);
            var theta = new ParameterSet<double>();
            double[] states = Enumerable.Range(0, batch * obs).Select(_ => 4 * rng.NextDouble() - 2).ToArray();
            Func<Tape<double>, Var<double>> logProb;
            var activation = rng.NextInt(2) == 0 ? Activation.Tanh : Activation.Relu;
            if (seed % 2 == 0)
            {
                var policy = new CategoricalMlpPolicy<double>(theta, obs, [hidden, hidden], 2 + rng.NextInt(4), activation);
                policy.Initialize(rng);
                int[] actions = Enumerable.Range(0, batch).Select(_ => rng.NextInt(policy.NumActions)).ToArray();
                logProb = t => policy.Distribution(t, t.Constant(states, batch, obs)).LogProb(actions);
            }
            else
            {
                var policy = new GaussianMlpPolicy<double>(theta, obs, [hidden], 1 + rng.NextInt(3), activation);
                policy.Initialize(rng, initialLogStd: -0.5);
                double[] actions = Enumerable.Range(0, batch * policy.ActionSize).Select(_ => rng.NextDouble() - 0.5).ToArray();
                logProb = t => policy.Distribution(t, t.Constant(states, batch, obs)).LogProb(actions);
            }
            for (int i = 0; i < theta.Count; i++) theta.Values[i] += 0.4 * (rng.NextDouble() - 0.5);
            var tape = new Tape<double>();
            var y = logProb(tape);
            double[] u = Enumerable.Range(0, theta.Count).Select(_ => 2 * rng.NextDouble() - 1).ToArray();
            double[] c = Enumerable.Range(0, batch).Select(_ => 2 * rng.NextDouble() - 1).ToArray();
            tape.Backward(tape.Sum(y * tape.Constant(c, batch, 1)));
            double[] jtc = tape.GradientOf(theta).ToArray();
            tape.ForwardTangents(theta, u);
            double lhs = TensorPrimitives.Dot<double>(u, jtc), rhs = TensorPrimitives.Dot<double>(tape.Tangent(y), c);
            double scale = Math.Sqrt(TensorPrimitives.Dot<double>(u, u) * TensorPrimitives.Dot<double>(jtc, jtc)) + 1e-300;
            Assert.True(Math.Abs(lhs - rhs) <= 1e-10 * scale, $"seed {seed}: ⟨u, Jᵀc⟩ = {lhs:R}, ⟨Ju, c⟩ = {rhs:R}");
        }));
    }
}
