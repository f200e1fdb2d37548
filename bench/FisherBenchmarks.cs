using BenchmarkDotNet.Attributes;
using PurePg.Autodiff;
using PurePg.Rl.Policies;
using PurePg.Rl.SecondOrder;

namespace PurePg.Bench;

/// <summary>
/// The anchor's case (d) (shared/anchors/torch_bench.py): the Fisher-vector product of the CartPole categorical policy
/// 4-64-64-2 (4610 parameters) on 2048 states with damping 0.1, and 10 conjugate-gradient iterations; beside one
/// policy-gradient evaluation (forward, log π(a|s), backward of −mean(log π·Â)) on the same batch, the baseline the issue
/// measures F·v against. `bash bench/beside-torch.sh fisher` runs this and the PyTorch case interleaved.
/// </summary>
[MemoryDiagnoser]
public class FisherBenchmarks
{
    const int States = 2048;
    private readonly ParameterSet<float> _theta = new();
    private CategoricalMlpPolicy<float> _policy = null!;
    private FisherVectorProduct<float> _fvp = null!;
    private readonly Tape<float> _tape = new();
    private float[] _obs = [], _adv = [], _v = [], _result = [];
    private double[] _g = [], _x = [], _workspace = [];
    private Action<ReadOnlySpan<double>, Span<double>> _multiply = null!;
    private int[] _actions = [];

    [GlobalSetup]
    public void Setup()
    {
        _policy = new CategoricalMlpPolicy<float>(_theta, 4, [64, 64], 2);
        _policy.Initialize(new Rng(0));
        var rng = new Rng(1);
        _obs = Enumerable.Range(0, States * 4).Select(_ => (float)rng.NextGaussian()).ToArray();
        _adv = Enumerable.Range(0, States).Select(_ => (float)rng.NextGaussian()).ToArray();
        _actions = Enumerable.Range(0, States).Select(_ => rng.NextInt(2)).ToArray();
        _v = Enumerable.Range(0, _theta.Count).Select(_ => (float)rng.NextGaussian()).ToArray();
        _g = _v.Select(x => (double)x).ToArray();
        _x = new double[_theta.Count];
        _workspace = new double[3 * _theta.Count];
        _result = new float[_theta.Count];
        _fvp = FisherVectorProduct<float>.For(_policy, damping: 0.1);
        _fvp.Prepare(_obs);
        _multiply = _fvp.Apply;
    }

    /// <summary>One policy-gradient evaluation: ∇θ of −mean(log π(a|s)·Â) over the batch.</summary>
    [Benchmark(Baseline = true)]
    public float PolicyGradient()
    {
        _tape.Reset();
        _tape.ZeroGradients();
        var pi = _policy.Distribution(_tape, _tape.Borrow(_obs, States, 4));
        var surrogate = _tape.Mean(pi.LogProb(_actions) * _tape.Borrow(_adv, States, 1));
        _tape.Backward(-surrogate);
        return _tape.GradientOf(_theta)[0];
    }

    /// <summary>(F + λI)·v with the forward pass recorded anew (Prepare + Apply): the anchor's "full" FVP.</summary>
    [Benchmark]
    public float FisherVectorProductWithForward()
    {
        _fvp.Prepare(_obs);
        _fvp.Apply(_v, _result);
        return _result[0];
    }

    /// <summary>(F + λI)·v on the recorded forward pass (what each CG iteration costs).</summary>
    [Benchmark]
    public float FisherVectorProduct()
    {
        _fvp.Apply(_v, _result);
        return _result[0];
    }

    /// <summary>Prepare, then 10 conjugate-gradient iterations on (F + λI)x = g.</summary>
    [Benchmark]
    public double ConjugateGradient10()
    {
        _fvp.Prepare(_obs);
        ConjugateGradient.Solve(_multiply, _g, _x, _workspace, maxIterations: 10, relativeTolerance: 0);
        return _x[0];
    }
}
