using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using PurePg.Autodiff;
using PurePg.Autodiff.Kernels;

namespace PurePg.Bench;

/// <summary>
/// Our float Exp/Tanh/Sigmoid kernels (VectorMath) against TensorPrimitives' (baseline) on one activation layer's worth
/// of values, 2048 × 64 floats in [−4, 4]: the reason the engine has its own.
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
}
