using PurePg.Autodiff.Kernels;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using PurePg.Envs.Teaching;
using PurePg.Envs.Vector;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Imitation;

namespace PurePg.Bench;

/// <summary>
/// The lectures' exploration lesson on the chain (PurePg/Chain: H states, 2 actions, the wrong action sends the agent
/// back to s₀, reward 1 at the end): for each H, the fraction of seeds in which REINFORCE and PPO reach the optimal return
/// (the deterministic policy from s₀ reaches the goal, checked after every iteration) within a fixed budget of
/// environment steps — from a random initialization on the chain started at s₀, with the uniform reset distribution
/// along the chain (trained so, evaluated from s₀), and starting from behaviour cloning on 1, 5 and 20 demonstrations
/// of the chain's expert (BC alone, before any PG step, reported too) — beside the exact probability that a uniformly
/// random policy sees the reward at all within the budget, 1 − (1 − 2^−H)^(B/H). Seeds run in parallel on every core;
/// a seed's result does not depend on the worker count.
/// Run: dotnet run -c Release --project bench -- chain-exploration [budget=30000] [seeds=20] [outPrefix=bench/chain-exploration]
/// </summary>
public static class ChainExploration
{
    static readonly int[] Lengths = [4, 6, 8, 10, 12, 16, 20];
    static readonly string[] Algorithms = ["reinforce", "ppo"];
    static readonly string[] Conditions = ["random start", "uniform reset", "BC 1 demo", "BC 5 demos", "BC 20 demos"];

    sealed record Job(int H, string Algorithm, string Condition, int Seed);

    sealed record Outcome(Job Job, bool BcAlone, long? StepsToSuccess);

    public static void Run(string[] args)
    {
        long budget = args.Length > 1 ? long.Parse(args[1], CultureInfo.InvariantCulture) : 30_000;
        int seeds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 20;
        string prefix = args.Length > 3 ? args[3] : "bench/chain-exploration";
        Console.WriteLine(Gemm.MachineLine());
        Console.WriteLine($"chain-exploration: budget {budget:N0} steps, {seeds} seeds, H ∈ {{{string.Join(", ", Lengths)}}}, {Environment.ProcessorCount} workers");
        var jobs = (from h in Lengths from a in Algorithms from c in Conditions from s in Enumerable.Range(0, seeds) select new Job(h, a, c, s)).ToArray();
        var outcomes = new Outcome[jobs.Length];
        var clock = Stopwatch.StartNew();
        Parallel.For(0, jobs.Length, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i => outcomes[i] = RunOne(jobs[i], budget));
        Console.WriteLine($"{jobs.Length} runs in {clock.Elapsed.TotalSeconds:F0} s");

        var csv = new StringBuilder("H,algorithm,condition,seed,bc_alone_optimal,steps_to_optimal\n");
        foreach (var o in outcomes)
            csv.Append(CultureInfo.InvariantCulture, $"{o.Job.H},{o.Job.Algorithm},{o.Job.Condition},{o.Job.Seed},{(o.BcAlone ? 1 : 0)},{o.StepsToSuccess?.ToString(CultureInfo.InvariantCulture) ?? ""}\n");
        File.WriteAllText(prefix + ".csv", csv.ToString());

        double Fraction(int h, string a, string c) => outcomes.Count(o => o.Job.H == h && o.Job.Algorithm == a && o.Job.Condition == c && o.StepsToSuccess is not null) / (double)seeds;
        double BcAlone(int h, string c) => outcomes.Count(o => o.Job.H == h && o.Job.Algorithm == "ppo" && o.Job.Condition == c && o.BcAlone) / (double)seeds;
        double Median(int h, string a, string c)
        {
            var s = outcomes.Where(o => o.Job.H == h && o.Job.Algorithm == a && o.Job.Condition == c && o.StepsToSuccess is not null).Select(o => (double)o.StepsToSuccess!.Value).Order().ToArray();
            return s.Length == 0 ? double.NaN : s[s.Length / 2];
        }
        var table = new StringBuilder();
        table.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| H | P(random policy sees the reward in {budget / 1000}k steps) | ") +
            string.Join(" | ", from c in Conditions from a in Algorithms select $"{a}, {c}") + " | BC alone: 1 / 5 / 20 demos |");
        table.AppendLine("|" + string.Concat(Enumerable.Repeat("---|", 3 + Conditions.Length * Algorithms.Length)));
        foreach (int h in Lengths)
        {
            table.Append(CultureInfo.InvariantCulture, $"| {h} | {RandomHit(h, budget):G3} |");
            foreach (string c in Conditions)
                foreach (string a in Algorithms)
                    table.Append(CultureInfo.InvariantCulture, $" {Fraction(h, a, c):F2}{(double.IsNaN(Median(h, a, c)) ? "" : $" ({Median(h, a, c) / 1000:F1}k)")} |");
            table.AppendLine(CultureInfo.InvariantCulture, $" {BcAlone(h, "BC 1 demo"):F2} / {BcAlone(h, "BC 5 demos"):F2} / {BcAlone(h, "BC 20 demos"):F2} |");
        }
        Console.WriteLine();
        Console.WriteLine("Fraction of seeds reaching the optimal return from s₀ within the budget (median steps to it):");
        Console.Write(table);

