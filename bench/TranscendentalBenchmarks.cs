using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using PurePg.Autodiff;
using PurePg.Autodiff.Kernels;

namespace PurePg.Bench;

/// <summary>
/// Our float Exp/Tanh/Sigmoid kernels (VectorMath) against TensorPrimitives' (baseline) on one activation layer's worth
/// of values, 2048 × 64 floats in [−4, 4]: the reason the engine has its own. Ours runs at the machine's width (512 bits
/// where AVX-512 is on: tanh has a 512-bit kernel, exp and σ do not); Ours256 forces the 256-bit kernels beside it.
/// </summary>
[MemoryDiagnoser]
public class TranscendentalBenchmarks
{
    [Params("Exp", "Tanh", "Sigmoid")]
    public string Function { get; set; } = "";

    private float[] _x = [], _y = [];

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Rng(1);
        _x = Enumerable.Range(0, 2048 * 64).Select(_ => (float)(8 * rng.NextDouble() - 4)).ToArray();
        _y = new float[_x.Length];
    }

    [Benchmark(Baseline = true)]
    public void TensorPrimitives_()
    {
        switch (Function)
        {
            case "Exp": TensorPrimitives.Exp<float>(_x, _y); break;
            case "Tanh": TensorPrimitives.Tanh<float>(_x, _y); break;
            default: TensorPrimitives.Sigmoid<float>(_x, _y); break;
        }
    }

    [Benchmark]
    public void Ours()
    {
        switch (Function)
        {
            case "Exp": VectorMath.Exp<float>(_x, _y); break;
            case "Tanh": VectorMath.Tanh<float>(_x, _y); break;
            default: VectorMath.Sigmoid<float>(_x, _y); break;
        }
    }

    [Benchmark]
    public void Ours256()
    {
        Gemm.IsaOverride = GemmIsa.Vector256;
        try { Ours(); }
        finally { Gemm.IsaOverride = null; }
    }
}
