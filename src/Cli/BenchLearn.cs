using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Security;
using System.Text;
using System.Text.Json;
using PurePg.Envs;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Training;

namespace PurePg.Cli;

/// <summary>
/// <c>purepg bench learn</c>: each algorithm on each environment of the plan, over seeds run in parallel (one job per
/// core; a seed's result does not depend on how many run beside it, except a3c's, which is not deterministic), with the
/// committed config <c>configs/ALGO-ENV.json</c> when there is one. Every job evaluates its policy deterministically on
/// 10 episodes every E steps (evaluation seeds 3,000,000 + …, apart from the training seeds), to a fixed budget per
/// environment. Writes report.md (steps and seconds to the threshold, final evaluation over seeds, beside the recorded
/// anchors with their sources), curves.csv and one SVG per environment (median over seeds with the min–max band,
/// against steps and against seconds).
/// </summary>
internal static class BenchLearn
{
    private sealed record Pair(string Algo, string Env, long Budget, long EvalEvery);
    private sealed record Point(long Steps, double Seconds, double Return);
    private sealed record Result(Pair Pair, int Seed, List<Point> Curve, Point? Solved, double Seconds);

    private static readonly string[] Algorithms = ["ppo", "a2c", "trpo", "npg", "reinforce", "es", "impala", "a3c"];

    /// <summary>The quick plan: CartPole-v1, every algorithm, a budget that the committed configs meet.</summary>
    private static readonly Pair[] Quick = Algorithms.Select(a => new Pair(a, "CartPole-v1", 250_000, 10_000)).ToArray();

    /// <summary>The full plan: every algorithm on the five classic-control tasks (each applies to both action kinds),
    /// one budget per environment — CleanRL's 500k on CartPole and Acrobot, the zoo's largest (1M) on MountainCar,
    /// Pendulum and MountainCarContinuous at 500k and 200k (the zoo's budgets there run 20k–1M) — with 25 evaluations
    /// per run.</summary>
    private static readonly Pair[] Full = new (string Env, long Budget)[]
        { ("CartPole-v1", 500_000), ("Acrobot-v1", 500_000), ("MountainCar-v0", 1_000_000), ("Pendulum-v1", 500_000), ("MountainCarContinuous-v0", 200_000) }
        .SelectMany(e => Algorithms.Select(a => new Pair(a, e.Env, e.Budget, e.Budget / 25))).ToArray();

    /// <summary>The threshold a run must reach: the environment's own, or for Pendulum-v1 (Gymnasium registers none)
    /// −200, this report's choice (the zoo's Pendulum agents score −163 … −175).</summary>
    private static double? Threshold(string env) => EnvRegistry.Spec(env).RewardThreshold ?? (env == "Pendulum-v1" ? -200 : null);

    /// <summary>Anchors as recorded by their sources (not run here): rl-baselines3-zoo's benchmark.md and CleanRL's ppo.py
    /// reports, for the pairs the issue names.</summary>
    private static readonly (string Env, string Text)[] Anchors =
    [
        ("CartPole-v1", Zoo + "PPO 500.0 ± 0.0 after 100k steps, A2C 500.0 ± 0.0 after 500k, TRPO 500.0 ± 0.0 after 100k. " + CleanRl + "490.04 ± 6.12."),
        ("Acrobot-v1", Zoo + "PPO −73.5 ± 18.2 after 1M steps, A2C −83.4 ± 17.2 after 500k, TRPO −83.1 ± 18.6 after 100k. " + CleanRl + "−86.36 ± 1.32."),
        ("MountainCar-v0", Zoo + "PPO −110.4 ± 19.5 after 1M steps, A2C −111.3 ± 24.1 after 1M, TRPO −107.3 ± 13.2 after 100k. " + CleanRl + "−200.00 ± 0.00 (it fails)."),
        ("Pendulum-v1", Zoo + "PPO −172.2 ± 104.2 after 100k steps, A2C −163.0 ± 103.2 after 1M, TRPO −174.6 ± 127.6 after 100k — all three with gSDE "
            + "(state-dependent exploration), which PurePg does not have."),
        ("MountainCarContinuous-v0", Zoo + "PPO 88.3 ± 2.6 after 20k steps, A2C 91.2 ± 0.3 after 100k, TRPO 92.5 ± 0.4 after 50k — all three with gSDE, "
            + "which PurePg does not have; its configs here are the zoo's without it."),
    ];

