using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PurePg.Envs;
using PurePg.Rl.Training;

namespace PurePg.Cli;

/// <summary>The purepg program: train, eval, resume, list.</summary>
public static class Program
{
    private const string Usage = """
        purepg — policy-gradient reinforcement learning in pure .NET

        purepg train  --env ID --algo NAME [--seed N] [--steps N] [--envs N] [--config FILE.json] [--out DIR]
                      [--set key=value ...] [--normalize] [--checkpoints N]
        purepg eval   --run DIR [--episodes N] [--deterministic] [--json]
        purepg resume --run DIR [--steps N]
        purepg list

        Each command takes --help. Exit codes: 0 success, 1 bad input, 2 failure during training, 130 interrupted
        (a final checkpoint was written; continue with resume).
        """;

    public static int Main(string[] args)
    {
        Console.OutputEncoding = Encoding.UTF8;
        try
        {
            var parsed = Arguments.Parse(args, new HashSet<string> { "--normalize", "--deterministic", "--json" });
            return parsed.Command switch
            {
                "" when parsed.Help || args.Length == 0 => Print(Usage, 0),
                "train" => parsed.Help ? Print(TrainHelp, 0) : Train(parsed),
                "eval" => parsed.Help ? Print(EvalHelp, 0) : Eval(parsed),
                "resume" => parsed.Help ? Print(ResumeHelp, 0) : Resume(parsed),
                "list" => parsed.Help ? Print("purepg list: environments (spaces, time limits, thresholds) and algorithms (settings and defaults).", 0) : List(),
                _ => throw new UsageException($"Unknown command '{parsed.Command}'. Valid: train, eval, resume, list."),
            };
        }
        catch (Exception e) when (e is UsageException or ArgumentException or InvalidDataException or FileNotFoundException or DirectoryNotFoundException
                                   or UnauthorizedAccessException or IOException or JsonException)
        {
            Console.Error.WriteLine($"purepg: {e.Message}");
            return 1;
        }
    }

    private const string TrainHelp = """
        purepg train --env ID --algo NAME [options]
          --env ID           an environment id (purepg list)
          --algo NAME        ppo, a2c, trpo, npg, reinforce, a3c
          --seed N           the seed (default 0): fixes the whole run, except for a3c
          --steps N          environment steps to train (default 100000)
          --envs N           environment copies (a3c: worker threads); default: the algorithm's own
          --config FILE      a JSON object of settings (names as in purepg list) applied over the defaults
          --set key=value    a setting applied after the config; repeatable
          --normalize        running normalization of observations and rewards (VecNormalize)
          --out DIR          where the run folder is made (default runs/)
          --checkpoints N    checkpoints written during the run, evenly spaced (default 10)
        """;

    private const string EvalHelp = """
        purepg eval --run DIR [--episodes N] [--deterministic] [--json]
          loads the run's newest valid checkpoint and reports the mean ± std return over N episodes (default 20);
          --deterministic takes the policy's mode; --json prints {"mean":…,"std":…,"episodes":…,"steps":…}
        """;

    private const string ResumeHelp = """
        purepg resume --run DIR [--steps N]
          continues a run from its newest valid checkpoint, to the run's target or N more steps
        """;

    private static int Print(string text, int code)
    {
        Console.WriteLine(text);
        return code;
    }

    private static int List()
    {
        Console.WriteLine("Environments:");
        foreach (var spec in EnvRegistry.All)
        {
            var env = spec.Create();
            Console.WriteLine($"  {spec.Id,-30} obs {env.ObservationSpace}, actions {env.ActionSpace}, time limit {spec.MaxEpisodeSteps?.ToString(CultureInfo.InvariantCulture) ?? "none"}, " +
                $"threshold {spec.RewardThreshold?.ToString(CultureInfo.InvariantCulture) ?? "none"} — {spec.Description}");
        }
        Console.WriteLine();
        Console.WriteLine("Algorithms (settings = defaults; override with --config or --set key=value; --envs sets NumEnvs,");
        Console.WriteLine("default 8 copies, and a3c's Workers, default 4; --seed sets Seed):");
        foreach (string name in AlgorithmCatalog.Names)
        {
            Console.WriteLine($"  {name}: {AlgorithmCatalog.Describe(name)}");
            foreach (var (setting, _, value) in AlgorithmCatalog.Settings(name))
                Console.WriteLine($"      {setting} = {Format(value)}");
        }
        return 0;
    }

