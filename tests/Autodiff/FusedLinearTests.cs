using System.Numerics;
using PurePg.Autodiff.Kernels;

namespace PurePg.Autodiff.Tests;

/// <summary>
/// LinearTanh and LinearRelu against the composition they replace, Tanh(Linear(x, W, b)) and Relu(Linear(x, W, b)):
/// the same values, gradients of x, W and b, and tangents, bit for bit — the fused rules perform the same operations
/// in the same order — in float and double, on the ordinary and the batch-invariant tape, with both GEMM kernel widths.
/// (Their derivatives against finite differences: the op catalog's JVP tests and MlpTests' gradient check.)
/// </summary>
public class FusedLinearTests
{
    private static void Same<T>(ReadOnlySpan<T> expected, ReadOnlySpan<T> actual, string what) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int e = 0; e < expected.Length; e++)
            if (!BitwiseEqual(expected[e], actual[e]))
                Assert.Fail($"{what}: element {e} is {actual[e]} fused, {expected[e]} composed");
    }

    private static bool BitwiseEqual<T>(T a, T b) where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        typeof(T) == typeof(float) ? BitConverter.SingleToInt32Bits((float)(object)a) == BitConverter.SingleToInt32Bits((float)(object)b)
        : BitConverter.DoubleToInt64Bits((double)(object)a) == BitConverter.DoubleToInt64Bits((double)(object)b);

    /// <summary>Records the layer on a fresh tape with x, W and b as parameters; returns y, ∂⟨c, y⟩/∂(x, W, b), the gradient
    /// after a second, accumulating backward pass and after a third that overwrites (accumulate: false), and J·u.</summary>
    private static (T[] Value, T[] Gradient, T[] Accumulated, T[] Set, T[] Tangent) Run<T>(bool fused, bool tanh, bool invariant, int batch, int inF, int outF, ulong seed)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        var rng = new Rng(seed);
        var theta = new ParameterSet<T>();
        var xv = theta.Add("x", batch, inF);
        var wv = theta.Add("W", outF, inF);
        var bv = theta.Add("b", 1, outF);
        for (int i = 0; i < theta.Count; i++) theta.Values[i] = T.CreateTruncating(2 * rng.NextDouble() - 1);
        var c = Generators.Uniform(rng, batch * outF, -1, 1).Select(T.CreateTruncating).ToArray();
        var u = Generators.Uniform(rng, theta.Count, -1, 1).Select(T.CreateTruncating).ToArray();
        var tape = new Tape<T> { BatchInvariant = invariant };
        Var<T> x = tape.Parameter(theta, xv), w = tape.Parameter(theta, wv), b = tape.Parameter(theta, bv);
        Var<T> y = fused ? (tanh ? tape.LinearTanh(x, w, b) : tape.LinearRelu(x, w, b))
            : tanh ? tape.Tanh(tape.Linear(x, w, b)) : tape.Relu(tape.Linear(x, w, b));
        T[] value = tape.Value(y).ToArray();
        var loss = tape.Sum(y * tape.Constant(c, batch, outF));
        tape.Backward(loss);
        T[] gradient = tape.GradientOf(theta).ToArray();
        tape.Backward(loss); // parameter gradients add up: the fused rules must add to b's, not overwrite it
        T[] accumulated = tape.GradientOf(theta).ToArray();
        tape.Backward(loss, accumulate: false);
        T[] set = tape.GradientOf(theta).ToArray();
        tape.ForwardTangents(theta, u);
        return (value, gradient, accumulated, set, tape.Tangent(y).ToArray());
    }

    private static void Check<T>(bool tanh, bool invariant, int batch, int inF, int outF, ulong seed) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        foreach (GemmIsa isa in (GemmIsa[])[GemmIsa.Vector256, GemmIsa.Vector512])
        {
            Gemm.IsaOverride = isa;
            try
            {
                var composed = Run<T>(false, tanh, invariant, batch, inF, outF, seed);
                var fused = Run<T>(true, tanh, invariant, batch, inF, outF, seed);
                string what = $"{typeof(T).Name} {(tanh ? "tanh" : "relu")} {isa} batch-invariant={invariant} [{batch}, {inF}] → {outF}";
                Same<T>(composed.Value, fused.Value, what + " value");
                Same<T>(composed.Gradient, fused.Gradient, what + " gradient of (x, W, b)");
                Same<T>(composed.Accumulated, fused.Accumulated, what + " gradient after a second, accumulating pass");
                Same<T>(composed.Set, fused.Set, what + " gradient after a pass with accumulate: false");
                Same<T>(composed.Tangent, fused.Tangent, what + " tangent");
            }
            finally { Gemm.IsaOverride = null; }
        }
    }

    private static readonly Arbitrary<(int Batch, int In, int Out, bool Tanh, bool Invariant, ulong Seed)> Cases =
        (from batch in Gen.Choose(1, 300) from inF in Gen.Choose(1, 70) from outF in Gen.Choose(1, 70)
         from tanh in Gen.Elements(true, false) from invariant in Gen.Elements(true, false) from seed in Gen.Choose(0, int.MaxValue)
         select (batch, inF, outF, tanh, invariant, (ulong)seed)).ToArbitrary();

    [Fact]
    public void Float_fused_layers_are_bitwise_the_composition() =>
        Generators.ForAll(Cases, c => Check<float>(c.Tanh, c.Invariant, c.Batch, c.In, c.Out, c.Seed), maxTest: 60);

    [Fact]
    public void Double_fused_layers_are_bitwise_the_composition() =>
        Generators.ForAll(Cases, c => Check<double>(c.Tanh, c.Invariant, c.Batch, c.In, c.Out, c.Seed), maxTest: 40);

    /// <summary>The shapes of the 4-64-64-2 policy at the benchmarks' batches (the packed GEMM path and the small-K one),
    /// and a layer 128 wide (the bias gradient summed while G′ is formed takes widths of 64, 128, … floats).</summary>
    [Theory]
    [InlineData(2048, 4, 64)]
    [InlineData(300, 64, 128)]
    [InlineData(2048, 64, 64)]
    [InlineData(64, 64, 64)]
    [InlineData(1, 64, 64)]
    public void Policy_shapes_are_bitwise_the_composition(int batch, int inF, int outF)
    {
        foreach (bool tanh in (bool[])[true, false])
        {
            Check<float>(tanh, invariant: false, batch, inF, outF, seed: 7);
            Check<float>(tanh, invariant: true, batch, inF, outF, seed: 8);
        }
    }

    [Fact]
    public void A_bias_of_the_wrong_shape_is_named()
    {
        var tape = new Tape<float>();
        var x = tape.Constant(new float[6], 2, 3);
        var w = tape.Constant(new float[12], 4, 3);
        var b = tape.Constant(new float[3], 1, 3);
        var e = Assert.Throws<ArgumentException>(() => tape.LinearTanh(x, w, b));
        Assert.Contains("LinearTanh", e.Message);
        Assert.Contains("[1, 4]", e.Message);
    }
}
