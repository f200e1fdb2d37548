namespace PurePg.Autodiff.Tests;

/// <summary>
/// Checks an op's reverse mode the JAX way: the inputs become parameters, the output is contracted with fixed
/// random weights c, and GradCheck compares ⟨∇⟨c, f(x)⟩, u⟩ with the central difference of ⟨c, f(x + εu)⟩.
/// </summary>
public static class OpChecks
{
    public const double Tolerance = 1e-6;

    public static void Gradient(ulong seed, (Shape Shape, double[] Values)[] inputs, Func<Tape<double>, Var<double>[], Var<double>> op, string label)
    {
        var theta = new ParameterSet<double>();
        var views = new ParameterView[inputs.Length];
        for (int k = 0; k < inputs.Length; k++)
        {
            views[k] = theta.Add($"x{k}", inputs[k].Shape.Rows, inputs[k].Shape.Cols);
            inputs[k].Values.CopyTo(theta.Slice(views[k]));
        }
        var rng = new Rng(seed ^ 0x5EED);
        double[]? weights = null;
        Shape outShape = default;
        Var<double> Loss(Tape<double> tape)
        {
            var xs = new Var<double>[views.Length];
            for (int k = 0; k < xs.Length; k++) xs[k] = tape.Parameter(theta, views[k]);
            Var<double> y = op(tape, xs);
            if (weights is null)
            {
                outShape = y.Shape;
                weights = Generators.Uniform(rng, outShape.Length, -1, 1);
            }
            return tape.Sum(tape.Multiply(y, tape.Constant(weights, outShape.Rows, outShape.Cols)));
        }
        GradCheckResult result = GradCheck.Check(theta, Loss, seed, directions: 2);
        Assert.True(result.Passed, $"{label}: {result}");
    }
}
