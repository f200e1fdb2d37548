using System.Numerics.Tensors;
using PurePg.Autodiff.Modules;

namespace PurePg.Autodiff.Tests;

/// <summary>Forward mode against reverse mode (⟨u, Jᵀc⟩ = ⟨J u, c⟩) and against central finite differences, for every op
/// of the catalog and for whole networks, in double precision on generated shapes and directions.</summary>
public class JvpTests
{
    public static TheoryData<string> OpNames()
    {
        var data = new TheoryData<string>();
        foreach (var e in OpCatalog.All) data.Add(e.Name);
        return data;
    }

    /// <summary>Records the op with its inputs as parameters; returns the tape, the set, the output.</summary>
    private static (Tape<double> Tape, ParameterSet<double> Theta, Var<double> Y) Record(string name, Shape[] shapes, double[][] inputs, int[] index)
    {
        var tape = new Tape<double>();
        var theta = new ParameterSet<double>();
        var views = shapes.Select((s, k) => theta.Add($"x{k}", s.Rows, s.Cols)).ToArray();
        for (int k = 0; k < views.Length; k++) inputs[k].CopyTo(theta.Slice(views[k]));
        var xs = views.Select(v => tape.Parameter(theta, v)).ToArray();
        return (tape, theta, OpCatalog.Apply(name, tape, xs, index));
    }

    private static (Shape[] Shapes, double[][] Inputs, int[] Index, Rng Rng) Inputs(OpCatalog.Entry entry, Case c)
    {
        var rng = new Rng(c.Seed);
        int k = 1 + rng.NextInt(5);
        var shapes = OpCatalog.Shapes(entry.Name, c.Shape, k)[..entry.Arity];
        var inputs = shapes.Select(s => entry.Values(rng, s.Length)).ToArray();
        OpCatalog.SeparateTies(entry.Name, inputs, rng);
        int rows = entry.Name is "Gather" or "LogSoftmaxGather" ? shapes[0].Rows : c.Rows;
        int[] index = Enumerable.Range(0, rows).Select(_ => rng.NextInt(shapes[0].Cols)).ToArray();
        return (shapes, inputs, index, rng);
    }

    [Theory]
    [MemberData(nameof(OpNames))]
    public void Jvp_agrees_with_vjp(string name)
    {
        var entry = OpCatalog.All.Single(e => e.Name == name);
        Generators.ForAll(Generators.Cases, c =>
        {
            var (shapes, inputs, index, rng) = Inputs(entry, c);
            var (tape, theta, y) = Record(name, shapes, inputs, index);
            double[] u = Generators.Uniform(rng, theta.Count, -1, 1);
            double[] weights = Generators.Uniform(rng, y.Shape.Length, -1, 1);
            // reverse: Jᵀc
            tape.Backward(tape.Sum(y * tape.Constant(weights, y.Rows, y.Cols)));
            double[] jtc = tape.GradientOf(theta).ToArray();
            // forward: J u (the tangents of the recorded op are unaffected by the nodes Backward's loss appended)
            tape.ForwardTangents(theta, u);
            double[] ju = tape.Tangent(y).ToArray();
            double lhs = TensorPrimitives.Dot<double>(u, jtc), rhs = TensorPrimitives.Dot<double>(ju, weights);
            double scale = Math.Sqrt(TensorPrimitives.Dot<double>(u, u) * TensorPrimitives.Dot<double>(jtc, jtc)) + 1e-300;
            Assert.True(Math.Abs(lhs - rhs) <= 1e-10 * scale, $"{name} {c}: ⟨u, Jᵀc⟩ = {lhs:R}, ⟨Ju, c⟩ = {rhs:R}");
        }, maxTest: 40);
    }

    [Theory]
    [MemberData(nameof(OpNames))]
    public void Jvp_agrees_with_central_differences(string name)
    {
        var entry = OpCatalog.All.Single(e => e.Name == name);
        Generators.ForAll(Generators.Cases, c =>
        {
            var (shapes, inputs, index, rng) = Inputs(entry, c);
            var (tape, theta, y) = Record(name, shapes, inputs, index);
            double[] u = Generators.Uniform(rng, theta.Count, -1, 1);
            tape.ForwardTangents(theta, u);
            double[] ju = tape.Tangent(y).ToArray();
            const double eps = 1e-6;
            double[] theta0 = theta.Values.ToArray();
            double[] Perturbed(double step)
            {
                for (int i = 0; i < theta0.Length; i++) theta.Values[i] = theta0[i] + step * u[i];
                var t = new Tape<double>();
                var xs = theta.Views.Select(v => t.Parameter(theta, v)).ToArray();
                return t.Value(OpCatalog.Apply(name, t, xs, index)).ToArray();
            }
            double[] plus = Perturbed(eps), minus = Perturbed(-eps);
            double norm = ju.Max(Math.Abs) + 1e-8;
            for (int e = 0; e < ju.Length; e++)
            {
                double fd = (plus[e] - minus[e]) / (2 * eps);
                // the difference's own rounding error, ≈ 2⁻⁵³·|f|/ε, can exceed 1e-6·‖J u‖ when J u nearly cancels (Sum over
                // 264 elements gave J u = 7.5e-5 with |f| ~ 10 and a 3.8e-9 rounding error): allowed for with 1e-9·|f|
                double rounding = 1e-9 * Math.Max(Math.Abs(plus[e]), Math.Abs(minus[e]));
                Assert.True(Math.Abs(fd - ju[e]) <= 1e-6 * norm + rounding, $"{name} {c} element {e}: JVP {ju[e]:R}, finite difference {fd:R}");
            }
        }, maxTest: 25);
    }

