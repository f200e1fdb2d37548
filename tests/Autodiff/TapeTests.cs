using PurePg.Autodiff.Modules;

namespace PurePg.Autodiff.Tests;

public class TapeTests
{
    private static (Tape<double> Tape, ParameterSet<double> Theta, Var<double> X) OneParameter(int rows, int cols, params double[] values)
    {
        var theta = new ParameterSet<double>();
        var view = theta.Add("x", rows, cols);
        values.CopyTo(theta.Values);
        var tape = new Tape<double>();
        return (tape, theta, tape.Parameter(theta, view));
    }

    [Fact]
    public void ShapeMismatchNamesTheOpAndBothShapes()
    {
        var tape = new Tape<float>();
        var a = tape.Constant(new float[12], 3, 4);
        var b = tape.Constant(new float[8], 2, 4);
        var e = Assert.Throws<ArgumentException>(() => a + b);
        Assert.Contains("Add", e.Message);
        Assert.Contains("[3, 4]", e.Message);
        Assert.Contains("[2, 4]", e.Message);

        var m = Assert.Throws<ArgumentException>(() => tape.MatMul(a, b));
        Assert.Contains("MatMul", m.Message);
        Assert.Contains("[3, 4]", m.Message);
        Assert.Contains("[2, 4]", m.Message);

        var w = tape.Constant(new float[10], 2, 5);
        var l = Assert.Throws<ArgumentException>(() => tape.Linear(a, w, tape.Constant(new float[2], 1, 2)));
        Assert.Contains("Linear", l.Message);
        Assert.Contains("[3, 4]", l.Message);
        Assert.Contains("[2, 5]", l.Message);

        var mm = Assert.Throws<ArgumentException>(() => tape.Minimum(a, b));
        Assert.Contains("Minimum", mm.Message);
    }

    [Fact]
    public void BackwardOnNonScalarSaysSo()
    {
        var (tape, _, x) = OneParameter(2, 2, 1, 2, 3, 4);
        var e = Assert.Throws<InvalidOperationException>(() => tape.Backward(tape.Exp(x)));
        Assert.Contains("scalar", e.Message);
        Assert.Contains("[2, 2]", e.Message);
    }

    [Fact]
    public void ValueFromResetTapeIsRefused()
    {
        var (tape, _, x) = OneParameter(1, 2, 1, 2);
        var y = tape.Exp(x);
        tape.Reset();
        var e = Assert.Throws<InvalidOperationException>(() => tape.Value(y));
        Assert.Contains("reset", e.Message);
        Assert.Throws<InvalidOperationException>(() => tape.Exp(y));
    }

    [Fact]
    public void CheckFiniteNamesTheOpWhereNaNFirstAppears()
    {
        var (tape, _, x) = OneParameter(1, 3, 1, -1, 2);
        tape.CheckFinite = true;
        var y = tape.Exp(x);
        var e = Assert.Throws<ArithmeticException>(() => tape.Log(tape.Negate(y)));
        Assert.Contains("Log", e.Message);

        // finite forward, infinite gradient: d√x/dx at x = 0
        var (tape2, _, z) = OneParameter(1, 2, 0, 1);
        tape2.CheckFinite = true;
        var b = Assert.Throws<ArithmeticException>(() => tape2.Backward(tape2.Sum(tape2.Sqrt(z))));
        Assert.Contains("backward of op Sqrt", b.Message);
    }

    [Fact]
    public void WithoutCheckFiniteNaNPropagatesButIsNotSilentWhenAsked()
    {
        var (tape, _, x) = OneParameter(1, 1, -1);
        Assert.True(double.IsNaN(tape.Scalar(tape.Log(x))));
    }

    [Fact]
    public void NoGradRecordsValuesOnly()
    {
        var (tape, _, x) = OneParameter(1, 2, 0.5, -0.5);
        Var<double> y;
        using (tape.NoGrad()) y = tape.Sum(tape.Tanh(x));
        Assert.Equal(Math.Tanh(0.5) + Math.Tanh(-0.5), tape.Scalar(y), 12);
        var e = Assert.Throws<InvalidOperationException>(() => tape.Backward(y));
        Assert.Contains("does not depend", e.Message);
        Assert.False(tape.IsNoGrad);
    }

