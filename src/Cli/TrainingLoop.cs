using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using PurePg.Envs;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Policies;
using PurePg.Rl.Training;

namespace PurePg.Cli;

/// <summary>
/// The program's training loop: iterations until the target, a metrics row per iteration (with the rolling mean of the
/// last 100 episodes), evenly spaced checkpoints (the newest <c>--keep</c> kept), evaluations during training every
/// <c>--eval-every</c> steps on environment copies of their own (the best policy kept as best.ckpt, and the run stopped
/// at the threshold with <c>--stop-at-threshold</c>), a progress line, and on Ctrl-C or SIGTERM a final checkpoint.
/// </summary>
internal sealed class TrainingLoop(RunFolder run, IOnPolicyAlgorithm trainer, RunPlan plan, RunProgress progress, TensorBoardWriter? tensorBoard = null)
{
    /// <summary>Evaluation k during training resets its environment with seed EvalSeedBase + k; the final evaluation and
    /// <c>purepg eval</c> use <see cref="FinalEvalSeed"/>. Training seeds are small numbers; these streams are apart from them.</summary>
    public const long EvalSeedBase = 2_000_000, FinalEvalSeed = 1_000_000;

    private const string Columns = "steps,wall_time_s,sps,episodes,ep_return_mean,ep_return_std,ep_length_mean,iter_return_mean,iter_episodes,eval_return_mean,eval_return_std";
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private int _interrupted;

