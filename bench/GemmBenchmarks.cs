using BenchmarkDotNet.Attributes;
using PurePg.Autodiff;
using PurePg.Autodiff.Kernels;

namespace PurePg.Bench;

/// <summary>One product C[M, N] = op(A)[M, K]·op(B)[K, N]; the name reads like the anchor table's rows.</summary>
public sealed record GemmShape(string Kind, int M, int K, int N, bool TransA, bool TransB)
{
    public double Flops => 2.0 * M * N * K;
    public override string ToString() => $"{Kind} {M}x{K}x{N} {(TransA ? 'T' : 'N')}{(TransB ? 'T' : 'N')}";
}

/// <summary>sgemm, one thread: PurePg against OpenBLAS (baseline) on one product per case. GFLOP/s = 2·M·N·K / time.</summary>
[MemoryDiagnoser]
public abstract class GemmBenchmarkBase
{
    public abstract GemmShape Shape { get; set; }

    private float[] _a = [], _b = [], _c = [];

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(1);
        _a = Enumerable.Range(0, Shape.M * Shape.K).Select(_ => (float)rng.NextGaussian()).ToArray();
        _b = Enumerable.Range(0, Shape.K * Shape.N).Select(_ => (float)rng.NextGaussian()).ToArray();
        _c = new float[Shape.M * Shape.N];
        if (OpenBlas.IsAvailable) OpenBlas.UseOneThread();
    }

    /// <summary>Fails with a message naming the missing library where OpenBLAS is not installed; our rows still run.</summary>
    [Benchmark(Baseline = true)]
    public void OpenBLAS() => OpenBlas.Sgemm(_a, Shape.TransA, _b, Shape.TransB, _c, Shape.M, Shape.N, Shape.K);

    [Benchmark]
    public void Ours() => Gemm.Multiply<float>(_a, Shape.TransA, _b, Shape.TransB, _c, Shape.M, Shape.N, Shape.K, accumulate: false);
}

/// <summary>
/// The anchor shapes (shared/anchors/RESULTS.md §2): squares, and each MLP layer's three products — forward Y = X·Wᵀ
/// (NT), dX = dY·W (NN), dW = dYᵀ·X (TN).
/// </summary>
public class GemmBenchmarks : GemmBenchmarkBase
{
    public static IEnumerable<GemmShape> Shapes()
    {
        foreach (int s in (int[])[256, 512, 1024]) yield return new("square", s, s, s, false, false);
        foreach (var (batch, inF, outF) in ((int, int, int)[])[(2048, 4, 64), (2048, 64, 64), (2048, 64, 2), (64, 64, 64), (1, 64, 64)])
        {
            yield return new("mlp", batch, inF, outF, false, false);   // as asked
            yield return new("fwd", batch, inF, outF, false, true);    // Y = X·Wᵀ
            yield return new("dX", batch, outF, inF, false, false);    // dX = dY·W
            yield return new("dW", outF, batch, inF, true, false);     // dW = dYᵀ·X
        }
    }

    [ParamsSource(nameof(Shapes))]
    public override GemmShape Shape { get; set; } = null!;
}

/// <summary>The two products of the "Pong from pixels" network at batch 1000: forward (NT) and dW (TN).</summary>
public class PongGemmBenchmarks : GemmBenchmarkBase
{
    public static IEnumerable<GemmShape> Shapes()
    {
        yield return new("fwd", 1000, 6400, 200, false, true);
        yield return new("dW", 200, 1000, 6400, true, false);
    }

    [ParamsSource(nameof(Shapes))]
    public override GemmShape Shape { get; set; } = null!;
}
