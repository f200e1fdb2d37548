using BenchmarkDotNet.Attributes;
using PurePg.Autodiff;
using PurePg.Autodiff.Kernels;

namespace PurePg.Bench;

/// <summary>
/// A fused tanh layer's backward elementwise work on [batch, 64]: G′ = G ⊙ (1 − y²) and ∂L/∂b = Σ_rows G′ as two passes
/// (baseline: the elementwise rule, then the column sums reading G′ back) and as the one pass the tape now uses.
/// Run: dotnet run -c Release --project bench -- --filter '*BiasGradient*' --job short
/// </summary>
[MemoryDiagnoser]
public class BiasGradientBenchmarks
{
    [Params(64, 2048)]
    public int Batch { get; set; }

    private const int Cols = 64;
    private float[] _g = [], _y = [], _gx = [], _sums = [];

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(1);
        int n = Batch * Cols;
        _g = Enumerable.Range(0, n).Select(_ => (float)rng.NextGaussian()).ToArray();
        _y = Enumerable.Range(0, n).Select(_ => (float)Math.Tanh(rng.NextGaussian())).ToArray();
        _gx = new float[n];
        _sums = new float[Cols];
    }

    [Benchmark(Baseline = true)]
    public void TwoPasses()
    {
        Elementwise.AccumulateVjp<float, TanhVjp<float>>(_g, _y, _gx, overwrite: true);
        Elementwise.AccumulateColumnSums<float>(_gx, Batch, Cols, _sums);
    }

    [Benchmark]
    public bool OnePass() => Elementwise.VjpWithColumnSums<float, TanhVjp<float>>(_g, _y, _gx, Batch, Cols, _sums);
}
