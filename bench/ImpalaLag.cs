using PurePg.Autodiff.Kernels;
using System.Diagnostics;
using System.Globalization;
using PurePg.Envs;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Training;

namespace PurePg.Bench;

/// <summary>
/// Does V-trace earn its keep? IMPALA on CartPole-v1 with N = 16 copies in W blocks acting W − 1 versions behind the
/// learner (<c>LaggedRolloutSource</c>: the lag is exact and a seed fixes the run), with V-trace and without any
/// correction (every rollout treated as on-policy), over seeds: steps until a deterministic 10-episode evaluation every
/// 10,000 steps reaches 475, within a budget.
/// Run: dotnet run -c Release --project bench -- impala-lag [seeds=5] [budget=300000] [copies=16] [learning rate=0.001]
/// </summary>
public static class ImpalaLag
{
    public static void Run(string[] args)
    {
        var inv = CultureInfo.InvariantCulture;
        int seeds = args.Length > 1 ? int.Parse(args[1], inv) : 5;
        long budget = args.Length > 2 ? long.Parse(args[2], inv) : 300_000;
        int copies = args.Length > 3 ? int.Parse(args[3], inv) : 16;
        double rate = args.Length > 4 ? double.Parse(args[4], inv) : 1e-3;
        Console.WriteLine(Gemm.MachineLine());
        Console.WriteLine($"impala-lag: CartPole-v1, N = {copies}, T = 20, Adam α = {rate}, {seeds} seeds, budget {budget:N0} steps; evaluation every 10,000 steps (10 episodes, deterministic)");
        Console.WriteLine("| W (lag W − 1) | correction | solved | steps to 475: median (min–max of solved) | mean ρ at the end | seconds |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (int blocks in new[] { 1, 4, 16, 64, 256 }.Where(b => b <= copies))
        foreach (bool vtrace in new[] { true, false })
        {
            var steps = new List<long>();
            double rho = 0;
            var clock = Stopwatch.StartNew();
            for (int seed = 0; seed < seeds; seed++)
            {
                var settings = new ImpalaSettings { NumEnvs = copies, Blocks = blocks, Seed = seed, VTraceCorrection = vtrace, LearningRate = rate };
                var impala = new Impala(m => AlgorithmCatalog.MakeVectorEnv("CartPole-v1", m), settings);
                long next = 10_000, solvedAt = -1;
                IterationMetrics last = null!;
                while (impala.TotalSteps < budget)
                {
                    last = impala.Iterate();
                    if (impala.TotalSteps < next) continue;
                    next += 10_000;
                    if (impala.Agent.EvaluateReturn(EnvRegistry.Make("CartPole-v1"), 10, seed: 1_000_000).Mean >= 475) { solvedAt = impala.TotalSteps; break; }
                }
                if (solvedAt > 0) steps.Add(solvedAt);
                rho += last.Losses.First(l => l.Name == "mean_rho").Value / seeds;
            }
            steps.Sort();
            string median = steps.Count == 0 ? "—" : string.Create(inv, $"{steps[steps.Count / 2]:N0} ({steps[0]:N0}–{steps[^1]:N0})");
            Console.WriteLine(string.Create(inv, $"| {blocks} ({blocks - 1}) | {(vtrace ? "V-trace" : "none")} | {steps.Count}/{seeds} | {median} | {rho:F3} | {clock.Elapsed.TotalSeconds:F0} |"));
        }
    }
}
