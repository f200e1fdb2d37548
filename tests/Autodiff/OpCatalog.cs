using System.Numerics;

namespace PurePg.Autodiff.Tests;

/// <summary>Every op by name, generic over the element type, with an input domain where it is smooth — for tests that run each op in float and double.</summary>
public static class OpCatalog
{
    public sealed record Entry(string Name, int Arity, Func<Rng, int, double[]> Values, bool Broadcasts = false);

    private static double[] Any(Rng r, int n) => Generators.Uniform(r, n, -2, 2);
    private static double[] Positive(Rng r, int n) => Generators.Uniform(r, n, 0.5, 3);
    private static double[] NonZero(Rng r, int n) => Generators.AwayFromZero(r, n, 0.05, 2);
    /// <summary>
    /// [-0.5, 0.5] for the fused layers: x·Wᵀ + b then stays where tanh does not saturate — at a pre-activation of ±9,
    /// 1 − y² computed from a float y ≈ ±1 keeps no correct digits (seen: the gradient of x 1.5 % off double's when both
    /// outputs of a [1, 2] layer over k = 32 saturated), for LinearTanh as for Tanh(Linear(…)).
    /// </summary>
    private static double[] Small(Rng r, int n) => Generators.Uniform(r, n, -0.5, 0.5);
    /// <summary>Values in [-2, 2] at least 0.01 from Clamp's kinks at ±0.5 (see <see cref="SeparateTies"/> for why).</summary>
    private static double[] OffClampEdges(Rng r, int n)
    {
        var v = Any(r, n);
        for (int i = 0; i < n; i++) if (Math.Abs(Math.Abs(v[i]) - 0.5) < 0.01) v[i] += v[i] < 0 ? -0.02 : 0.02;
        return v;
    }

    public static readonly Entry[] All =
    [
        new("Add", 2, Any, true), new("Subtract", 2, Any, true), new("Multiply", 2, Any, true), new("Divide", 2, NonZero, true),
        new("Negate", 1, Any), new("AddScalar", 1, Any), new("Scale", 1, Any),
        new("Exp", 1, Any), new("Log", 1, Positive), new("Tanh", 1, Any), new("Relu", 1, NonZero), new("Sigmoid", 1, Any),
        new("Softplus", 1, Any), new("Square", 1, Any), new("Sqrt", 1, Positive), new("Clamp", 1, OffClampEdges),
        new("Minimum", 2, Any), new("Maximum", 2, Any),
        new("Sum", 1, Any), new("Mean", 1, Any), new("SumRows", 1, Any), new("MeanRows", 1, Any),
        new("LogSumExp", 1, Any), new("LogSoftmax", 1, Any), new("Gather", 1, Any), new("LogSoftmaxGather", 1, Any),
        new("MatMulNN", 2, Any), new("MatMulNT", 2, Any), new("MatMulTN", 2, Any), new("MatMulTT", 2, Any),
        new("Linear", 3, Any), new("LinearTanh", 3, Small), new("LinearRelu", 3, Small),
    ];

    /// <summary>
    /// Moves the second input of Minimum and Maximum 0.01 … 1 away from the first, element by element: a tie is a kink, where
    /// derivatives and finite differences disagree (uniform draws of a and b came 4.3e-8 apart, inside a 1e-6 difference
    /// step). Does nothing for the other ops.
    /// </summary>
    public static void SeparateTies(string name, double[][] inputs, Rng rng)
    {
        if (name is not ("Minimum" or "Maximum")) return;
        for (int e = 0; e < inputs[1].Length; e++) inputs[1][e] = inputs[0][e] + Generators.AwayFromZero(rng, 1, 0.01, 1)[0];
    }

    /// <summary>Input shapes for op <paramref name="name"/> given a case's [rows, cols] and an inner size k.</summary>
    public static Shape[] Shapes(string name, Shape s, int k) => name switch
    {
        "MatMulNN" => [new(s.Rows, k), new(k, s.Cols)],
        "MatMulNT" => [new(s.Rows, k), new(s.Cols, k)],
        "MatMulTN" => [new(k, s.Rows), new(k, s.Cols)],
        "MatMulTT" => [new(k, s.Rows), new(s.Cols, k)],
        "Linear" or "LinearTanh" or "LinearRelu" => [new(s.Rows, k), new(s.Cols, k), new(1, s.Cols)],
        "Add" or "Subtract" or "Multiply" or "Divide" => [s, new(1, s.Cols)],
        _ => Enumerable.Repeat(s, 3).ToArray(),
    };