    /// <summary>The zoo's figure for the same algorithm on the same task (benchmark.md, commit 22e3ff2): mean ± std, budget.</summary>
    private static readonly Dictionary<(string Algo, string Env), string> ZooRow = new()
    {
        [("ppo", "CartPole-v1")] = "500.0 ± 0.0 (100k)", [("a2c", "CartPole-v1")] = "500.0 ± 0.0 (500k)", [("trpo", "CartPole-v1")] = "500.0 ± 0.0 (100k)",
        [("ppo", "Acrobot-v1")] = "−73.5 ± 18.2 (1M)", [("a2c", "Acrobot-v1")] = "−83.4 ± 17.2 (500k)", [("trpo", "Acrobot-v1")] = "−83.1 ± 18.6 (100k)",
        [("ppo", "MountainCar-v0")] = "−110.4 ± 19.5 (1M)", [("a2c", "MountainCar-v0")] = "−111.3 ± 24.1 (1M)", [("trpo", "MountainCar-v0")] = "−107.3 ± 13.2 (100k)",
        [("ppo", "Pendulum-v1")] = "−172.2 ± 104.2 (100k, gSDE)", [("a2c", "Pendulum-v1")] = "−163.0 ± 103.2 (1M, gSDE)", [("trpo", "Pendulum-v1")] = "−174.6 ± 127.6 (100k, gSDE)",
        [("ppo", "MountainCarContinuous-v0")] = "88.3 ± 2.6 (20k, gSDE)", [("a2c", "MountainCarContinuous-v0")] = "91.2 ± 0.3 (100k, gSDE)",
        [("trpo", "MountainCarContinuous-v0")] = "92.5 ± 0.4 (50k, gSDE)",
    };

    private const string Zoo = "rl-baselines3-zoo benchmark.md (https://github.com/DLR-RM/rl-baselines3-zoo/blob/master/benchmark.md at commit 22e3ff2; "
        + "one training run per pair, then the deterministic policy for ~150,000 steps; mean ± std over those episodes): ";

    private const string CleanRl = "CleanRL's ppo.py at 500k steps (docs/rl-algorithms/ppo.md at commit fe8d8a0; mean ± std over 3 seeds of the "
        + "training episodes' returns, its own protocol): ";

    public const string Help = """
        purepg bench learn [--quick|--full] [--seeds N] [--workers N] [--out DIR] [--configs DIR] [--budget N]
          runs every algorithm of the plan over N seeds (default 5), W jobs at once (default: the cores), and writes
          DIR/report.md, DIR/curves.csv and DIR/learn-ENV.svg (default DIR: bench-learn). --quick (the default):
          CartPole-v1, all eight algorithms, 250,000 steps each. --full: all eight on CartPole-v1 and Acrobot-v1
          (500,000 steps), MountainCar-v0 (1,000,000), Pendulum-v1 (500,000), MountainCarContinuous-v0 (200,000);
          about 11 minutes on 2 cores. Configs are read from
          DIR/ALGO-ENV.json (default configs/), defaults otherwise. --budget N: every pair's budget N steps instead
          (a smoke run; evaluations every N/5 steps).
        """;

    public static int Run(Arguments a)
    {
        a.AllowOnly("--quick", "--full", "--seeds", "--workers", "--out", "--configs", "--budget");
        bool full = a.Flag("--full");
        if (full && a.Flag("--quick")) throw new UsageException("purepg bench learn: --quick and --full exclude each other.");
        int seeds = (int)a.GetLong("--seeds", 5, 1), workers = (int)a.GetLong("--workers", Environment.ProcessorCount, 1);
        string output = Path.GetFullPath(a.Get("--out") ?? "bench-learn"), configs = a.Get("--configs") ?? "configs";
        var plan = a.Get("--budget") is null ? (full ? Full : Quick)
            : (full ? Full : Quick).Select(p => p with { Budget = a.GetLong("--budget", 0, 1), EvalEvery = Math.Max(1, a.GetLong("--budget", 0, 1) / 5) }).ToArray();
        var overrides = plan.ToDictionary(p => p, p => Config(configs, p));
        var jobs = plan.SelectMany(p => Enumerable.Range(0, seeds).Select(s => (Pair: p, Seed: s))).ToArray();
        Console.WriteLine($"bench learn: {plan.Length} algorithm/environment pairs × {seeds} seeds = {jobs.Length} runs, {workers} at a time");
        var results = new ConcurrentBag<Result>();
        var clock = Stopwatch.StartNew();
        Parallel.ForEach(jobs, new ParallelOptions { MaxDegreeOfParallelism = workers }, job =>
        {
            var r = RunOne(job.Pair, job.Seed, overrides[job.Pair]);
            results.Add(r);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {job.Pair.Algo,-9} {job.Pair.Env} seed {job.Seed}: {(r.Solved is { } s ? $"threshold at {s.Steps:N0} steps ({s.Seconds:F1} s)" : "threshold not reached")}, final {r.Curve[^1].Return:F1}"));
        });
        Directory.CreateDirectory(output);
        var all = results.OrderBy(r => Array.IndexOf(plan, r.Pair)).ThenBy(r => r.Seed).ToList();
        var report = Report(all, full ? "--full" : "--quick", seeds, workers, clock.Elapsed);
        RunFolder.WriteAtomically(Path.Combine(output, "report.md"), report);
        RunFolder.WriteAtomically(Path.Combine(output, "curves.csv"), Curves(all));
        foreach (var env in plan.Select(p => p.Env).Distinct())
            RunFolder.WriteAtomically(Path.Combine(output, $"learn-{env.Replace('/', '_')}.svg"), Svg(env, all.Where(r => r.Pair.Env == env).ToList()));
        Console.WriteLine();
        Console.WriteLine(report);
        Console.WriteLine($"written: {output}/report.md, curves.csv, learn-*.svg ({clock.Elapsed.TotalMinutes:F1} min)");
        return 0;
    }