        var random = Lengths.Select(h => RandomHit(h, budget)).ToArray();
        Svg($"{prefix}-random-start.svg", $"From a random initialization, started at s₀ ({seeds} seeds, {budget:N0} steps)",
            [("REINFORCE", "#1f77b4", Lengths.Select(h => Fraction(h, "reinforce", "random start")).ToArray(), false),
             ("PPO", "#d62728", Lengths.Select(h => Fraction(h, "ppo", "random start")).ToArray(), false),
             ("P(random policy sees the reward)", "#555", random, true)]);
        Svg($"{prefix}-uniform-reset.svg", $"Uniform reset along the chain, evaluated from s₀ ({seeds} seeds, {budget:N0} steps)",
            [("REINFORCE", "#1f77b4", Lengths.Select(h => Fraction(h, "reinforce", "uniform reset")).ToArray(), false),
             ("PPO", "#d62728", Lengths.Select(h => Fraction(h, "ppo", "uniform reset")).ToArray(), false),
             ("P(random policy sees the reward), from s₀", "#555", random, true)]);
        Svg($"{prefix}-bc.svg", $"Behaviour cloning then PG, from s₀ ({seeds} seeds, {budget:N0} steps)",
            [("REINFORCE, BC 1 demo", "#9ecae1", Lengths.Select(h => Fraction(h, "reinforce", "BC 1 demo")).ToArray(), false),
             ("REINFORCE, BC 20 demos", "#1f77b4", Lengths.Select(h => Fraction(h, "reinforce", "BC 20 demos")).ToArray(), false),
             ("PPO, BC 1 demo", "#fc9272", Lengths.Select(h => Fraction(h, "ppo", "BC 1 demo")).ToArray(), false),
             ("PPO, BC 20 demos", "#d62728", Lengths.Select(h => Fraction(h, "ppo", "BC 20 demos")).ToArray(), false),
             ("P(random policy sees the reward)", "#555", random, true)]);
        Console.WriteLine($"wrote {prefix}.csv, {prefix}-random-start.svg, {prefix}-uniform-reset.svg, {prefix}-bc.svg");
    }

    /// <summary>1 − (1 − p)^(B/H) with p = 2^−H, the chance of H correct actions in a row from s₀: every unrewarded
    /// episode lasts exactly H steps, so the budget holds B/H of them.</summary>
    static double RandomHit(int h, long budget) => 1 - Math.Pow(1 - new ExplorationChain(h).RandomPolicyHitProbability(), (double)budget / h);

    static Outcome RunOne(Job job, long budget)
    {
        var start = job.Condition == "uniform reset" ? ChainStart.UniformAlongChain : ChainStart.FirstState;
        var env = new SyncVectorEnv(() => new ExplorationChain(job.H, start: start), 8);
        IOnPolicyAlgorithm algorithm = job.Algorithm == "ppo"
            ? new Ppo(env, new PpoSettings { NumEnvs = 8, StepsPerEnv = 128, BatchSize = 256, Epochs = 4, Seed = job.Seed })
            : new Reinforce(env, new ReinforceSettings { NumEnvs = 8, StepsPerEnv = 64, Seed = job.Seed });
        bool bcAlone = false;
        if (job.Condition.StartsWith("BC", StringComparison.Ordinal))
        {
            int demos = int.Parse(job.Condition.Split(' ')[1], CultureInfo.InvariantCulture);
            var chain = new ExplorationChain(job.H);
            var expert = ScriptedExperts.For(chain)!.Value;
            var data = Demonstrations.Record(chain, "chain", expert.Description, demos, job.Seed, discreteExpert: expert.Act);
            BehaviourCloning.Pretrain(algorithm, data, new BehaviourCloningSettings { Epochs = 200, HeldOutFraction = 0, Seed = job.Seed });
            bcAlone = Optimal(algorithm, job.H);
            if (bcAlone) return new Outcome(job, true, 0);
        }
        while (algorithm.TotalSteps < budget)
        {
            algorithm.Iterate();
            if (Optimal(algorithm, job.H)) return new Outcome(job, bcAlone, algorithm.TotalSteps);
        }
        return new Outcome(job, bcAlone, null);
    }

    /// <summary>Whether the deterministic policy, started at s₀, reaches the goal (return 1, the optimum).</summary>
    static bool Optimal(IOnPolicyAlgorithm algorithm, int h) => algorithm.Agent.EvaluateReturn(new ExplorationChain(h), 1, 0).Mean == 1;

    static void Svg(string path, string title, (string Name, string Color, double[] Values, bool Dashed)[] series)
    {
        var inv = CultureInfo.InvariantCulture;
        const int width = 640, height = 420, left = 60, top = 90, bottom = 50, right = 20;
        double X(int i) => left + i * (width - left - right) / (double)(Lengths.Length - 1);
        double Y(double v) => top + (1 - v) * (height - top - bottom);
        var sb = new StringBuilder();
        sb.AppendLine(inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">");
        sb.AppendLine(inv, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/><text x=\"{left}\" y=\"20\" font-size=\"14\">{title}</text>");
        for (int k = 0; k < series.Length; k++)
        {
            int lx = left + (k % 2) * 280, ly = 38 + (k / 2) * 16;
            sb.AppendLine(inv, $"<line x1=\"{lx}\" x2=\"{lx + 20}\" y1=\"{ly}\" y2=\"{ly}\" stroke=\"{series[k].Color}\" stroke-width=\"2\"{(series[k].Dashed ? " stroke-dasharray=\"5,3\"" : "")}/><text x=\"{lx + 25}\" y=\"{ly + 4}\">{series[k].Name}</text>");
        }
        sb.AppendLine(inv, $"<rect x=\"{left}\" y=\"{top}\" width=\"{width - left - right}\" height=\"{height - top - bottom}\" fill=\"none\" stroke=\"#ccc\"/>");
        for (int k = 0; k <= 4; k++)
            sb.AppendLine(inv, $"<line x1=\"{left}\" x2=\"{width - right}\" y1=\"{Y(k / 4.0):F1}\" y2=\"{Y(k / 4.0):F1}\" stroke=\"#eee\"/><text x=\"{left - 6}\" y=\"{Y(k / 4.0) + 4:F1}\" text-anchor=\"end\">{k / 4.0:F2}</text>");
        for (int i = 0; i < Lengths.Length; i++)
            sb.AppendLine(inv, $"<text x=\"{X(i):F1}\" y=\"{height - bottom + 16}\" text-anchor=\"middle\">{Lengths[i]}</text>");
        sb.AppendLine(inv, $"<text x=\"{(width + left) / 2}\" y=\"{height - 12}\" text-anchor=\"middle\">chain length H</text>");
        sb.AppendLine(inv, $"<text transform=\"translate(16,{(top + height - bottom) / 2}) rotate(-90)\" text-anchor=\"middle\">fraction of seeds optimal from s₀</text>");
        foreach (var s in series)
        {
            var pts = s.Values.Select((v, i) => $"{X(i):F1},{Y(v):F1}");
            sb.AppendLine(inv, $"<polyline fill=\"none\" stroke=\"{s.Color}\" stroke-width=\"2\"{(s.Dashed ? " stroke-dasharray=\"5,3\"" : "")} points=\"{string.Join(' ', pts)}\"/>");
            foreach (var (v, i) in s.Values.Select((v, i) => (v, i)))
                sb.AppendLine(inv, $"<circle cx=\"{X(i):F1}\" cy=\"{Y(v):F1}\" r=\"3\" fill=\"{s.Color}\"/>");
        }
        sb.AppendLine("</svg>");
        File.WriteAllText(path, sb.ToString());
    }
}
