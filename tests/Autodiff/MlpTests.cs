using PurePg.Autodiff.Modules;

namespace PurePg.Autodiff.Tests;

public class MlpTests
{
    /// <summary>A whole network's gradient (several layers, both activations, a policy-gradient-shaped loss) against finite differences.</summary>
    [Theory]
    [InlineData(Activation.Tanh)]
    [InlineData(Activation.Relu)]
    public void GradientMatchesFiniteDifferences(Activation activation) => Generators.ForAll(
        (from sizes in Gen.ArrayOf(Gen.Choose(1, 12), 4) from batch in Gen.Choose(1, 9) from seed in Gen.Choose(0, int.MaxValue) select (sizes, batch, seed)).ToArbitrary(),
        c =>
        {
            int[] sizes = [.. c.sizes, 2 + c.seed % 3];
            var theta = new ParameterSet<double>();
            var mlp = new Mlp<double>(theta, "pi", sizes, activation);
            var rng = new Rng((ulong)c.seed);
            mlp.Initialize(rng, Math.Sqrt(2), 1.0);
            for (int i = 0; i < theta.Count; i++) theta.Values[i] += 0.1 * rng.NextGaussian(); // nonzero biases too
            double[] obs = Generators.Uniform(rng, c.batch * sizes[0], -1, 1), adv = Generators.Uniform(rng, c.batch, -1, 1);
            int[] actions = Enumerable.Range(0, c.batch).Select(_ => rng.NextInt(sizes[^1])).ToArray();
            var result = GradCheck.Check(theta, t =>
                -t.Mean(t.LogSoftmaxGather(mlp.Forward(t, t.Constant(obs, c.batch, sizes[0])), actions) * t.Constant(adv, c.batch, 1)), (ulong)c.seed);
            Assert.True(result.Passed, $"{activation} [{string.Join(", ", sizes)}] batch {c.batch}: {result}");
        }, maxTest: 50);

    [Fact]
    public void ForwardMatchesHandWrittenLoops()
    {
        var theta = new ParameterSet<double>();
        var mlp = new Mlp<double>(theta, "v", [3, 5, 4, 1], Activation.Tanh);
        var rng = new Rng(11);
        for (int i = 0; i < theta.Count; i++) theta.Values[i] = rng.NextGaussian();
        double[] x = Generators.Uniform(rng, 2 * 3, -1, 1);
        var tape = new Tape<double>();
        var y = tape.Value(mlp.Forward(tape, tape.Constant(x, 2, 3))).ToArray();
        for (int r = 0; r < 2; r++)
        {
            double[] h = x[(r * 3)..(r * 3 + 3)];
            for (int l = 0; l < 3; l++)
            {
                var (w, b) = mlp.Layers[l];
                double[] next = new double[w.Shape.Rows];
                for (int o = 0; o < next.Length; o++)
                {
                    double s = theta.Slice(b)[o];
                    for (int i = 0; i < h.Length; i++) s += theta.Slice(w)[o * h.Length + i] * h[i];
                    next[o] = l < 2 ? Math.Tanh(s) : s;
                }
                h = next;
            }
            Assert.Equal(h[0], y[r], 12);
        }
    }

    [Fact]
    public void ParametersAreFlattenedLayerByLayerWeightThenBias()
    {
        var theta = new ParameterSet<float>();
        _ = new Mlp<float>(theta, "pi", [4, 64, 64, 2], Activation.Tanh);
        Assert.Equal(["pi.0.W", "pi.0.b", "pi.1.W", "pi.1.b", "pi.2.W", "pi.2.b"], theta.Views.Select(v => v.Name));
        Assert.Equal([0, 256, 320, 4416, 4480, 4608], theta.Views.Select(v => v.Offset));
        Assert.Equal(4610, theta.Count);
        Assert.Equal(new Shape(64, 4), theta["pi.0.W"].Shape);
    }

    [Theory]
    [InlineData(64, 4)]
    [InlineData(4, 64)]
    [InlineData(33, 33)]
    public void OrthogonalInitializationIsOrthogonalWithItsGain(int rows, int cols)
    {
        var w = new double[rows * cols];
        const double gain = 1.7;
        Orthogonal.Fill<double>(w, rows, cols, gain, new Rng(9));
        // rows ≤ cols: W Wᵀ = gain² I; rows > cols: Wᵀ W = gain² I
        int small = Math.Min(rows, cols), big = Math.Max(rows, cols);
        for (int a = 0; a < small; a++)
        for (int b = 0; b < small; b++)
        {
            double dot = 0;
            for (int k = 0; k < big; k++)
                dot += rows <= cols ? w[a * cols + k] * w[b * cols + k] : w[k * cols + a] * w[k * cols + b];
            Assert.Equal(a == b ? gain * gain : 0, dot, 10);
        }
    }

    [Fact]
    public void InitializationIsFixedBySeed()
    {
        double[] Init(ulong seed)
        {
            var theta = new ParameterSet<double>();
            new Mlp<double>(theta, "pi", [4, 8, 2], Activation.Tanh).Initialize(new Rng(seed), Math.Sqrt(2), 0.01);
            return theta.Values.ToArray();
        }
        Assert.Equal(Init(1), Init(1));
        Assert.NotEqual(Init(1), Init(2));
        var theta = new ParameterSet<double>();
        var mlp = new Mlp<double>(theta, "pi", [4, 8, 2], Activation.Tanh);
        mlp.Initialize(new Rng(1), Math.Sqrt(2), 0.01);
        Assert.All(theta.Slice(mlp.Layers[0].Bias).ToArray(), b => Assert.Equal(0, b));
    }

    [Fact]
    public void BadSizesAndInputsAreNamed()
    {
        var theta = new ParameterSet<float>();
        Assert.Contains("positive", Assert.Throws<ArgumentException>(() => new Mlp<float>(theta, "pi", [4, 0, 2], Activation.Tanh)).Message);
        var mlp = new Mlp<float>(theta, "pi", [4, 8, 2], Activation.Tanh);
        var tape = new Tape<float>();
        var e = Assert.Throws<ArgumentException>(() => mlp.Forward(tape, tape.Constant(new float[6], 2, 3)));
        Assert.Contains("[2, 3]", e.Message);
        Assert.Contains("4 features", e.Message);
    }
}
