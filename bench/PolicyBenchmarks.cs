using BenchmarkDotNet.Attributes;
using PurePg.Autodiff;
using PurePg.Autodiff.Modules;

namespace PurePg.Bench;

/// <summary>
/// The anchor's case (a) (shared/anchors/torch_bench.py): categorical policy MLP 4-64-64-2 tanh, forward +
/// log-probability of given actions + backward of −mean(log π(a|s)·Â); and forward alone at batch 1 (acting).
/// Compare with `python3 torch_bench.py --threads 1 --only "a) cat"` run beside it (bench/anchors.sh does both).
/// </summary>
[MemoryDiagnoser]
public class CategoricalPolicyBenchmarks
{
    [Params(1, 64, 2048)]
    public int Batch { get; set; }

    private readonly Tape<float> _tape = new();
    private ParameterSet<float> _theta = null!;
    private Mlp<float> _pi = null!;
    private float[] _obs = [], _adv = [];
    private int[] _actions = [];

    [GlobalSetup]
    public void Setup() => (_theta, _pi, _obs, _adv, _actions) = Data(Batch);

    /// <summary>The 4-64-64-2 tanh policy (anchor initialization) and a batch of observations, advantages and actions.</summary>
    internal static (ParameterSet<float>, Mlp<float>, float[], float[], int[]) Data(int batch)
    {
        var theta = new ParameterSet<float>();
        var pi = new Mlp<float>(theta, "pi", [4, 64, 64, 2], Activation.Tanh);
        pi.Initialize(new Rng(0), Math.Sqrt(2), 0.01);
        var rng = new Rng(1);
        float[] obs = Enumerable.Range(0, batch * 4).Select(_ => (float)rng.NextGaussian()).ToArray();
        float[] adv = Enumerable.Range(0, batch).Select(_ => (float)rng.NextGaussian()).ToArray();
        int[] actions = Enumerable.Range(0, batch).Select(_ => rng.NextInt(2)).ToArray();
        return (theta, pi, obs, adv, actions);
    }

    /// <summary>Same work as the anchor's "fwd+log_prob+bwd (log_softmax+gather)" row (gradients cleared each step, as clear() does there).</summary>
    [Benchmark]
    public float ForwardLogProbBackward()
    {
        _tape.Reset();
        _tape.ZeroGradients();
        var logp = _tape.LogSoftmaxGather(_pi.Forward(_tape, _tape.Borrow(_obs, Batch, 4)), _actions);
        var loss = -_tape.Mean(logp * _tape.Borrow(_adv, Batch, 1));
        _tape.Backward(loss);
        return _tape.GradientOf(_theta)[0];
    }

    /// <summary>
    /// The same step with <c>Backward(loss, accumulate: false)</c>: gradients set rather than cleared and added to — what
    /// clear()'s <c>p.grad = None</c> followed by <c>backward()</c> does in the anchor.
    /// </summary>
    [Benchmark]
    public float ForwardLogProbBackwardReplacing()
    {
        _tape.Reset();
        var logp = _tape.LogSoftmaxGather(_pi.Forward(_tape, _tape.Borrow(_obs, Batch, 4)), _actions);
        _tape.Backward(-_tape.Mean(logp * _tape.Borrow(_adv, Batch, 1)), accumulate: false);
        return _tape.GradientOf(_theta)[0];
    }

    /// <summary>The anchor's "forward only, no_grad" row: logits for a batch of observations.</summary>
    [Benchmark]
    public float ForwardNoGrad()
    {
        _tape.Reset();
        using (_tape.NoGrad())
            return _tape.Value(_pi.Forward(_tape, _tape.Borrow(_obs, Batch, 4)))[0];
    }

    private readonly Tape<float> _invariant = new() { BatchInvariant = true };

    /// <summary>The same forward on a batch-invariant tape (what the agents act on, so that a rollout split across workers
    /// gives one process's bits): its price beside <see cref="ForwardNoGrad"/>.</summary>
    [Benchmark]
    public float ForwardNoGradBatchInvariant()
    {
        _invariant.Reset();
        using (_invariant.NoGrad())
            return _invariant.Value(_pi.Forward(_invariant, _invariant.Borrow(_obs, Batch, 4)))[0];
    }
}