    private static string Format(object? value) => value switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        int[] a => string.Join(",", a),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static int Train(Arguments a)
    {
        a.AllowOnly("--env", "--algo", "--seed", "--steps", "--envs", "--config", "--set", "--normalize", "--out", "--checkpoints");
        string env = a.Require("--env"), algo = a.Require("--algo");
        long seed = a.GetLong("--seed", 0, 0), steps = a.GetLong("--steps", 100_000, 1);
        int checkpoints = (int)a.GetLong("--checkpoints", 10, 1);
        var overrides = new List<KeyValuePair<string, string>>();
        if (a.Get("--config") is string configFile)
        {
            if (!File.Exists(configFile)) throw new UsageException($"Config file {configFile} does not exist.");
            try { overrides.AddRange(SettingsBinder.FromJson(JsonDocument.Parse(File.ReadAllText(configFile)).RootElement)); }
            catch (JsonException e) { throw new UsageException($"Config file {configFile} is not valid JSON: {e.Message}"); }
        }
        overrides.AddRange(a.Sets);
        int envs = (int)a.GetLong("--envs", DefaultEnvs(algo, overrides), 1);
        // validate everything before any folder is made or a step is taken
        var (trainer, settings) = AlgorithmCatalog.Create(algo, env, envs, seed, overrides, a.Flag("--normalize"));
        string parent = a.Get("--out") ?? "runs";
        string folder = Path.Combine(parent, $"{env.Replace('/', '_')}-{algo}-{seed}-{DateTime.UtcNow:yyyyMMdd-HHmmss}");
        try { Directory.CreateDirectory(folder); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new UsageException($"Cannot create the run folder {folder}: {e.Message}"); }
        var run = new RunFolder(folder);
        var config = new JsonObject
        {
            ["library"] = $"PurePg {RunFolder.Version}",
            ["algorithm"] = algo,
            ["env"] = env,
            ["seed"] = seed,
            ["steps"] = steps,
            ["envs"] = envs,
            ["normalize"] = a.Flag("--normalize"),
            ["checkpoints"] = checkpoints,
            ["overrides"] = new JsonObject(overrides.Select(kv => new KeyValuePair<string, JsonNode?>(kv.Key, kv.Value))),
            ["settings"] = JsonSerializer.SerializeToNode(settings.ToDictionary(kv => kv.Key, kv => kv.Value is Enum e ? (object?)e.ToString() : kv.Value)),
        };
        run.WriteConfig(config);
        Console.WriteLine($"run folder: {folder}");
        return Loop(run, trainer, config, steps, fresh: true);
    }

    private static int DefaultEnvs(string algo, List<KeyValuePair<string, string>> overrides)
    {
        var given = overrides.LastOrDefault(kv => kv.Key.Equals("NumEnvs", StringComparison.OrdinalIgnoreCase) || kv.Key.Equals("Workers", StringComparison.OrdinalIgnoreCase));
        if (given.Key is not null && int.TryParse(given.Value, CultureInfo.InvariantCulture, out int n)) return n;
        return algo switch { "ppo" => 8, "a2c" => 8, "trpo" or "npg" => 8, "reinforce" => 8, "a3c" => 4, _ => 8 };
    }

    private static (ITrainer Trainer, long Target) Rebuild(RunFolder run, JsonObject config)
    {
        var overrides = config["overrides"]!.AsObject().Select(kv => new KeyValuePair<string, string>(kv.Key, kv.Value!.GetValue<string>())).ToList();
        var (trainer, _) = AlgorithmCatalog.Create(config["algorithm"]!.GetValue<string>(), config["env"]!.GetValue<string>(),
            config["envs"]!.GetValue<int>(), config["seed"]!.GetValue<long>(), overrides, config["normalize"]!.GetValue<bool>());
        return (trainer, config["steps"]!.GetValue<long>());
    }

