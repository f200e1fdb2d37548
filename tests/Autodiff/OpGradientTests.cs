namespace PurePg.Autodiff.Tests;

/// <summary>Every op's gradient against central finite differences in double precision, on generated shapes.</summary>
public class OpGradientTests
{
    private delegate double[] Values(Rng rng, int n);

    private static readonly Values Any = (r, n) => Generators.Uniform(r, n, -2, 2);
    private static readonly Values Positive = (r, n) => Generators.Uniform(r, n, 0.5, 3);
    private static readonly Values NonZero = (r, n) => Generators.AwayFromZero(r, n, 0.05, 2);

    private static void Unary(Values values, Func<Tape<double>, Var<double>, Var<double>> op, string name) =>
        Generators.ForAll(Generators.Cases, c =>
        {
            var rng = new Rng(c.Seed);
            OpChecks.Gradient(c.Seed, [(c.Shape, values(rng, c.Shape.Length))], (t, x) => op(t, x[0]), $"{name} {c}");
        });

    [Fact] public void Exp() => Unary(Any, (t, x) => t.Exp(x), "Exp");
    [Fact] public void Log() => Unary(Positive, (t, x) => t.Log(x), "Log");
    [Fact] public void Tanh() => Unary(Any, (t, x) => t.Tanh(x), "Tanh");
    [Fact] public void Relu() => Unary(NonZero, (t, x) => t.Relu(x), "Relu");
    [Fact] public void Sigmoid() => Unary(Any, (t, x) => t.Sigmoid(x), "Sigmoid");
    [Fact] public void Softplus() => Unary((r, n) => Generators.Uniform(r, n, -6, 6), (t, x) => t.Softplus(x), "Softplus");
    [Fact] public void Square() => Unary(Any, (t, x) => t.Square(x), "Square");
    [Fact] public void Sqrt() => Unary(Positive, (t, x) => t.Sqrt(x), "Sqrt");
    [Fact] public void Negate() => Unary(Any, (t, x) => t.Negate(x), "Negate");
    [Fact] public void AddScalar() => Unary(Any, (t, x) => x + 0.75, "AddScalar");
    [Fact] public void Scale() => Unary(Any, (t, x) => -1.5 * x, "Scale");
    [Fact] public void ScalarMinusVar() => Unary(Any, (t, x) => 2.0 - x, "c - x");

    [Fact]
    public void Clamp() => Unary((r, n) =>
    {
        // keep every value at least 0.01 from the bounds ±0.5, where the derivative jumps
        var v = Generators.AwayFromZero(r, n, 0.01, 1.5);
        for (int i = 0; i < n; i++) v[i] = v[i] > 0 ? v[i] + 0.5 : v[i] - 0.5;
        for (int i = 0; i < n; i += 2) v[i] = Generators.Uniform(r, 1, -0.49, 0.49)[0];
        return v;
    }, (t, x) => t.Clamp(x, -0.5, 0.5), "Clamp");

    [Fact] public void Sum() => Unary(Any, (t, x) => t.Sum(x), "Sum");
    [Fact] public void Mean() => Unary(Any, (t, x) => t.Mean(x), "Mean");
    [Fact] public void SumRows() => Unary(Any, (t, x) => t.SumRows(x), "SumRows");
    [Fact] public void MeanRows() => Unary(Any, (t, x) => t.MeanRows(x), "MeanRows");
    [Fact] public void LogSumExp() => Unary((r, n) => Generators.Uniform(r, n, -5, 5), (t, x) => t.LogSumExp(x), "LogSumExp");
    [Fact] public void LogSoftmax() => Unary((r, n) => Generators.Uniform(r, n, -5, 5), (t, x) => t.LogSoftmax(x), "LogSoftmax");

    [Fact]
    public void Gather() => Generators.ForAll(Generators.Cases, c =>
    {
        var rng = new Rng(c.Seed);
        int[] index = Enumerable.Range(0, c.Rows).Select(_ => rng.NextInt(c.Cols)).ToArray();
        OpChecks.Gradient(c.Seed, [(c.Shape, Any(rng, c.Shape.Length))], (t, x) => t.Gather(x[0], index), $"Gather {c}");
    });

    [Fact]
    public void LogSoftmaxGather() => Generators.ForAll(Generators.Cases, c =>
    {
        var rng = new Rng(c.Seed);
        int[] actions = Enumerable.Range(0, c.Rows).Select(_ => rng.NextInt(c.Cols)).ToArray();
        OpChecks.Gradient(c.Seed, [(c.Shape, Generators.Uniform(rng, c.Shape.Length, -5, 5))], (t, x) => t.LogSoftmaxGather(x[0], actions), $"LogSoftmaxGather {c}");
    });