    public int Run(long target)
    {
        string title = $"{plan.Env} — {plan.Algorithm}";
        double? threshold = EnvRegistry.Spec(plan.Env).RewardThreshold;
        long every = Math.Max(1, plan.Steps / plan.Checkpoints);
        long nextCheckpoint = (trainer.TotalSteps / every + 1) * every;
        // evaluations during training: the library's EvaluationCallback, its count and best carried across resumes
        (double Mean, double Std)? evaluation = null;
        var evaluator = plan.EvalEvery is long e
            ? new EvaluationCallback(EnvRegistry.Make(plan.Env), e, plan.EvalEpisodes, deterministic: true, EvalSeedBase)
            {
                Evaluations = progress.Evaluations,
                Best = progress.BestEvaluation is double b ? (b, progress.BestEvaluationSteps) : null,
                BestPolicyPath = System.IO.Path.Combine(run.Path, TrainedPolicy.RunFolderBestPolicy),
                StopAtThreshold = plan.StopAtThreshold ? threshold : null,
                OnEvaluation = (_, result, best) =>
                {
                    evaluation = (result.Mean, result.Std);
                    progress.Evaluations++;
                    if (!best) return;
                    (progress.BestEvaluation, progress.BestEvaluationSteps) = (result.Mean, trainer.TotalSteps);
                    WriteCheckpoint(run.BestCheckpointPath);
                },
            }
            : null;
        evaluator?.OnStart(trainer);
        bool interactive = !Console.IsOutputRedirected;
        ConsoleCancelEventHandler onCancel = (_, args) => { args.Cancel = true; Interlocked.Exchange(ref _interrupted, 1); };
        Console.CancelKeyPress += onCancel;
        using var sigterm = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; Interlocked.Exchange(ref _interrupted, 1); });
        try
        {
            if (!run.Checkpoints().Any()) SaveCheckpoint(); // a run is never without a loadable checkpoint (a BC start's value warm-up has taken steps)
            var clock = Stopwatch.StartNew();
            double wallAtStart = progress.WallSeconds;
            long startSteps = trainer.TotalSteps;
            var lastPrint = TimeSpan.Zero;
            int iteration = 0;
            bool reachedThreshold = false;
            while (trainer.TotalSteps < target && !reachedThreshold)
            {
                IterationMetrics m;
                iteration++;
                try { m = trainer.Iterate(); }
                catch (Exception ex) when (ex is ArithmeticException or ArgumentException or InvalidOperationException or TimeoutException or Orleans.Runtime.OrleansException
                                            or InvalidDataException or Orleans.Serialization.SerializerException)
                {
                    // an answer this program cannot read: most likely silos started from another build of PurePg
                    string hint = ex is Orleans.Serialization.SerializerException or InvalidDataException && plan.Cluster is not null
                        ? " A worker answered in a form this program cannot read: are the silos running another version of purepg?" : "";
                    return Fail($"training stopped at iteration {iteration} ({trainer.TotalSteps:N0} steps): {RunFolder.OneLine(ex.Message)}{hint} The last good checkpoint is kept.");
                }
                foreach (var (name, value) in m.Losses)
                    if (!double.IsFinite(value) && name != "explained_variance")
                        return Fail($"training stopped at iteration {iteration} ({m.Steps:N0} steps): {name} is {value}; the last good checkpoint is kept.");
                if (!float.IsFinite(System.Numerics.Tensors.TensorPrimitives.SumOfSquares(trainer.Agent.Theta.Values)))
                    return Fail($"training stopped at iteration {iteration} ({m.Steps:N0} steps): the parameters became non-finite; the last good checkpoint is kept.");
                progress.Add(m.Episodes);
                progress.WallSeconds = wallAtStart + clock.Elapsed.TotalSeconds;
                double sps = (trainer.TotalSteps - startSteps) / Math.Max(1e-9, clock.Elapsed.TotalSeconds);

                evaluation = null;
                if (evaluator is not null) reachedThreshold = !evaluator.OnIteration(trainer, m);
                AppendMetrics(m, sps, evaluation);
                if (trainer.TotalSteps >= nextCheckpoint || trainer.TotalSteps >= target || reachedThreshold)
                {
                    SaveCheckpoint();
                    nextCheckpoint = (trainer.TotalSteps / every + 1) * every;
                }
                string line = ProgressLine(target, sps, clock.Elapsed, m);
                if (interactive) Console.Write($"\r{line}");
                else if (clock.Elapsed - lastPrint >= TimeSpan.FromSeconds(2) || trainer.TotalSteps >= target || reachedThreshold)
                {
                    Console.WriteLine(line.TrimEnd());
                    lastPrint = clock.Elapsed;
                }
                if (Volatile.Read(ref _interrupted) == 1)
                {
                    SaveCheckpoint();
                    Curve.Write(run, title, threshold, RunPlan.Resumes(run.ReadConfig()));
                    Console.WriteLine();
                    Console.Error.WriteLine($"purepg: interrupted at {trainer.TotalSteps:N0} steps; checkpoint written. Continue with: purepg resume --run {run.Path}");
                    return 130;
                }
            }
            if (interactive) Console.WriteLine();
            if (reachedThreshold)
                Console.WriteLine($"the evaluation reached the threshold {threshold} at {trainer.TotalSteps:N0} steps: training stopped (--stop-at-threshold)");
            Curve.Write(run, title, threshold, RunPlan.Resumes(run.ReadConfig()));
            FinalEvaluation(threshold);
            Console.WriteLine($"run folder: {run.Path} (config.json, metrics.csv, eval.json, policy.pgp, checkpoints/, curve.svg)");
            return 0;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    private void FinalEvaluation(double? threshold)
    {
        const int episodes = 20;
        var (mean, std) = Evaluate(trainer, plan.Env, episodes, FinalEvalSeed, deterministic: true);
        string verdict = threshold is double t ? (mean >= t ? $" — solved (threshold {t})" : $" — below the threshold {t}") : "";
        Console.WriteLine($"evaluation ({episodes} episodes, deterministic): {mean:F1} ± {std:F1}{verdict}");
        run.WriteEvaluation(new JsonObject
        {
            ["env"] = plan.Env,
            ["algorithm"] = plan.Algorithm,
            ["steps"] = trainer.TotalSteps,
            ["episodes"] = episodes,
            ["deterministic"] = true,
            ["seed"] = FinalEvalSeed,
            ["mean"] = mean,
            ["std"] = std,
            ["threshold"] = threshold,
            ["solved"] = threshold is double th ? mean >= th : null,
        });
    }

    /// <summary>At most 79 characters: steps, speed, elapsed and remaining time, the rolling return, the last evaluation.</summary>
    private string ProgressLine(long target, double sps, TimeSpan elapsed, IterationMetrics m)
    {
        double remaining = (target - trainer.TotalSteps) / Math.Max(1e-9, sps);
        var (mean, _, _) = progress.Rolling();
        string eval = progress.BestEvaluation is double best ? $" best eval {best:F1}" : "";
        string line = $"{Steps(trainer.TotalSteps),6}/{Steps(target)} {Steps((long)sps),5}/s {Clock(elapsed)} +{Clock(TimeSpan.FromSeconds(remaining))} return {mean,6:F1}{eval}";
        if (m.Losses.FirstOrDefault(l => l.Name is "approx_kl" or "kl") is { Name: not null } kl) line += $" {kl.Name} {kl.Value:G2}";
        return line.Length > 79 ? line[..79] : line.PadRight(79);
    }

    private static string Steps(long n) => n switch
    {
        >= 10_000_000 => $"{n / 1e6:F0}M",
        >= 1_000_000 => $"{n / 1e6:F1}M",
        >= 10_000 => $"{n / 1e3:F0}k",
        _ => n.ToString(Inv),
    };

    private static string Clock(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}" : $"{t.Minutes:D2}:{t.Seconds:D2}";

    /// <summary>One metrics.csv row (and, with <c>--tensorboard</c>, the same values as scalar summaries).</summary>
    private void AppendMetrics(IterationMetrics m, double sps, (double Mean, double Std)? evaluation)
    {
        bool header = !File.Exists(run.MetricsPath);
        using var w = new StreamWriter(run.MetricsPath, append: true);
        if (header) w.WriteLine(Columns + string.Concat(m.Losses.Select(l => "," + l.Name)));
        var (mean, std, length) = progress.Rolling();
        double[] values =
        [
            m.Steps, progress.WallSeconds, Math.Round(sps), progress.Episodes, mean, std, length, m.MeanReturn, m.EpisodesFinished,
            evaluation?.Mean ?? double.NaN, evaluation?.Std ?? double.NaN, .. m.Losses.Select(l => l.Value),
        ];
        w.WriteLine(string.Join(",", values.Select((v, k) => k == 1 ? v.ToString("F3", Inv) : Number(v))));
        if (tensorBoard is null) return;
        string[] names = [.. Columns.Split(','), .. m.Losses.Select(l => l.Name)];
        for (int k = 0; k < names.Length; k++)
            if (TensorBoardWriter.TagFor(names[k]) is var (tag, sign)) tensorBoard.Scalar(tag, sign * values[k], m.Steps);
    }

    /// <summary>A value as metrics.csv writes it: round-trip digits, empty for "none" (no episode ended, no evaluation).</summary>
    private static string Number(double v) => double.IsNaN(v) ? "" : v.ToString("R", Inv);

    private void SaveCheckpoint()
    {
        Directory.CreateDirectory(run.CheckpointDirectory);
        WriteCheckpoint(run.CheckpointPath(trainer.TotalSteps));
        run.Prune(plan.Keep);
        TrainedPolicy.From(trainer, plan.Env).Save(System.IO.Path.Combine(run.Path, TrainedPolicy.RunFolderPolicy));
    }

    /// <summary>Mean and std of the return of <paramref name="algorithm"/>'s current policy over whole episodes: the first
    /// reset with <paramref name="seed"/>, stochastic actions from a stream seeded with it too.</summary>
    public static (double Mean, double Std) Evaluate(IOnPolicyAlgorithm algorithm, string envId, int episodes, long seed, bool deterministic)
    {
        var policy = TrainedPolicy.From(algorithm, envId);
        policy.Reseed((ulong)seed);
        var result = Evaluation.Evaluate(policy, EnvRegistry.Make(envId), episodes, deterministic, seed);
        return (result.Mean, result.Std);
    }

    private void WriteCheckpoint(string path)
    {
        Directory.CreateDirectory(run.CheckpointDirectory);
        var header = new JsonObject
        {
            ["algorithm"] = plan.Algorithm,
            ["env"] = plan.Env,
            ["steps"] = trainer.TotalSteps,
            ["library"] = $"PurePg {RunFolder.Version}",
        };
        progress.WriteTo(header);
        Checkpoint.Write(path, header.ToJsonString(), trainer.WriteState);
    }

    private static int Fail(string message)
    {
        Console.WriteLine();
        Console.Error.WriteLine($"purepg: {message}");
        return 2;
    }
}