    [Fact]
    public void DetachStopsTheGradient()
    {
        var (tape, theta, x) = OneParameter(1, 1, 3);
        tape.Backward(tape.Sum(x * tape.Detach(x))); // d/dx [x · sg(x)] = sg(x) = 3, not 2x = 6
        Assert.Equal(3, tape.GradientOf(theta)[0]);
    }

    /// <summary>
    /// An intermediate read by several elementwise ops: the first gradient to reach it is stored, the later ones added
    /// (and in the other order too). Checked against finite differences.
    /// </summary>
    [Fact]
    public void GradientOfAValueWithSeveralConsumersIsTheirSum()
    {
        var theta = new ParameterSet<double>();
        var wView = theta.Add("w", 3, 5);
        var rng = new Rng(5);
        for (int i = 0; i < theta.Values.Length; i++) theta.Values[i] = rng.NextGaussian();
        double[] x = Enumerable.Range(0, 4 * 5).Select(_ => rng.NextGaussian()).ToArray();
        Var<double> Loss(Tape<double> tape)
        {
            var h = tape.MatMul(tape.Constant(x, 4, 5), tape.Parameter(theta, wView), transB: true); // [4, 3], an arena node
            var a = tape.Tanh(h) + tape.Relu(h) * tape.Sigmoid(h);
            return tape.Sum(a * tape.Square(h)) + tape.Sum(tape.Tanh(h));
        }
        var result = GradCheck.Check(theta, Loss, seed: 1, directions: 5);
        Assert.True(result.Passed, result.ToString());
    }

    [Fact]
    public void ParameterGradientsAccumulateUntilZeroed()
    {
        var (tape, theta, x) = OneParameter(1, 1, 2);
        var loss = tape.Sum(tape.Square(x));
        tape.Backward(loss);
        tape.Backward(loss);
        Assert.Equal(8, tape.GradientOf(theta)[0]);
        tape.ZeroGradients();
        tape.Backward(loss);
        Assert.Equal(4, tape.GradientOf(theta)[0]);
    }

    /// <summary>
    /// Backward(loss, accumulate: false) leaves what ZeroGradients + Backward leaves (to rounding: a product stored may
    /// sum in another order than one added to C) whatever the buffers held before: a block the loss does not reach and a set
    /// it does not use come out zero; a block read through a second view of the same range (stored, then added) and
    /// views that overlap only in part (the clear-then-add fallback) are exact too. A later Backward still adds.
    /// </summary>
    [Theory]
    [InlineData(0)] // the network alone
    [InlineData(1)] // plus the first weight matrix again, through a second view of the same range
    [InlineData(2)] // plus a view over part of W0 and part of b0
    public void ReplacingBackwardEqualsZeroingThenAccumulating(int variant)
    {
        var theta = new ParameterSet<double>();
        var mlp = new Mlp<double>(theta, "pi", [5, 7, 3], Activation.Tanh);
        theta.Add("unused", 2, 3);
        var other = new ParameterSet<double>();
        other.Add("o", 1, 4);
        mlp.Initialize(new Rng(3), Math.Sqrt(2), 1);
        var rng = new Rng(4);
        double[] x = Generators.Uniform(rng, 6 * 5, -1, 1);
        var w0 = mlp.Layers[0].Weight;
        Var<double> Loss(Tape<double> tape)
        {
            var input = tape.Constant(x, 6, 5);
            var loss = tape.Sum(tape.Square(mlp.Forward(tape, input)));
            if (variant == 1) loss += tape.Sum(tape.Tanh(tape.MatMul(input, tape.Parameter(theta, w0), transB: true)));
            if (variant == 2) loss += tape.Sum(tape.Square(tape.Parameter(theta, new ParameterView("part", w0.Length - 4, new Shape(1, 6)))));
            return loss;
        }

        var reference = new Tape<double>();
        reference.ZeroGradients();
        reference.Backward(Loss(reference));
        double[] expected = reference.GradientOf(theta).ToArray();

        var tape = new Tape<double>();
        tape.GradientOf(theta).Fill(123.5);
        tape.GradientOf(other).Fill(-7);
        var loss = Loss(tape);
        tape.Backward(loss, accumulate: false);
        AssertClose(expected, tape.GradientOf(theta).ToArray());
        Assert.All(tape.GradientOf(other).ToArray(), g => Assert.Equal(0, g));
        Assert.Contains(expected, g => g != 0);
        Assert.All(expected[theta["unused"].Offset..][..6], g => Assert.Equal(0, g));

        tape.Backward(loss);
        AssertClose(expected.Select(g => g + g).ToArray(), tape.GradientOf(theta).ToArray());

        static void AssertClose(double[] want, double[] got)
        {
            Assert.Equal(want.Length, got.Length);
            for (int i = 0; i < want.Length; i++)
                Assert.True(Math.Abs(want[i] - got[i]) <= 1e-13 * Math.Max(1, Math.Abs(want[i])), $"gradient [{i}]: {got[i]}, expected {want[i]}");
        }
    }

