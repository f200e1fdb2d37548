using BenchmarkDotNet.Attributes;
using PurePg.Envs.Vector;
using PurePg.Rl.Algorithms;

namespace PurePg.Bench;

/// <summary>
/// The anchor's case (c) (shared/anchors/torch_bench.py): one PPO epoch of 32 minibatches of 64 over 2048 samples with
/// the CartPole networks (policy 4-64-64-2, value 4-64-64-1), clipped surrogate + value loss, Adam. Ours runs the real
/// <see cref="Ppo"/> epoch (minibatch gather, per-minibatch advantage normalization, KL and clip diagnostics, joint
/// gradient clipping, two Adam steps), which is more work than the anchor's loop. `bash bench/beside-torch.sh ppo` runs both interleaved.
/// </summary>
[MemoryDiagnoser]
public class PpoEpochBenchmarks
{
    private Ppo _ppo = null!;

    [GlobalSetup]
    public void Setup()
    {
        var settings = new PpoSettings { NumEnvs = 1, StepsPerEnv = 2048, BatchSize = 64, Epochs = 1, Seed = 0 };
        _ppo = new Ppo(new CartPoleVectorEnv(1), settings);
        _ppo.Update(); // collects the 2048 samples the epochs below reuse
    }

    [Benchmark]
    public int Epoch()
    {
        var totals = new Ppo.EpochTotals();
        _ppo.Epoch(ref totals);
        return totals.Steps;
    }
}
