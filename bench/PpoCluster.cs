using PurePg.Autodiff.Kernels;
using System.Diagnostics;
using System.Globalization;
using PurePg.Distributed;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Rollouts;
using PurePg.Rl.Training;

namespace PurePg.Bench;

/// <summary>
/// What Orleans costs PPO's rollouts on this machine: environment steps per second of the same PPO run (8 copies,
/// T = 256, 4 epochs of minibatches of 512, 64-64 networks; collection and update) with the copies stepped in this
/// process (one <c>VectorEnvRolloutSource</c>, sequential) and by rollout worker grains on 1, 2 and 3 silos (in this
/// process, on loopback, 2 workers per silo, so up to 6 blocks stepped at once), for the cheap CartPole and for a costly
/// one that spins 20 µs of CPU per step. Every configuration ends with the same θ (checked). The last column is Orleans'
/// cost per request: the median difference between a collection of all 8 copies by one worker grain and the same
/// collection in this process (θ, φ and the block's state out, 2,048 steps of rollout back).
/// Run: dotnet run -c Release --project bench -- ppo-cluster [iterations=12]
/// </summary>
public static class PpoCluster
{
    public static void Run(string[] args)
    {
        int iterations = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 12;
        EsCluster.RegisterCostly();
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(Gemm.MachineLine());
        Console.WriteLine($"ppo-cluster: {iterations} iterations of 8 copies × 256 steps each configuration (the first not timed); steps/s of whole iterations");
        Console.WriteLine("| environment | local (one process) | 1 silo, 1 worker | 1 silo, 2 workers | 2 silos, 4 workers | 3 silos, 6 workers | cost per request |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (string id in new[] { "CartPole-v1", EsCluster.Costly })
        {
            var settings = new PpoSettings { NumEnvs = 8, StepsPerEnv = 256, BatchSize = 512, Epochs = 4, Seed = 3 };
            Measure(new Ppo(AlgorithmCatalog.MakeVectorEnv(id, 8), settings), iterations); // warm the JIT's tiers before anything is timed
            var (localRate, localTheta) = Measure(new Ppo(AlgorithmCatalog.MakeVectorEnv(id, 8), settings), iterations);
            var row = new List<string> { $"{localRate:N0}" };
            double oneRequest = double.NaN;
            foreach (var (silos, workers) in new[] { (1, 1), (1, 2), (2, 4), (3, 6) })
            {
                using var cluster = EsCluster.StartLocal(silos, 43_000 + 10 * silos + workers + (id == EsCluster.Costly ? 100 : 0));
                var source = new ClusterRolloutSource(cluster.Client, id, 8, 256, settings.HiddenSizes, settings.Activation, workers);
                var (rate, theta) = Measure(new Ppo(source, settings), iterations);
                if (!theta.AsSpan().SequenceEqual(localTheta)) throw new InvalidOperationException($"{silos} silos, {workers} workers on {id}: θ differs from the local run.");
                row.Add(string.Create(inv, $"{rate:N0} ({rate / localRate:F2}×)"));
                if (workers == 1) oneRequest = RequestCost(id, settings, new ClusterRolloutSource(cluster.Client, id, 8, 256, settings.HiddenSizes, settings.Activation, 1));
            }
            row.Add(string.Create(inv, $"{oneRequest * 1e3:F2} ms"));
            Console.WriteLine($"| {id} | {string.Join(" | ", row)} |");
        }
    }

    static (double StepsPerSecond, float[] Theta) Measure(Ppo ppo, int iterations)
    {
        ppo.Iterate(); // warm: activations, first allocations
        long start = ppo.TotalSteps;
        var clock = Stopwatch.StartNew();
        for (int k = 1; k < iterations; k++) ppo.Iterate();
        return ((ppo.TotalSteps - start) / clock.Elapsed.TotalSeconds, ppo.Agent.Theta.Values.ToArray());
    }

    /// <summary>Orleans' cost of one request: the median time of a collection by one worker grain minus that of the same
    /// collection in this process (same agent, same copies), over 30 alternating pairs.</summary>
    static double RequestCost(string id, PpoSettings settings, IRolloutSource remote)
    {
        var local = new VectorEnvRolloutSource(AlgorithmCatalog.MakeVectorEnv(id, 8), 256);
        var agent = new ActorCritic(local.SingleObservationSpace, local.SingleActionSpace, settings.HiddenSizes, settings.Activation, 0, new Autodiff.Rng(1));
        local.Reset(1);
        remote.Reset(1);
        local.Collect(agent);
        remote.Collect(agent);
        var differences = new List<double>();
        for (int k = 0; k < 30; k++)
        {
            long t0 = Stopwatch.GetTimestamp();
            local.Collect(agent);
            long t1 = Stopwatch.GetTimestamp();
            remote.Collect(agent);
            long t2 = Stopwatch.GetTimestamp();
            differences.Add((double)((t2 - t1) - (t1 - t0)) / Stopwatch.Frequency);
        }
        differences.Sort();
        return differences[differences.Count / 2];
    }
}