    [Fact]
    public void BorrowIsAViewWithTheSameGradientsAsAConstant()
    {
        var theta = new ParameterSet<double>();
        var mlp = new Mlp<double>(theta, "v", [3, 5, 1], Activation.Tanh);
        mlp.Initialize(new Rng(4), Math.Sqrt(2), 1);
        double[] obs = Generators.Uniform(new Rng(5), 4 * 3, -1, 1);
        double[] Gradient(Func<Tape<double>, Var<double>> input)
        {
            var tape = new Tape<double>();
            tape.Backward(tape.Sum(tape.Square(mlp.Forward(tape, input(tape)))));
            return tape.GradientOf(theta).ToArray();
        }
        Assert.Equal(Gradient(t => t.Constant(obs, 4, 3)), Gradient(t => t.Borrow(obs, 4, 3)));

        var view = new Tape<double>();
        int used = view.ArenaUsed;
        var x = view.Borrow(obs, 4, 3);
        Assert.Equal(used, view.ArenaUsed); // nothing copied into the arena
        obs[0] = 42;
        Assert.Equal(42, view.Value(x)[0]);  // a view of the caller's memory, as documented
        Assert.Equal(42, view.Value(view.Detach(x))[0]);
        Assert.Contains("[4, 4]", Assert.Throws<ArgumentException>(() => view.Borrow(obs, 4, 4)).Message);
    }

