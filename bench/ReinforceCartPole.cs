using System.Diagnostics;
using PurePg.Envs;
using PurePg.Envs.Vector;
using PurePg.Rl.Algorithms;

namespace PurePg.Bench;

/// <summary>
/// End-to-end learning benchmark (not BenchmarkDotNet): REINFORCE with a value baseline on CartPole-v1, per seed the
/// environment steps and wall-clock time until the mean deterministic evaluation return over 20 episodes reaches 475
/// (evaluated after every update), and the median over the seeds.
/// Run: dotnet run -c Release --project bench -- reinforce-cartpole [seeds=5] [maxSteps=2000000]
/// </summary>
public static class ReinforceCartPole
{
    public static void Run(string[] args)
    {
        int seeds = args.Length > 1 ? int.Parse(args[1]) : 5;
        long maxSteps = args.Length > 2 ? long.Parse(args[2]) : 2_000_000;
        var settings = new ReinforceSettings { NumEnvs = 8, StepsPerEnv = 500, PolicyLearningRate = 1e-3 };
        Console.WriteLine($"REINFORCE + value baseline, CartPole-v1, {settings.NumEnvs}×{settings.StepsPerEnv} steps per update, lr {settings.PolicyLearningRate}, γ {settings.Gamma}");
        Console.WriteLine("| seed | env steps to eval ≥ 475 | wall-clock s | updates | final eval |");
        Console.WriteLine("|---|---|---|---|---|");
        var steps = new List<double>();
        var times = new List<double>();
        for (int seed = 0; seed < seeds; seed++)
        {
            var env = new CartPoleVectorEnv(settings.NumEnvs);
            var algo = new Reinforce(env, settings with { Seed = seed });
            var evalEnv = EnvRegistry.Make("CartPole-v1");
            var clock = Stopwatch.StartNew();
            int updates = 0;
            double eval = 0;
            bool solved = false;
            while (algo.TotalSteps < maxSteps)
            {
                var update = algo.Update();
                updates++;
                eval = algo.Evaluate(evalEnv, 20, seed: 10_000 + seed).Mean;
                if (seeds == 1)
                    Console.WriteLine($"  update {updates,3}: {update.TotalSteps,9:N0} steps, training episodes' mean return {update.MeanEpisodeReturn,6:F1}, " +
                        $"evaluation (20 episodes) {eval,6:F1}, entropy {update.Entropy:F3}, {clock.Elapsed.TotalSeconds,5:F1} s");
                if (eval >= 475) { solved = true; break; }
            }
            clock.Stop();
            Console.WriteLine($"| {seed} | {(solved ? algo.TotalSteps.ToString("N0") : $"not within {maxSteps:N0}")} | {clock.Elapsed.TotalSeconds:F1} | {updates} | {eval:F1} |");
            if (solved)
            {
                steps.Add(algo.TotalSteps);
                times.Add(clock.Elapsed.TotalSeconds);
            }
        }
        double Median(List<double> x) { x.Sort(); return x.Count == 0 ? double.NaN : x.Count % 2 == 1 ? x[x.Count / 2] : 0.5 * (x[x.Count / 2 - 1] + x[x.Count / 2]); }
        Console.WriteLine($"| median ({steps.Count}/{seeds} solved) | {Median(steps):N0} | {Median(times):F1} | | |");
    }
}