    private static (List<KeyValuePair<string, string>> Settings, bool Normalize) Config(string folder, Pair p)
    {
        string file = Path.Combine(folder, $"{p.Algo}-{p.Env.Replace('/', '_')}.json");
        if (!File.Exists(file)) return ([], false);
        List<KeyValuePair<string, string>> entries;
        try { entries = SettingsBinder.FromJson(JsonDocument.Parse(File.ReadAllText(file)).RootElement).Where(kv => kv.Key is not ("Seed" or "TotalTimesteps")).ToList(); }
        catch (Exception e) when (e is JsonException or ArgumentException) { throw new UsageException($"{file}: {RunFolder.OneLine(e.Message)}"); }
        bool normalize = RunPlan.TakeNormalize(entries, file);
        return (entries, normalize);
    }

    private static Result RunOne(Pair p, int seed, (List<KeyValuePair<string, string>> Settings, bool Normalize) config)
    {
        var inv = CultureInfo.InvariantCulture;
        string? envs = config.Settings.LastOrDefault(kv => kv.Key is "NumEnvs" or "Workers").Value;
        int copies = envs is null ? RunPlan.DefaultEnvs(p.Algo) : int.Parse(envs, inv);
        var rest = config.Settings.Where(kv => kv.Key is not ("NumEnvs" or "Workers")).ToList();
        var (trainer, _) = AlgorithmCatalog.Create(p.Algo, p.Env, copies, seed, p.Budget, rest, config.Normalize);
        double threshold = Threshold(p.Env) ?? double.PositiveInfinity;
        var curve = new List<Point>();
        Point? solved = null;
        var clock = new Stopwatch();
        long next = p.EvalEvery;
        int k = 0;
        while (trainer.TotalSteps < p.Budget)
        {
            clock.Start();
            trainer.Iterate();
            clock.Stop();
            if (trainer.TotalSteps < next && trainer.TotalSteps < p.Budget) continue;
            next += p.EvalEvery;
            var (mean, _) = TrainingLoop.Evaluate(trainer, p.Env, 10, 3_000_000 + 1000L * seed + k++, deterministic: true);
            var point = new Point(trainer.TotalSteps, clock.Elapsed.TotalSeconds, mean);
            curve.Add(point);
            if (solved is null && mean >= threshold) solved = point;
        }
        return new Result(p, seed, curve, solved, clock.Elapsed.TotalSeconds);
    }

    private static double Median(IEnumerable<double> values)
    {
        var x = values.OrderBy(v => v).ToArray();
        return x.Length == 0 ? double.NaN : x.Length % 2 == 1 ? x[x.Length / 2] : 0.5 * (x[x.Length / 2 - 1] + x[x.Length / 2]);
    }