    [Fact]
    public void GatherIndexOutOfRangeNamesRowAndValue()
    {
        var tape = new Tape<float>();
        var x = tape.Constant(new float[6], 2, 3);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => tape.LogSoftmaxGather(x, [0, 3]));
        Assert.Contains("index 3 at row 1", e.Message);
        Assert.Throws<ArgumentException>(() => tape.Gather(x, [0]));
    }

    /// <summary>Regression: an op that allocates saved values after taking its output span lost its output when the arena grew.</summary>
    [Theory]
    [InlineData("LogSoftmax")]
    [InlineData("LogSoftmaxGather")]
    [InlineData("LogSumExp")]
    public void ArenaGrowthInsideAnOpKeepsItsOutput(string op)
    {
        var rng = new Rng(5);
        double[] logits = Generators.Uniform(rng, 40 * 7, -3, 3);
        int[] actions = Enumerable.Range(0, 40).Select(_ => rng.NextInt(7)).ToArray();
        var tape = new Tape<double>();
        var x = tape.Constant(logits, 40, 7);
        // Fill the arena so that the op's output still fits but its saved values (2 per row) do not.
        static int Aligned(int n) => (n + Tape<double>.Align - 1) / Tape<double>.Align * Tape<double>.Align;
        int output = Aligned(op == "LogSoftmax" ? 40 * 7 : 40);
        int filler = tape.ArenaCapacity - tape.ArenaUsed - output - Tape<double>.Align;
        tape.Constant(new double[filler], 1, filler);
        Assert.True(tape.ArenaUsed + output <= tape.ArenaCapacity && tape.ArenaUsed + output + Aligned(2 * 40) > tape.ArenaCapacity);
        int capacity = tape.ArenaCapacity;
        var y = OpCatalog.Apply(op, tape, [x], actions);
        Assert.True(tape.ArenaCapacity > capacity, "the arena should have grown inside the op");
        for (int r = 0; r < 40; r++)
        {
            double lse = Math.Log(Enumerable.Range(0, 7).Sum(j => Math.Exp(logits[r * 7 + j])));
            double expected = op switch { "LogSumExp" => lse, "LogSoftmaxGather" => logits[r * 7 + actions[r]] - lse, _ => logits[r * 7] - lse };
            double actual = op == "LogSoftmax" ? tape.Value(y)[r * 7] : tape.Value(y)[r];
            Assert.Equal(expected, actual, 12);
        }
    }

    /// <summary>The design's promise: a training step in steady state allocates nothing on the managed heap (GEMM paths of every kind included).</summary>
    [Theory]
    [InlineData(1, false)]
    [InlineData(64, false)]
    [InlineData(2048, false)]
    [InlineData(64, true)] // Backward(loss, accumulate: false) instead of ZeroGradients + Backward
    public void TrainingStepAllocatesNothingInSteadyState(int batch, bool replacing)
    {
        var theta = new ParameterSet<float>();
        var mlp = new Mlp<float>(theta, "pi", [4, 64, 64, 2], Activation.Tanh);
        mlp.Initialize(new Rng(1), Math.Sqrt(2), 0.01);
        var rng = new Rng(2);
        float[] obs = Generators.Uniform(rng, batch * 4, -1, 1).Select(v => (float)v).ToArray();
        float[] adv = Generators.Uniform(rng, batch, -1, 1).Select(v => (float)v).ToArray();
        int[] actions = Enumerable.Range(0, batch).Select(_ => rng.NextInt(2)).ToArray();
        var tape = new Tape<float>();
        void Step()
        {
            tape.Reset();
            if (!replacing) tape.ZeroGradients();
            var logp = tape.LogSoftmaxGather(mlp.Forward(tape, tape.Constant(obs, batch, 4)), actions);
            tape.Backward(-tape.Mean(logp * tape.Constant(adv, batch, 1)), accumulate: !replacing);
        }
        Allocations.NoneInSteadyState(Step, calls: 20, warmUp: 3, what: $"training steps at batch {batch}");
    }

    /// <summary>Several threads, each with its own tape over one shared θ, get exactly the gradients a single thread gets.</summary>
    [Fact]
    public void ThreadsWithOwnTapesShareParameters()
    {
        var theta = new ParameterSet<float>();
        var mlp = new Mlp<float>(theta, "pi", [4, 32, 3], Activation.Relu);
        mlp.Initialize(new Rng(3), Math.Sqrt(2), 1);
        float[][] Gradients(int worker)
        {
            var rng = new Rng((ulong)worker);
            var tape = new Tape<float>();
            var result = new float[10][];
            for (int step = 0; step < 10; step++)
            {
                float[] obs = Generators.Uniform(rng, 16 * 4, -1, 1).Select(v => (float)v).ToArray();
                int[] actions = Enumerable.Range(0, 16).Select(_ => rng.NextInt(3)).ToArray();
                tape.Reset();
                tape.ZeroGradients();
                tape.Backward(tape.Mean(tape.LogSoftmaxGather(mlp.Forward(tape, tape.Constant(obs, 16, 4)), actions)));
                result[step] = tape.GradientOf(theta).ToArray();
            }
            return result;
        }
        float[][][] sequential = Enumerable.Range(0, 4).Select(Gradients).ToArray();
        float[][][] parallel = new float[4][][];
        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, w => parallel[w] = Gradients(w));
        for (int w = 0; w < 4; w++)
            for (int s = 0; s < 10; s++) Assert.Equal(sequential[w][s], parallel[w][s]);
    }
}