    /// <summary>Loads the newest checkpoint that verifies; reports and skips the bad ones.</summary>
    private static long LoadNewest(RunFolder run, ITrainer trainer, JsonObject config)
    {
        foreach (var (steps, file) in run.Checkpoints())
        {
            try
            {
                var (header, state) = Checkpoint.Read(file);
                var h = JsonNode.Parse(header)!;
                if (h["env"]!.GetValue<string>() != config["env"]!.GetValue<string>() || h["algorithm"]!.GetValue<string>() != config["algorithm"]!.GetValue<string>())
                    throw new InvalidDataException($"{file} is a checkpoint of {h["algorithm"]} on {h["env"]}, not of this run.");
                using var reader = new BinaryReader(new MemoryStream(state));
                trainer.ReadState(reader);
                return steps;
            }
            catch (InvalidDataException e)
            {
                Console.Error.WriteLine($"purepg: skipping a bad checkpoint: {e.Message}");
            }
        }
        throw new UsageException($"{run.Path} has no loadable checkpoint.");
    }

    private static int Resume(Arguments a)
    {
        a.AllowOnly("--run", "--steps");
        var run = new RunFolder(a.Require("--run"));
        var config = run.ReadConfig();
        var (trainer, target) = Rebuild(run, config);
        long at = LoadNewest(run, trainer, config);
        if (a.Get("--steps") is not null) target = at + a.GetLong("--steps", 0, 1);
        run.TruncateMetrics(at);
        Console.WriteLine($"resuming {run.Path} at {at:N0} steps, to {target:N0}");
        if (!trainer.ExactResume) Console.WriteLine("note: a3c resumes θ and φ only; its worker threads are not deterministic");
        return Loop(run, trainer, config, target, fresh: false);
    }

    private static int Eval(Arguments a)
    {
        a.AllowOnly("--run", "--episodes", "--deterministic", "--json");
        var run = new RunFolder(a.Require("--run"));
        var config = run.ReadConfig();
        var (trainer, _) = Rebuild(run, config);
        long at = LoadNewest(run, trainer, config);
        int episodes = (int)a.GetLong("--episodes", 20, 1);
        var env = EnvRegistry.Make(config["env"]!.GetValue<string>());
        var (mean, std) = trainer.Evaluate(env, episodes, seed: 1_000_000, a.Flag("--deterministic"));
        if (a.Flag("--json"))
            Console.WriteLine(JsonSerializer.Serialize(new { mean, std, episodes, steps = at, deterministic = a.Flag("--deterministic") }));
        else Console.WriteLine($"{config["env"]} {config["algorithm"]} at {at:N0} steps: return {mean:F2} ± {std:F2} over {episodes} episodes");
        return 0;
    }