    public static Var<T> Apply<T>(string name, Tape<T> t, Var<T>[] x, int[] index) where T : unmanaged, IBinaryFloatingPointIeee754<T> => name switch
    {
        "Add" => x[0] + x[1], "Subtract" => x[0] - x[1], "Multiply" => x[0] * x[1], "Divide" => x[0] / x[1],
        "Negate" => -x[0], "AddScalar" => x[0] + T.CreateTruncating(0.75), "Scale" => x[0] * T.CreateTruncating(-1.5),
        "Exp" => t.Exp(x[0]), "Log" => t.Log(x[0]), "Tanh" => t.Tanh(x[0]), "Relu" => t.Relu(x[0]), "Sigmoid" => t.Sigmoid(x[0]),
        "Softplus" => t.Softplus(x[0]), "Square" => t.Square(x[0]), "Sqrt" => t.Sqrt(x[0]),
        "Clamp" => t.Clamp(x[0], T.CreateTruncating(-0.5), T.CreateTruncating(0.5)),
        "Minimum" => t.Minimum(x[0], x[1]), "Maximum" => t.Maximum(x[0], x[1]),
        "Sum" => t.Sum(x[0]), "Mean" => t.Mean(x[0]), "SumRows" => t.SumRows(x[0]), "MeanRows" => t.MeanRows(x[0]),
        "LogSumExp" => t.LogSumExp(x[0]), "LogSoftmax" => t.LogSoftmax(x[0]),
        "Gather" => t.Gather(x[0], index), "LogSoftmaxGather" => t.LogSoftmaxGather(x[0], index),
        "MatMulNN" => t.MatMul(x[0], x[1]), "MatMulNT" => t.MatMul(x[0], x[1], transB: true),
        "MatMulTN" => t.MatMul(x[0], x[1], transA: true), "MatMulTT" => t.MatMul(x[0], x[1], true, true),
        "Linear" => t.Linear(x[0], x[1], x[2]),
        "LinearTanh" => t.LinearTanh(x[0], x[1], x[2]), "LinearRelu" => t.LinearRelu(x[0], x[1], x[2]),
        _ => throw new ArgumentException(name),
    };

    /// <summary>Runs the op named <paramref name="name"/>; see the other overload.</summary>
    public static (double[] Output, double[][] Gradients) Run<T>(string name, Shape[] shapes, double[][] inputs, int[] index, Func<int, double[]> weights)
        where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Run<T>(shapes, inputs, (t, x) => Apply(name, t, x, index), weights);

    /// <summary>
    /// Runs <paramref name="op"/> on a fresh tape in T with the inputs as parameters: the output y, and ∂⟨c, y⟩/∂x_k for
    /// each input, all as double, where c = <paramref name="weights"/>(length of y).
    /// </summary>
    public static (double[] Output, double[][] Gradients) Run<T>(Shape[] shapes, double[][] inputs, Func<Tape<T>, Var<T>[], Var<T>> op, Func<int, double[]> weights)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var tape = new Tape<T>();
        var theta = new ParameterSet<T>();
        var views = shapes.Select((s, k) => theta.Add($"x{k}", s.Rows, s.Cols)).ToArray();
        for (int k = 0; k < views.Length; k++)
            for (int e = 0; e < inputs[k].Length; e++) theta.Slice(views[k])[e] = T.CreateTruncating(inputs[k][e]);
        var xs = views.Select(v => tape.Parameter(theta, v)).ToArray();
        Var<T> y = op(tape, xs);
        double[] c = weights(y.Shape.Length);
        tape.Backward(tape.Sum(y * tape.Constant(c.Select(T.CreateTruncating).ToArray(), y.Rows, y.Cols)));
        double[] output = tape.Value(y).ToArray().Select(double.CreateTruncating).ToArray();
        double[][] grads = xs.Select(v => tape.Gradient(v).ToArray().Select(double.CreateTruncating).ToArray()).ToArray();
        return (output, grads);
    }
}
