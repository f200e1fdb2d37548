using BenchmarkDotNet.Attributes;
using PurePg.Envs;
using PurePg.Envs.Vector;

namespace PurePg.Bench;

/// <summary>
/// CartPole-v1 stepping throughput with random actions and same-step autoreset, for comparison with the compiled C
/// loop (shared/anchors/cartpole.c) and a vectorized NumPy CartPole (bench/anchors/cartpole_numpy.py), run beside it
/// by bench/envs.sh. One operation is one vector step of N copies: ns per env-step = Mean / N.
/// </summary>
[MemoryDiagnoser]
public class CartPoleVectorBenchmarks
{
    const int StepsPerInvoke = 64;

    [Params(1, 64, 1024)]
    public int N { get; set; }

    private CartPoleVectorEnv _soa = null!, _fast = null!;
    private SyncVectorEnv _sync = null!;
    private int[] _actions = [];

    [GlobalSetup]
    public void Setup()
    {
        _soa = new CartPoleVectorEnv(N);
        _soa.Reset(seed: 0);
        _fast = new CartPoleVectorEnv(N, fastTrigonometry: true);
        _fast.Reset(seed: 0);
        _sync = new SyncVectorEnv("CartPole-v1", N);
        _sync.Reset(seed: 0);
        var random = new Random(1);
        _actions = Enumerable.Range(0, StepsPerInvoke * N).Select(_ => random.Next(2)).ToArray();
    }

    /// <summary>The structure-of-arrays vector env (the one training uses).</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = StepsPerInvoke)]
    public float StructureOfArrays()
    {
        for (int s = 0; s < StepsPerInvoke; s++) _soa.Step(_actions.AsSpan(s * N, N));
        return _soa.Observations[0];
    }

    /// <summary>The same with our polynomial sin/cos (within 1 ulp of the C library, not bit-identical).</summary>
    [Benchmark(OperationsPerInvoke = StepsPerInvoke)]
    public float StructureOfArraysFastTrig()
    {
        for (int s = 0; s < StepsPerInvoke; s++) _fast.Step(_actions.AsSpan(s * N, N));
        return _fast.Observations[0];
    }

    /// <summary>N separate <see cref="Env"/> objects behind the same interface (any environment).</summary>
    [Benchmark(OperationsPerInvoke = StepsPerInvoke)]
    public float SyncOfEnvs()
    {
        for (int s = 0; s < StepsPerInvoke; s++) _sync.Step(_actions.AsSpan(s * N, N));
        return _sync.Observations[0];
    }
}

/// <summary>One CartPole-v1 step through the single-environment API (Step, with Reset when an episode ends).</summary>
[MemoryDiagnoser]
public class CartPoleSingleBenchmarks
{
    const int StepsPerInvoke = 1024;
    private readonly Env _env = EnvRegistry.Make("CartPole-v1");
    private int[] _actions = [];

    [GlobalSetup]
    public void Setup()
    {
        _env.Reset(seed: 0);
        var random = new Random(1);
        _actions = Enumerable.Range(0, StepsPerInvoke).Select(_ => random.Next(2)).ToArray();
    }

    [Benchmark(OperationsPerInvoke = StepsPerInvoke)]
    public double Step()
    {
        double total = 0;
        foreach (int a in _actions)
        {
            var result = _env.Step(a);
            total += result.Reward;
            if (result.Terminated || result.Truncated) _env.Reset();
        }
        return total;
    }
}
