using System.Diagnostics;
using PurePg.Envs;
using PurePg.Rl.Algorithms;

namespace PurePg.Bench;

/// <summary>
/// Evolution strategies on 1 and on 2 evaluation threads, interleaved over rounds: 10 warm-up generations of 64 pairs on
/// CartPole-v1 (so episodes are long), then 20 timed ones; the two runs take the same steps (a seed fixes the run for
/// any number of workers), so the ratio of times is the speed-up.
/// Run: dotnet run -c Release --project bench -- es-workers [rounds]
/// </summary>
public static class EsWorkers
{
    public static void Run(string[] args)
    {
        int rounds = args.Length > 1 ? int.Parse(args[1]) : 3;
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}");
        for (int round = 1; round <= rounds; round++)
        {
            var ms = new Dictionary<int, double>();
            foreach (int workers in new[] { 1, 2 })
            {
                var es = new Es(() => EnvRegistry.Make("CartPole-v1"), new EsSettings { Pairs = 64, Workers = workers });
                for (int k = 0; k < 10; k++) es.Iterate();
                long before = es.TotalSteps;
                var clock = Stopwatch.StartNew();
                for (int k = 0; k < 20; k++) es.Iterate();
                ms[workers] = clock.Elapsed.TotalMilliseconds;
                Console.WriteLine($"round {round}, {workers} worker(s): {ms[workers]:F0} ms for {es.TotalSteps - before:N0} steps ({(es.TotalSteps - before) / ms[workers] * 1e3:N0} steps/s)");
            }
            Console.WriteLine($"round {round}: speed-up {ms[1] / ms[2]:F2}×");
        }
    }
}