    [Fact]
    public void Jvp_of_a_whole_network_agrees_with_vjp_and_finite_differences()
    {
        Generators.ForAll(Generators.Cases, c =>
        {
            var rng = new Rng(c.Seed);
            var theta = new ParameterSet<double>();
            var net = new Mlp<double>(theta, "pi", [c.Cols, 1 + rng.NextInt(8), 1 + rng.NextInt(8), 2 + rng.NextInt(4)],
                rng.NextInt(2) == 0 ? Activation.Tanh : Activation.Relu);
            net.Initialize(rng, Math.Sqrt(2), 1.0);
            // Nonzero biases: with zero biases a ReLU unit fed only by dead units sits exactly on its kink, where central
            // differences are meaningless.
            for (int i = 0; i < theta.Count; i++) theta.Values[i] += 0.3 * (rng.NextDouble() - 0.5);
            double[] obs = Generators.Uniform(rng, c.Rows * c.Cols, -2, 2);
            int[] actions = Enumerable.Range(0, c.Rows).Select(_ => rng.NextInt(net.Sizes[^1])).ToArray();
            Var<double> LogProb(Tape<double> t) => t.LogSoftmaxGather(net.Forward(t, t.Constant(obs, c.Rows, c.Cols)), actions);

            var tape = new Tape<double>();
            var y = LogProb(tape);
            double[] u = Generators.Uniform(rng, theta.Count, -1, 1);
            double[] weights = Generators.Uniform(rng, c.Rows, -1, 1);
            tape.Backward(tape.Sum(y * tape.Constant(weights, c.Rows, 1)));
            double[] jtc = tape.GradientOf(theta).ToArray();
            tape.ForwardTangents(theta, u);
            double[] ju = tape.Tangent(y).ToArray();
            double lhs = TensorPrimitives.Dot<double>(u, jtc), rhs = TensorPrimitives.Dot<double>(ju, weights);
            double scale = Math.Sqrt(TensorPrimitives.Dot<double>(u, u) * TensorPrimitives.Dot<double>(jtc, jtc));
            Assert.True(Math.Abs(lhs - rhs) <= 1e-10 * scale, $"{c}: ⟨u, Jᵀc⟩ = {lhs:R}, ⟨Ju, c⟩ = {rhs:R}");

            double[] theta0 = theta.Values.ToArray();
            double[] At(double step)
            {
                for (int i = 0; i < theta0.Length; i++) theta.Values[i] = theta0[i] + step * u[i];
                var t = new Tape<double>();
                return t.Value(LogProb(t)).ToArray();
            }
            double[] plus = At(1e-6), minus = At(-1e-6);
            double norm = ju.Max(Math.Abs) + 1e-8;
            for (int e = 0; e < ju.Length; e++)
                Assert.True(Math.Abs((plus[e] - minus[e]) / 2e-6 - ju[e]) <= 1e-6 * norm, $"{c} {net.Activation} row {e}: JVP {ju[e]:R}, finite difference {(plus[e] - minus[e]) / 2e-6:R}");
        }, maxTest: 30);
    }

    [Fact]
    public void Tangents_are_zero_for_what_does_not_depend_on_the_direction_and_must_follow_a_sweep()
    {
        var tape = new Tape<double>();
        var theta = new ParameterSet<double>();
        var w = theta.Add("w", 1, 2);
        theta.Values[0] = 0.5;
        theta.Values[1] = -1;
        var x = tape.Parameter(theta, w);
        var c = tape.Constant([3.0, 4.0], 1, 2);
        var stopped = tape.Detach(x) * c;
        var y = x * c;
        Assert.Throws<InvalidOperationException>(() => tape.Tangent(y));
        tape.ForwardTangents(theta, [1.0, 2.0]);
        Assert.Equal([3.0, 8.0], tape.Tangent(y).ToArray());
        Assert.Equal([0.0, 0.0], tape.Tangent(stopped).ToArray());
        Assert.Throws<ArgumentException>(() => tape.ForwardTangents(theta, [1.0]));
        var later = y + c;
        Assert.Throws<InvalidOperationException>(() => tape.Tangent(later));
    }
}