    private static int Loop(RunFolder run, ITrainer trainer, JsonObject config, long target, bool fresh)
    {
        string envId = config["env"]!.GetValue<string>();
        double? threshold = EnvRegistry.Spec(envId).RewardThreshold;
        int checkpointCount = config["checkpoints"]!.GetValue<int>();
        long every = Math.Max(1, config["steps"]!.GetValue<long>() / checkpointCount);
        long nextCheckpoint = (trainer.TotalSteps / every + 1) * every;
        bool interactive = !Console.IsOutputRedirected;
        var interrupted = 0;
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; Interlocked.Exchange(ref interrupted, 1); };
        Console.CancelKeyPress += onCancel;
        using var sigterm = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; Interlocked.Exchange(ref interrupted, 1); });
        try
        {
            if (fresh) SaveCheckpoint(run, trainer, config); // step 0: a run is never without a loadable checkpoint
            var clock = Stopwatch.StartNew();
            long startSteps = trainer.TotalSteps;
            double recent = double.NaN;
            var lastPrint = TimeSpan.Zero;
            var window = new Queue<double>();
            int iteration = 0;
            while (trainer.TotalSteps < target)
            {
                IterationMetrics m;
                iteration++;
                try { m = trainer.Update(); }
                catch (Exception e) when (e is ArithmeticException or ArgumentException or InvalidOperationException)
                {
                    return Fail($"training stopped at iteration {iteration} ({trainer.TotalSteps:N0} steps): {e.Message} The last good checkpoint is kept.");
                }
                foreach (var (name, value) in m.Losses)
                    if (!double.IsFinite(value))
                        return Fail($"training stopped at iteration {iteration} ({m.Steps:N0} steps): {name} is {value}; the last good checkpoint is kept.");
                if (!AllFinite(trainer))
                    return Fail($"training stopped at iteration {iteration} ({m.Steps:N0} steps): the parameters became non-finite; the last good checkpoint is kept.");
                if (double.IsFinite(m.MeanReturn))
                {
                    window.Enqueue(m.MeanReturn);
                    if (window.Count > 10) window.Dequeue();
                    recent = window.Average();
                }
                AppendMetrics(run, m, clock.Elapsed.TotalSeconds, (m.Steps - startSteps) / Math.Max(1e-9, clock.Elapsed.TotalSeconds));
                if (trainer.TotalSteps >= nextCheckpoint || trainer.TotalSteps >= target)
                {
                    SaveCheckpoint(run, trainer, config);
                    nextCheckpoint = (trainer.TotalSteps / every + 1) * every;
                }
                double sps = (trainer.TotalSteps - startSteps) / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
                double remaining = (target - trainer.TotalSteps) / Math.Max(1e-9, sps);
                string losses = string.Join(" ", m.Losses.Take(3).Select(l => $"{l.Name} {l.Value:G3}"));
                string line = $"{trainer.TotalSteps,9:N0}/{target:N0} steps  {sps,8:N0} steps/s  {clock.Elapsed:mm\\:ss} elapsed  {TimeSpan.FromSeconds(remaining):mm\\:ss} left  return {recent,7:F1}  {losses}";
                if (interactive) Console.Write($"\r{line}   ");
                else if (clock.Elapsed - lastPrint >= TimeSpan.FromSeconds(2) || trainer.TotalSteps >= target)
                {
                    Console.WriteLine(line);
                    lastPrint = clock.Elapsed;
                }
                if (Volatile.Read(ref interrupted) == 1)
                {
                    SaveCheckpoint(run, trainer, config);
                    run.WriteCurve($"{envId} — {config["algorithm"]}", threshold);
                    Console.WriteLine();
                    Console.Error.WriteLine($"purepg: interrupted at {trainer.TotalSteps:N0} steps; checkpoint written. Continue with: purepg resume --run {run.Path}");
                    return 130;
                }
            }
            if (interactive) Console.WriteLine();
            run.WriteCurve($"{envId} — {config["algorithm"]}", threshold);
            var evalEnv = EnvRegistry.Make(envId);
            var (mean, std) = trainer.Evaluate(evalEnv, 20, seed: 1_000_000, deterministic: true);
            string verdict = threshold is double t ? (mean >= t ? $" — solved (threshold {t})" : $" — below the threshold {t}") : "";
            Console.WriteLine($"evaluation (20 episodes, deterministic): {mean:F1} ± {std:F1}{verdict}");
            Console.WriteLine($"run folder: {run.Path} (config.json, metrics.csv, checkpoints/, curve.svg)");
            return 0;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    private static int Fail(string message)
    {
        Console.WriteLine();
        Console.Error.WriteLine($"purepg: {message}");
        return 2;
    }

    private static bool AllFinite(ITrainer trainer) => float.IsFinite(System.Numerics.Tensors.TensorPrimitives.SumOfSquares(trainer.PolicyParameters));

    private static void SaveCheckpoint(RunFolder run, ITrainer trainer, JsonObject config)
    {
        Directory.CreateDirectory(run.CheckpointDirectory);
        string header = new JsonObject
        {
            ["algorithm"] = config["algorithm"]!.GetValue<string>(),
            ["env"] = config["env"]!.GetValue<string>(),
            ["steps"] = trainer.TotalSteps,
            ["library"] = $"PurePg {RunFolder.Version}",
        }.ToJsonString();
        Checkpoint.Write(run.CheckpointPath(trainer.TotalSteps), header, trainer.WriteState);
        run.Prune(keep: 3);
    }

    private static void AppendMetrics(RunFolder run, IterationMetrics m, double wall, double sps)
    {
        bool header = !File.Exists(run.MetricsPath);
        using var w = new StreamWriter(run.MetricsPath, append: true);
        if (header) w.WriteLine("steps,wall_time_s,mean_return,mean_length,episodes,sps" + string.Concat(m.Losses.Select(l => "," + l.Name)));
        var inv = CultureInfo.InvariantCulture;
        w.WriteLine(string.Join(",", new[]
        {
            m.Steps.ToString(inv), wall.ToString("F3", inv), m.MeanReturn.ToString("R", inv), m.MeanLength.ToString("R", inv),
            m.EpisodesFinished.ToString(inv), sps.ToString("F0", inv),
        }.Concat(m.Losses.Select(l => l.Value.ToString("R", inv)))));
    }
}