    private static string Report(List<Result> all, string mode, int seeds, int workers, TimeSpan elapsed)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(inv, $"# Learning report (purepg bench learn {mode})");
        sb.AppendLine();
        sb.AppendLine(inv, $"{DateTime.UtcNow:yyyy-MM-dd}; {workers} runs at a time, {elapsed.TotalMinutes:F1} min. `{PurePg.Autodiff.Kernels.Gemm.MachineLine()}`");
        sb.AppendLine("Evaluation: the deterministic policy (mode), 10 episodes every budget/25 steps, evaluation seeds 3,000,000 + 1,000·seed + k (apart");
        sb.AppendLine("from the training seeds 0 … N − 1). \"Steps to threshold\": the first evaluation at or above the environment's threshold.");
        sb.AppendLine("The zoo's protocol differs: one training run per pair, its final policy evaluated over 150,000 steps; its figures below are");
        sb.AppendLine("as it reports them. Ours: the final evaluation is the last 10-episode evaluation at the budget, mean ± std over seeds.");
        foreach (var env in all.Select(r => r.Pair.Env).Distinct())
        {
            sb.AppendLine();
            sb.AppendLine(inv, $"## {env} (threshold {Threshold(env)?.ToString(inv) ?? "none"}{(EnvRegistry.Spec(env).RewardThreshold is null && Threshold(env) is not null ? ", this report's: Gymnasium registers none" : "")})");
            sb.AppendLine();
            sb.AppendLine("| algorithm | budget | reached threshold | steps to threshold: median (range) | seconds to threshold: median | final evaluation: mean ± std over seeds | the zoo's (one run; its budget) |");
            sb.AppendLine("|---|---|---|---|---|---|---|");
            foreach (var group in all.Where(r => r.Pair.Env == env).GroupBy(r => r.Pair.Algo))
            {
                var solved = group.Where(r => r.Solved is not null).ToList();
                var finals = group.Select(r => r.Curve[^1].Return).ToArray();
                double mean = finals.Average(), std = Math.Sqrt(finals.Sum(f => (f - mean) * (f - mean)) / finals.Length);
                string steps = solved.Count == 0 ? "—" : string.Create(inv,
                    $"{Median(solved.Select(r => (double)r.Solved!.Steps)):N0} ({solved.Min(r => r.Solved!.Steps):N0}–{solved.Max(r => r.Solved!.Steps):N0})");
                string seconds = solved.Count == 0 ? "—" : Median(solved.Select(r => r.Solved!.Seconds)).ToString("F1", inv);
                sb.AppendLine(inv, $"| {group.Key} | {group.First().Pair.Budget:N0} | {solved.Count}/{group.Count()} | {steps} | {seconds} | {mean:F1} ± {std:F1} | {ZooRow.GetValueOrDefault((group.Key, env), "—")} |");
            }
            var missed = all.Where(r => r.Pair.Env == env).GroupBy(r => r.Pair.Algo).Where(g => g.Any(r => r.Solved is null)).Select(g => g.Key).ToList();
            sb.AppendLine();
            sb.AppendLine(missed.Count == 0 ? "Every algorithm reached the threshold on every seed within its budget." :
                $"Not on every seed within the budget: {string.Join(", ", missed)}.");
            foreach (var (_, text) in Anchors.Where(x => x.Env == env)) { sb.AppendLine(); sb.AppendLine($"Anchors (recorded, not run here): {text}"); }
        }
        return sb.ToString();
    }

    private static string Curves(List<Result> all)
    {
        var sb = new StringBuilder("algo,env,seed,steps,seconds,eval_return\n");
        foreach (var r in all)
            foreach (var p in r.Curve)
                sb.Append(CultureInfo.InvariantCulture, $"{r.Pair.Algo},{r.Pair.Env},{r.Seed},{p.Steps},{p.Seconds:F3},{p.Return:F2}\n");
        return sb.ToString();
    }

