using BenchmarkDotNet.Attributes;
using PurePg.Autodiff;
using PurePg.Autodiff.Modules;
using PurePg.Envs;
using PurePg.Envs.Pong;
using PurePg.Rl.Algorithms;

namespace PurePg.Bench;

/// <summary>Real frame differences of PurePg/PongDiff80-v0 under random play (what the policy sees), and the lectures'
/// policy 6400 → 200 (ReLU) → 2 logits (σ(z_UP − z_DOWN) = P(UP)).</summary>
internal static class PongData
{
    public static float[] Frames(int count, int seed)
    {
        var env = EnvRegistry.Make("PurePg/PongDiff80-v0");
        env.Reset(seed);
        var random = new Random(seed);
        var frames = new float[count * 6400];
        for (int i = 0; i < count; i++)
        {
            var r = env.Step(random.Next(2));
            r.Observation.CopyTo(frames.AsSpan(i * 6400));
            if (r.Terminated || r.Truncated) env.Reset();
        }
        return frames;
    }

    public static ActorCritic Agent() => new(Box.Uniform(6400, -1, 1), new Discrete(2), [200], Activation.Relu, 0, new Rng(0));
}

/// <summary>
/// Pong stepping: one step of PurePg/PongDiff80-v0 (2 frames of the rules, the 80 × 80 difference observation) and of
/// PurePg/Pong-v0 (2 frames, the full 210 × 160 frame as floats), beside the CartPole figures of
/// <see cref="CartPoleVectorBenchmarks"/>. Frames per second = 2 / (ns per step) · 1e9.
/// </summary>
[MemoryDiagnoser]
public class PongEnvBenchmarks
{
    const int StepsPerInvoke = 256;
    private Env _diff = null!, _frame = null!;
    private int[] _actions = [];

    [GlobalSetup]
    public void Setup()
    {
        _diff = EnvRegistry.Make("PurePg/PongDiff80-v0");
        _frame = EnvRegistry.Make("PurePg/Pong-v0");
        _diff.Reset(0);
        _frame.Reset(0);
        var random = new Random(1);
        _actions = Enumerable.Range(0, StepsPerInvoke).Select(_ => random.Next(2)).ToArray();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = StepsPerInvoke)]
    public float DifferenceObservation()
    {
        for (int s = 0; s < StepsPerInvoke; s++)
            if (_diff.Step(_actions[s]) is { Terminated: true } or { Truncated: true }) _diff.Reset();
        return _diff.Observation[0];
    }

    [Benchmark(OperationsPerInvoke = StepsPerInvoke)]
    public float FullFrame()
    {
        for (int s = 0; s < StepsPerInvoke; s++)
            if (_frame.Step(_actions[s]) is { Terminated: true } or { Truncated: true }) _frame.Reset();
        return _frame.Observation[0];
    }
}

/// <summary>
/// The learning step of the lectures' Pong run: forward and backward of the policy gradient over a batch of real frame
/// differences in chunks of 500 rows, on 1 or 2 threads (the same bits either way; <see cref="ChunkedPolicyGradient"/>).
/// Batch 1000 is torch_bench.py's pong case (run it with --threads 1 and 2 beside this); 5000 is the run's batch.
/// </summary>
[MemoryDiagnoser]
public class PongLearningStepBenchmarks
{
    [Params(1000, 5000)]
    public int Batch { get; set; }

    [Params(1, 2)]
    public int Threads { get; set; }

    private ChunkedPolicyGradient _step = null!;
    private float[] _frames = [], _continuous = [], _advantages = [], _gradient = [];
    private int[] _actions = [];

    [GlobalSetup]
    public void Setup()
    {
        var agent = PongData.Agent();
        _step = new ChunkedPolicyGradient(agent, 500, Threads);
        _frames = PongData.Frames(Batch, 3);
        var rng = new Rng(4);
        _actions = Enumerable.Range(0, Batch).Select(_ => rng.NextInt(2)).ToArray();
        _advantages = Enumerable.Range(0, Batch).Select(_ => (float)rng.NextGaussian()).ToArray();
        _gradient = new float[agent.Theta.Count];
    }

    [Benchmark]
    public double PolicyGradient() => _step.Compute(_frames, _actions, _continuous, _advantages, Batch, 1f, 0, _gradient);
}

/// <summary>
/// Acting with the lectures' policy at batch 1 on the batch-invariant acting tape (what a rollout does each step): a real
/// frame difference (tens of nonzero pixels, all-zero chunks skipped) and torch_bench.py's input (5 % of pixels set).
/// </summary>
[MemoryDiagnoser]
public class PongActingBenchmarks
{
    private readonly Tape<float> _tape = new() { BatchInvariant = true };
    private ActorCritic _agent = null!;
    private float[] _real = [], _dense = [], _logProb = new float[1];
    private int[] _action = new int[1];
    private readonly Rng[] _stream = [new Rng(5)];

    [GlobalSetup]
    public void Setup()
    {
        _agent = PongData.Agent();
        var frames = PongData.Frames(400, 6);
        // the frame with the median number of nonzero pixels
        int median = Enumerable.Range(0, 400).OrderBy(i => frames.AsSpan(i * 6400, 6400).ToArray().Count(v => v != 0)).ElementAt(200);
        _real = frames.AsSpan(median * 6400, 6400).ToArray();
        var rng = new Rng(7);
        _dense = Enumerable.Range(0, 6400).Select(_ => rng.NextDouble() < 0.05 ? 1f : 0f).ToArray();
        NonzeroReal = _real.Count(v => v != 0);
        Console.WriteLine($"// PongActing: the real frame has {NonzeroReal} nonzero pixels of 6400; the anchor's input {_dense.Count(v => v != 0)}");
    }

    /// <summary>Nonzero pixels of the real frame used (printed by Setup).</summary>
    public int NonzeroReal { get; private set; }

    [Benchmark(Baseline = true)]
    public int RealFrame()
    {
        _agent.Categorical!.Act(_tape, _real, _stream, _action, _logProb);
        return _action[0];
    }

    [Benchmark]
    public int AnchorInput()
    {
        _agent.Categorical!.Act(_tape, _dense, _stream, _action, _logProb);
        return _action[0];
    }
}