/// <summary>
/// The anchor's case (e): Karpathy's "Pong from pixels" network 6400-200(ReLU)-1(sigmoid), forward + backward of
/// −Σ log p(y|x)·A with log p = log σ(z) for y = 1 and log(1 − σ(z)) for y = 0, computed stably as −softplus((1 − 2y)·z).
/// </summary>
[MemoryDiagnoser]
public class PongBenchmarks
{
    [Params(1, 1000)]
    public int Batch { get; set; }

    private readonly Tape<float> _tape = new();
    private ParameterSet<float> _theta = null!;
    private Mlp<float> _net = null!;
    private float[] _frames = [], _adv = [], _sign = [];

    [GlobalSetup]
    public void Setup()
    {
        _theta = new ParameterSet<float>();
        _net = new Mlp<float>(_theta, "pong", [6400, 200, 1], Activation.Relu);
        _net.Initialize(new Rng(0), Math.Sqrt(2), 1);
        var rng = new Rng(1);
        _frames = Enumerable.Range(0, Batch * 6400).Select(_ => rng.NextDouble() < 0.05 ? 1f : 0f).ToArray(); // sparse-ish binary difference frame, as the anchor
        _adv = Enumerable.Range(0, Batch).Select(_ => (float)rng.NextGaussian()).ToArray();
        _sign = Enumerable.Range(0, Batch).Select(_ => rng.NextInt(2) == 1 ? -1f : 1f).ToArray(); // 1 − 2y
    }

    [Benchmark]
    public float ForwardBackward()
    {
        _tape.Reset();
        _tape.ZeroGradients();
        var z = _net.Forward(_tape, _tape.Borrow(_frames, Batch, 6400));
        var logp = -_tape.Softplus(z * _tape.Borrow(_sign, Batch, 1));
        _tape.Backward(-_tape.Sum(logp * _tape.Borrow(_adv, Batch, 1)));
        return _tape.GradientOf(_theta)[0];
    }

    /// <summary>The same step with <c>Backward(loss, accumulate: false)</c>: the anchor's <c>p.grad = None</c> + <c>backward()</c>.</summary>
    [Benchmark]
    public float ForwardBackwardReplacing()
    {
        _tape.Reset();
        var z = _net.Forward(_tape, _tape.Borrow(_frames, Batch, 6400));
        var logp = -_tape.Softplus(z * _tape.Borrow(_sign, Batch, 1));
        _tape.Backward(-_tape.Sum(logp * _tape.Borrow(_adv, Batch, 1)), accumulate: false);
        return _tape.GradientOf(_theta)[0];
    }
}

/// <summary>
/// The 4-64-64-2 tanh policy's step (forward + log π + backward, gradients replaced) with each hidden layer as one
/// fused op (<see cref="Tape{T}.LinearTanh"/>, what <see cref="Mlp{T}"/> records) against the composition
/// Tanh(Linear(…)) it replaced — the same bits, measured side by side in one run.
/// </summary>
[MemoryDiagnoser]
public class FusedLayerBenchmarks
{
    [Params(64, 2048)]
    public int Batch { get; set; }

    private readonly Tape<float> _tape = new();
    private ParameterSet<float> _theta = null!;
    private Mlp<float> _pi = null!;
    private float[] _obs = [], _adv = [];
    private int[] _actions = [];

    [GlobalSetup]
    public void Setup() => (_theta, _pi, _obs, _adv, _actions) = CategoricalPolicyBenchmarks.Data(Batch);

    private float Step(bool fused)
    {
        _tape.Reset();
        Var<float> h = _tape.Borrow(_obs, Batch, 4);
        var layers = _pi.Layers;
        for (int l = 0; l < layers.Length; l++)
        {
            Var<float> w = _tape.Parameter(_theta, layers[l].Weight), b = _tape.Parameter(_theta, layers[l].Bias);
            h = l == layers.Length - 1 ? _tape.Linear(h, w, b) : fused ? _tape.LinearTanh(h, w, b) : _tape.Tanh(_tape.Linear(h, w, b));
        }
        var logp = _tape.LogSoftmaxGather(h, _actions);
        _tape.Backward(-_tape.Mean(logp * _tape.Borrow(_adv, Batch, 1)), accumulate: false);
        return _tape.GradientOf(_theta)[0];
    }

    [Benchmark(Baseline = true)]
    public float Composed() => Step(fused: false);

    [Benchmark]
    public float Fused() => Step(fused: true);
}
