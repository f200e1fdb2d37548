namespace PurePg.Autodiff.Tests;

/// <summary>Float against double for every op; fused ops against their compositions; extreme logits.</summary>
public class PrecisionTests
{
    private static double MaxAbs(double[] v) => v.Length == 0 ? 0 : v.Max(Math.Abs);

    /// <summary>‖f − d‖∞ ≤ tol · ‖d‖∞ (norm-wise relative error, so a tiny element after cancellation does not count alone).</summary>
    private static void AssertClose(double[] expected, double[] actual, double tol, string what, double? scaleOverride = null)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = Math.Max(scaleOverride ?? MaxAbs(expected), 1e-30), worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        Assert.True(worst <= tol * scale, $"{what}: max error {worst:E3} exceeds {tol:E1} × {scale:E3}");
    }

    [Fact]
    public void FloatMatchesDoubleForEveryOp() => Generators.ForAll(
        (from c in Generators.Cases.Generator from k in Generators.Size select (c, k)).ToArbitrary(), ck =>
        {
            var (c, k) = ck;
            foreach (OpCatalog.Entry op in OpCatalog.All)
            {
                var rng = new Rng(c.Seed);
                Shape[] shapes = OpCatalog.Shapes(op.Name, c.Shape, k)[..op.Arity];
                double[][] inputs = shapes.Select(s => op.Values(rng, s.Length)).ToArray();
                // values exactly representable in float, so both runs see the same inputs
                foreach (double[] v in inputs) for (int e = 0; e < v.Length; e++) v[e] = (float)v[e];
                OpCatalog.SeparateTies(op.Name, inputs, rng);
                for (int e = 0; e < inputs[^1].Length; e++) inputs[^1][e] = (float)inputs[^1][e];
                int[] index = Enumerable.Range(0, c.Rows).Select(_ => rng.NextInt(c.Cols)).ToArray();
                Func<int, double[]> weights = n => Generators.Uniform(new Rng(c.Seed + 1), n, -1, 1).Select(w => (double)(float)w).ToArray();
                var (yd, gd) = OpCatalog.Run<double>(op.Name, shapes, inputs, index, weights);
                var (yf, gf) = OpCatalog.Run<float>(op.Name, shapes, inputs, index, weights);
                AssertClose(yd, yf, 1e-4, $"{op.Name} {c} k={k} value", SumScale(op.Name, shapes[0], inputs[0]));
                for (int g = 0; g < gd.Length; g++) AssertClose(gd[g], gf[g], 1e-4, $"{op.Name} {c} k={k} gradient of input {g}");
            }
        }, maxTest: 40);

    /// <summary>
    /// For the sums and means, the scale of a float summation's error: Σ|x| over what each output adds up (÷ n for a
    /// mean), not |Σx|, which cancellation can make as small as it likes (float error 4.9e-6 on a sum of 858 values
    /// that came to 0.042 was seen). Null for every other op.
    /// </summary>
    private static double? SumScale(string op, Shape shape, double[] x) => op switch
    {
        "Sum" => x.Sum(Math.Abs),
        "Mean" => x.Sum(Math.Abs) / x.Length,
        "SumRows" or "MeanRows" => Enumerable.Range(0, shape.Rows)
            .Max(r => x.Skip(r * shape.Cols).Take(shape.Cols).Sum(Math.Abs) / (op == "MeanRows" ? shape.Cols : 1)),
        _ => null,
    };

    /// <summary>A fused op and its composition from primitives give the same values and gradients (double, to rounding).</summary>
    private static void FusedEqualsComposition(Func<Tape<double>, Var<double>[], Var<double>> fused, Func<Tape<double>, Var<double>[], Var<double>> composed,
        Func<Case, Rng, (Shape, double[])[]> inputs, string name) =>
        Generators.ForAll(Generators.Cases, c =>
        {
            var rng = new Rng(c.Seed);
            var ins = inputs(c, rng);
            Shape[] shapes = ins.Select(x => x.Item1).ToArray();
            double[][] values = ins.Select(x => x.Item2).ToArray();
            Func<int, double[]> weights = n => Generators.Uniform(new Rng(c.Seed + 7), n, -1, 1);
            var (yf, gf) = OpCatalog.Run<double>(shapes, values, fused, weights);
            var (yc, gc) = OpCatalog.Run<double>(shapes, values, composed, weights);
            AssertClose(yc, yf, 1e-12, $"{name} {c} value");
            for (int k = 0; k < gc.Length; k++) AssertClose(gc[k], gf[k], 1e-12, $"{name} {c} gradient of input {k}");
        });

    [Fact]
    public void LinearEqualsMatMulPlusBias() => FusedEqualsComposition(
        (t, x) => t.Linear(x[0], x[1], x[2]),
        (t, x) => t.MatMul(x[0], x[1], transB: true) + x[2],
        (c, r) => { int inF = 1 + r.NextInt(Generators.MaxSize); return [(new(c.Rows, inF), Generators.Uniform(r, c.Rows * inF, -1, 1)), (new(c.Cols, inF), Generators.Uniform(r, c.Cols * inF, -1, 1)), (new(1, c.Cols), Generators.Uniform(r, c.Cols, -1, 1))]; },
        "Linear");

    [Fact]
    public void LogSoftmaxGatherEqualsGatherOfLogSoftmax()
    {
        int[] actions = [];
        FusedEqualsComposition(
            (t, x) => t.LogSoftmaxGather(x[0], actions),
            (t, x) => t.Gather(t.LogSoftmax(x[0]), actions),
            (c, r) => { actions = Enumerable.Range(0, c.Rows).Select(_ => r.NextInt(c.Cols)).ToArray(); return [(c.Shape, Generators.Uniform(r, c.Shape.Length, -5, 5))]; },
            "LogSoftmaxGather");
    }

    [Fact]
    public void LogSoftmaxEqualsXMinusLogSumExp() => FusedEqualsComposition(
        (t, x) => t.LogSoftmax(x[0]), (t, x) => x[0] - t.LogSumExp(x[0]),
        (c, r) => [(c.Shape, Generators.Uniform(r, c.Shape.Length, -5, 5))], "LogSoftmax");

    [Fact]
    public void LogSumExpEqualsLogSumOfExp() => FusedEqualsComposition(
        (t, x) => t.LogSumExp(x[0]), (t, x) => t.Log(t.SumRows(t.Exp(x[0]))),
        (c, r) => [(c.Shape, Generators.Uniform(r, c.Shape.Length, -5, 5))], "LogSumExp");

    [Fact]
    public void SoftplusEqualsLogOnePlusExp() => FusedEqualsComposition(
        (t, x) => t.Softplus(x[0]), (t, x) => t.Log(t.Exp(x[0]) + 1.0),
        (c, r) => [(c.Shape, Generators.Uniform(r, c.Shape.Length, -5, 5))], "Softplus");

    [Fact]
    public void SigmoidEqualsOneOverOnePlusExp() => FusedEqualsComposition(
        (t, x) => t.Sigmoid(x[0]), (t, x) => t.Divide(t.Constant(1.0), t.Exp(-x[0]) + 1.0),
        (c, r) => [(c.Shape, Generators.Uniform(r, c.Shape.Length, -5, 5))], "Sigmoid");

    [Fact]
    public void MeanEqualsSumOverCount() => FusedEqualsComposition(
        (t, x) => t.Mean(x[0]), (t, x) => t.Sum(x[0]) / (double)x[0].Shape.Length,
        (c, r) => [(c.Shape, Generators.Uniform(r, c.Shape.Length, -5, 5))], "Mean");

    /// <summary>
    /// Logits of magnitude 1e3 in float: the naive exp overflows, ours stays finite and matches an independent double
    /// computation (log-softmax_j = x_j − m − log Σ_i exp(x_i − m), softmax gradient 1[j = a] − p_j).
    /// </summary>
    [Fact]
    public void LogSoftmaxAtExtremeLogits()
    {
        float[] logits = [1000f, -1000f, 0f, 999f, -999.5f, 1000f, 3f, -2f];
        int[] actions = [0, 1];
        var theta = new ParameterSet<float>();
        var view = theta.Add("logits", 2, 4);
        logits.CopyTo(theta.Values);
        var tape = new Tape<float> { CheckFinite = true };
        var x = tape.Parameter(theta, view);
        var ls = tape.LogSoftmax(x);
        var lse = tape.LogSumExp(x);
        var lp = tape.LogSoftmaxGather(x, actions);
        tape.Backward(tape.Sum(lp));
        for (int r = 0; r < 2; r++)
        {
            double m = Enumerable.Range(0, 4).Max(j => (double)logits[r * 4 + j]);
            double z = Enumerable.Range(0, 4).Sum(j => Math.Exp(logits[r * 4 + j] - m));
            double exactLse = m + Math.Log(z);
            Assert.Equal(exactLse, tape.Value(lse)[r], 1e-3 * Math.Abs(exactLse) + 1e-3);
            Assert.Equal(logits[r * 4 + actions[r]] - exactLse, tape.Value(lp)[r], 2e-3);
            for (int j = 0; j < 4; j++)
            {
                Assert.Equal(logits[r * 4 + j] - exactLse, tape.Value(ls)[r * 4 + j], 2e-3);
                double p = Math.Exp(logits[r * 4 + j] - exactLse);
                double grad = (j == actions[r] ? 1 : 0) - p;
                Assert.Equal(grad, tape.GradientOf(theta)[r * 4 + j], 1e-6);
            }
        }
        // The composition from primitives overflows, which is why the fused form exists.
        var naive = new Tape<float>();
        var lseNaive = naive.Log(naive.SumRows(naive.Exp(naive.Constant(logits, 2, 4))));
        Assert.True(float.IsInfinity(naive.Value(lseNaive)[0]));
    }
}