    /// <summary>Each second operand shape: the same, a row vector, a column, a scalar — and the first operand broadcast too.</summary>
    private static void Binary(Values second, Func<Tape<double>, Var<double>, Var<double>, Var<double>> op, string name) =>
        Generators.ForAll(Generators.Cases, c =>
        {
            var rng = new Rng(c.Seed);
            Shape[] broadcasts = [c.Shape, new(1, c.Cols), new(c.Rows, 1), new(1, 1)];
            foreach (Shape sb in broadcasts)
            {
                OpChecks.Gradient(c.Seed, [(c.Shape, Any(rng, c.Shape.Length)), (sb, second(rng, sb.Length))], (t, x) => op(t, x[0], x[1]), $"{name} {c} with b {sb}");
                OpChecks.Gradient(c.Seed, [(sb, second(rng, sb.Length)), (c.Shape, Any(rng, c.Shape.Length))], (t, x) => op(t, x[1], x[0]), $"{name} {c} with a {sb}");
            }
        }, maxTest: 40);

    [Fact] public void Add() => Binary(Any, (t, a, b) => a + b, "Add");
    [Fact] public void Subtract() => Binary(Any, (t, a, b) => a - b, "Subtract");
    [Fact] public void Multiply() => Binary(Any, (t, a, b) => a * b, "Multiply");
    [Fact] public void Divide() => Generators.ForAll(Generators.Cases, c =>
    {
        var rng = new Rng(c.Seed);
        Shape[] broadcasts = [c.Shape, new(1, c.Cols), new(c.Rows, 1), new(1, 1)];
        foreach (Shape sb in broadcasts)
        {
            OpChecks.Gradient(c.Seed, [(c.Shape, Any(rng, c.Shape.Length)), (sb, Generators.AwayFromZero(rng, sb.Length, 0.5, 2))], (t, x) => x[0] / x[1], $"Divide {c} by {sb}");
            OpChecks.Gradient(c.Seed, [(sb, Any(rng, sb.Length)), (c.Shape, Generators.AwayFromZero(rng, c.Shape.Length, 0.5, 2))], (t, x) => x[0] / x[1], $"Divide {sb} by {c}");
        }
    }, maxTest: 40);

    private static void MinMax(Func<Tape<double>, Var<double>, Var<double>, Var<double>> op, string name) =>
        Generators.ForAll(Generators.Cases, c =>
        {
            var rng = new Rng(c.Seed);
            double[] a = Any(rng, c.Shape.Length), b = new double[a.Length];
            for (int i = 0; i < b.Length; i++) b[i] = a[i] + Generators.AwayFromZero(rng, 1, 0.01, 1)[0]; // no ties
            OpChecks.Gradient(c.Seed, [(c.Shape, a), (c.Shape, b)], (t, x) => op(t, x[0], x[1]), $"{name} {c}");
        });

    [Fact] public void Minimum() => MinMax((t, a, b) => t.Minimum(a, b), "Minimum");
    [Fact] public void Maximum() => MinMax((t, a, b) => t.Maximum(a, b), "Maximum");

    [Fact]
    public void MatMulEveryOrientation() => Generators.ForAll(
        (from c in Generators.Cases.Generator from k in Generators.Size select (c, k)).ToArbitrary(), ck =>
        {
            var (c, k) = ck;
            var rng = new Rng(c.Seed);
            foreach (bool ta in (bool[])[false, true])
            foreach (bool tb in (bool[])[false, true])
            {
                Shape sa = ta ? new(k, c.Rows) : new(c.Rows, k), sb = tb ? new(c.Cols, k) : new(k, c.Cols);
                OpChecks.Gradient(c.Seed, [(sa, Any(rng, sa.Length)), (sb, Any(rng, sb.Length))], (t, x) => t.MatMul(x[0], x[1], ta, tb), $"MatMul(transA: {ta}, transB: {tb}) {c} K={k}");
            }
        }, maxTest: 40);

    [Fact]
    public void Linear() => Generators.ForAll(
        (from c in Generators.Cases.Generator from inF in Generators.Size select (c, inF)).ToArbitrary(), ci =>
        {
            var (c, inF) = ci;
            var rng = new Rng(c.Seed);
            OpChecks.Gradient(c.Seed,
                [(new Shape(c.Rows, inF), Any(rng, c.Rows * inF)), (new Shape(c.Cols, inF), Any(rng, c.Cols * inF)), (new Shape(1, c.Cols), Any(rng, c.Cols))],
                (t, x) => t.Linear(x[0], x[1], x[2]), $"Linear batch {c.Rows}, in {inF}, out {c.Cols}");
        });
}