    /// <summary>Two panels: the median evaluation return over seeds (line) and its min–max (band) at each evaluation,
    /// against environment steps and against training seconds (median over seeds of the time of that evaluation).</summary>
    private static string Svg(string env, List<Result> runs)
    {
        var inv = CultureInfo.InvariantCulture;
        string[] colours = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];
        const double panel = 420, height = 430, top = 70, bottom = 60, left = 64, gap = 84;
        double width = left + 2 * panel + gap + 24;
        var algos = runs.Select(r => r.Pair.Algo).Distinct().ToArray();
        var series = algos.Select(a =>
        {
            var seeds = runs.Where(r => r.Pair.Algo == a).ToList();
            int n = seeds.Min(r => r.Curve.Count);
            return (Algo: a, Points: Enumerable.Range(0, n).Select(i => (
                Steps: Median(seeds.Select(r => (double)r.Curve[i].Steps)), Seconds: Median(seeds.Select(r => r.Curve[i].Seconds)),
                Median: Median(seeds.Select(r => r.Curve[i].Return)), Min: seeds.Min(r => r.Curve[i].Return), Max: seeds.Max(r => r.Curve[i].Return))).ToList());
        }).ToList();
        double threshold = Threshold(env) ?? double.NaN;
        var ys = series.SelectMany(s => s.Points.SelectMany(p => new[] { p.Min, p.Max })).Append(double.IsNaN(threshold) ? 0 : threshold).ToList();
        var (yTicks, yStep) = Curve.Ticks(ys.Min(), ys.Max());
        double Y(double y) => top + (yTicks[^1] - y) / (yTicks[^1] - yTicks[0]) * (height - top - bottom);
        string F(double v) => v.ToString("0.#", inv);
        var sb = new StringBuilder();
        sb.AppendLine(inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{F(width)}\" height=\"{height}\" viewBox=\"0 0 {F(width)} {height}\" font-family=\"sans-serif\" font-size=\"12\">");
        sb.AppendLine(inv, $"<rect width=\"{F(width)}\" height=\"{height}\" fill=\"white\"/><text x=\"{F(width / 2)}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{SecurityElement.Escape(env)}: deterministic evaluation, median over seeds (band: min–max)</text>");
        for (int a = 0; a < algos.Length; a++)
            sb.AppendLine(inv, $"<g transform=\"translate({F(left + 100 * a)} 46)\"><line x1=\"0\" y1=\"0\" x2=\"22\" y2=\"0\" stroke=\"{colours[a % colours.Length]}\" stroke-width=\"2\"/><text x=\"27\" y=\"4\">{SecurityElement.Escape(algos[a])}</text></g>");
        foreach (var (index, name, seconds) in new[] { (0, "environment steps", false), (1, "training seconds (median over seeds)", true) })
        {
            double x0 = left + index * (panel + gap);
            double xMax = Math.Max(1e-9, series.SelectMany(s => s.Points).Max(p => seconds ? p.Seconds : p.Steps));
            var (xAll, xStep) = Curve.Ticks(0, xMax);
            double X(double v) => x0 + v / xAll[^1] * panel;
            foreach (double v in yTicks)
                sb.AppendLine(inv, $"<line x1=\"{F(x0)}\" y1=\"{F(Y(v))}\" x2=\"{F(x0 + panel)}\" y2=\"{F(Y(v))}\" stroke=\"#e6e6e6\"/><text x=\"{F(x0 - 6)}\" y=\"{F(Y(v) + 4)}\" text-anchor=\"end\">{Curve.Label(v, yStep)}</text>");
            foreach (double v in xAll)
                sb.AppendLine(inv, $"<text x=\"{F(X(v))}\" y=\"{F(height - bottom + 16)}\" text-anchor=\"middle\">{Curve.Label(v, xStep)}</text>");
            sb.AppendLine(inv, $"<rect x=\"{F(x0)}\" y=\"{top}\" width=\"{panel}\" height=\"{height - top - bottom}\" fill=\"none\" stroke=\"black\"/>");
            sb.AppendLine(inv, $"<text x=\"{F(x0 + panel / 2)}\" y=\"{height - bottom + 36}\" text-anchor=\"middle\">{name}</text>");
            if (!double.IsNaN(threshold))
                sb.AppendLine(inv, $"<line x1=\"{F(x0)}\" y1=\"{F(Y(threshold))}\" x2=\"{F(x0 + panel)}\" y2=\"{F(Y(threshold))}\" stroke=\"#000\" stroke-dasharray=\"6 4\" stroke-opacity=\"0.5\"/>");
            for (int a = 0; a < series.Count; a++)
            {
                var pts = series[a].Points;
                if (pts.Count == 0) continue;
                string c = colours[a % colours.Length];
                double XV((double Steps, double Seconds, double Median, double Min, double Max) p) => X(seconds ? p.Seconds : p.Steps);
                var band = pts.Select(p => $"{F(XV(p))},{F(Y(p.Max))}").Concat(pts.AsEnumerable().Reverse().Select(p => $"{F(XV(p))},{F(Y(p.Min))}"));
                sb.AppendLine(inv, $"<polygon points=\"{string.Join(' ', band)}\" fill=\"{c}\" fill-opacity=\"0.12\" stroke=\"none\"/>");
                sb.AppendLine(inv, $"<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"2\" points=\"{string.Join(' ', pts.Select(p => $"{F(XV(p))},{F(Y(p.Median))}"))}\"/>");
            }
        }
        sb.AppendLine(inv, $"<text x=\"18\" y=\"{F((top + height - bottom) / 2)}\" text-anchor=\"middle\" transform=\"rotate(-90 18 {F((top + height - bottom) / 2)})\">evaluation return</text>");
        sb.AppendLine("</svg>");
        return sb.ToString();
    }
}
