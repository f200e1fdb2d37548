using PurePg.Autodiff.Kernels;
using System.Diagnostics;
using System.Globalization;
using PurePg.Distributed;
using PurePg.Envs;
using PurePg.Envs.Random;
using PurePg.Rl.Algorithms;

namespace PurePg.Bench;

/// <summary>
/// What Orleans costs ES on this machine: environment steps per second of the same ES run (CartPole-v1's dynamics,
/// 32 pairs, 64-64 policy, the same generations) evaluated on 2 local threads and on 1, 2 and 3 silos (in this process,
/// on loopback, 4 evaluator grains per silo), for the cheap CartPole and for a costly one that spins 20 µs of CPU per
/// step (a simulator). Every configuration computes the same μ (checked). On a 2-core machine the silos share the cores
/// the local threads use, so this measures Orleans' overhead, not scaling across machines.
/// Run: dotnet run -c Release --project bench -- es-cluster [generations=20]
/// </summary>
public static class EsCluster
{
    internal const string Costly = "Bench/CostlyCartPole-v0";

    /// <summary>Registers <see cref="Costly"/> once.</summary>
    internal static void RegisterCostly()
    {
        if (!EnvRegistry.All.Any(s => s.Id == Costly))
            EnvRegistry.Register(new(Costly, 500, 475, "CartPole-v1 plus 20 µs of CPU per step", () => new Spinning(EnvRegistry.Make("CartPole-v1"), 20)));
    }

    /// <summary>Starts <paramref name="silos"/> silos in this process on loopback ports from <paramref name="basePort"/> and
    /// connects a client to them; dispose the result to stop everything.</summary>
    internal static LocalCluster StartLocal(int silos, int basePort)
    {
        var hosts = new List<Microsoft.Extensions.Hosting.IHost>();
        for (int k = 0; k < silos; k++)
            hosts.Add(Cluster.StartSiloAsync(new LocalSiloOptions(basePort + 2 * k, basePort + 2 * k + 1, k == 0 ? null : basePort)).GetAwaiter().GetResult());
        var (clientHost, client) = Cluster.ConnectAsync(Enumerable.Range(0, silos).Select(k => basePort + 2 * k + 1).ToArray()).GetAwaiter().GetResult();
        return new LocalCluster(hosts, clientHost, client);
    }

    internal sealed record LocalCluster(List<Microsoft.Extensions.Hosting.IHost> Silos, Microsoft.Extensions.Hosting.IHost ClientHost, IClusterClient Client) : IDisposable
    {
        public void Dispose()
        {
            ClientHost.StopAsync().GetAwaiter().GetResult();
            ClientHost.Dispose();
            foreach (var h in Silos) { h.StopAsync().GetAwaiter().GetResult(); h.Dispose(); }
        }
    }

    public static void Run(string[] args)
    {
        int generations = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20;
        RegisterCostly();
        Console.WriteLine(Gemm.MachineLine());
        Console.WriteLine($"es-cluster: {generations} generations of 32 pairs each configuration; steps/s of the whole generations (evaluation and update)");
        Console.WriteLine("| environment | local, 2 threads | 1 silo | 2 silos | 3 silos |");
        Console.WriteLine("|---|---|---|---|---|");
        // One untimed local run first: the JIT's tiers warm up in the first seconds of the process, and the local column,
        // measured first, lost about 40 % to that on CartPole (1.1 against 1.9 M steps/s) before this warm-up existed.
        Measure(new Es(() => EnvRegistry.Make("CartPole-v1"), new EsSettings { Workers = 2, Seed = 8, NormalizeObservations = true }), 3 * generations);
        foreach (string id in new[] { "CartPole-v1", Costly })
        {
            var settings = new EsSettings { Workers = 2, Seed = 7, NormalizeObservations = true };
            var (localRate, localMu) = Measure(new Es(() => EnvRegistry.Make(id), settings), generations);
            var row = new List<string> { $"{localRate:N0}" };
            for (int silos = 1; silos <= 3; silos++)
            {
                using var cluster = StartLocal(silos, 42_000 + 10 * silos + (id == Costly ? 100 : 0));
                var source = new ClusterEsSource(cluster.Client, id, settings, workers: 4 * silos);
                var (rate, mu) = Measure(new Es(() => EnvRegistry.Make(id), settings, source), generations);
                if (!mu.AsSpan().SequenceEqual(localMu)) throw new InvalidOperationException($"{silos} silos on {id}: μ differs from the local run.");
                row.Add(string.Create(CultureInfo.InvariantCulture, $"{rate:N0} ({rate / localRate:F2}×)"));
            }
            Console.WriteLine($"| {id} | {string.Join(" | ", row)} |");
        }
    }

    static (double StepsPerSecond, float[] Mu) Measure(Es es, int generations)
    {
        es.Iterate(); // warm: activations, JIT, first allocations
        long start = es.TotalSteps;
        var clock = Stopwatch.StartNew();
        for (int g = 1; g < generations; g++) es.Iterate();
        return ((es.TotalSteps - start) / clock.Elapsed.TotalSeconds, es.Agent.Theta.Values.ToArray());
    }

    /// <summary>An environment that spins for a fixed time per step around another one's dynamics; its state is the inner
    /// environment's (saved whole, so cluster rollouts can send it along).</summary>
    sealed class Spinning(Env inner, int microseconds) : Env(inner.ObservationSpace, inner.ActionSpace)
    {
        protected override void WriteInternalState(BinaryWriter writer) => inner.WriteState(writer);

        protected override void ReadInternalState(BinaryReader reader) => inner.ReadState(reader);

        protected override void ResetCore(NumpyRandom random, Span<float> observation) =>
            inner.Reset(random.NextInt(int.MaxValue)).CopyTo(observation);

        protected override (double Reward, bool Terminated) StepCore(int action, NumpyRandom random, Span<float> observation)
        {
            var until = Stopwatch.GetTimestamp() + microseconds * Stopwatch.Frequency / 1_000_000;
            while (Stopwatch.GetTimestamp() < until) { }
            var r = inner.Step(action);
            r.Observation.CopyTo(observation);
            return (r.Reward, r.Terminated);
        }
    }
}
