using System.Diagnostics;
using System.Text.Json.Nodes;
using PurePg.Envs;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Policies;
using PurePg.Rl.Rollouts;

namespace PurePg.Rl.Training;

/// <summary>
/// Stable-Baselines3's EvalCallback: every <paramref name="every"/> steps, <paramref name="episodes"/> episodes of the
/// current policy on <paramref name="env"/> (copies of their own, not the training environments; evaluation k is reset
/// with seed <paramref name="seed"/> + k), deterministic by default. Keeps the best policy (and saves it to
/// <see cref="BestPolicyPath"/> when set); with <see cref="StopAtThreshold"/> ends training once an evaluation reaches it.
/// </summary>
public sealed class EvaluationCallback(Env env, long every, int episodes = 5, bool deterministic = true, long seed = 2_000_000) : TrainingCallback
{
    private readonly List<(long Steps, EvaluationResult Result)> _history = new();
    private long _next;

    /// <summary>A policy file to write the best policy to, atomically, each time it improves (null: keep it in memory only).</summary>
    public string? BestPolicyPath { get; init; }

    /// <summary>End training when an evaluation's mean return reaches this (null: never).</summary>
    public double? StopAtThreshold { get; init; }

    /// <summary>Evaluations made so far (evaluation k is seeded with seed + k); set it to continue a resumed run's count.</summary>
    public int Evaluations { get; init; }

    /// <summary>Called after each evaluation with the algorithm, the result and whether it is the best so far.</summary>
    public Action<IOnPolicyAlgorithm, EvaluationResult, bool>? OnEvaluation { get; init; }

    /// <summary>The evaluations of this callback: the step count and the result.</summary>
    public IReadOnlyList<(long Steps, EvaluationResult Result)> History => _history;

    /// <summary>The best mean return so far and its step count (set them to continue a resumed run's record).</summary>
    public (double Mean, long Steps)? Best { get; init; }

    /// <summary>The best policy this callback has seen (null until an evaluation beats <see cref="Best"/>'s start).</summary>
    public TrainedPolicy? BestPolicy { get; private set; }

    private (double Mean, long Steps)? _best;

    /// <summary>The best mean return so far and its step count, including a record carried in through <see cref="Best"/>.</summary>
    public (double Mean, long Steps)? BestSoFar => _best;

    /// <summary>Evaluations made so far, including those carried in through <see cref="Evaluations"/>.</summary>
    public int Count => Evaluations + _history.Count;

    /// <inheritdoc/>
    public override void OnStart(IOnPolicyAlgorithm algorithm)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(every);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(episodes);
        _next = (algorithm.TotalSteps / every + 1) * every;
        _best ??= Best;
    }

    /// <inheritdoc/>
    public override bool OnIteration(IOnPolicyAlgorithm algorithm, IterationMetrics metrics)
    {
        if (algorithm.TotalSteps < _next) return true;
        _next = (algorithm.TotalSteps / every + 1) * every;
        var policy = TrainedPolicy.From(algorithm, env.Id);
        long k = seed + Count;
        policy.Reseed((ulong)k);
        var result = Evaluation.Evaluate(policy, env, episodes, deterministic, k);
        _history.Add((algorithm.TotalSteps, result));
        bool best = _best is not { } b || result.Mean > b.Mean;
        if (best)
        {
            (_best, BestPolicy) = ((result.Mean, algorithm.TotalSteps), policy);
            if (BestPolicyPath is not null) policy.Save(BestPolicyPath);
        }
        OnEvaluation?.Invoke(algorithm, result, best);
        return !(StopAtThreshold is double threshold && result.Mean >= threshold);
    }
}

/// <summary>Stable-Baselines3's CheckpointCallback: every <paramref name="every"/> steps writes the algorithm's full state
/// (step-N.ckpt, a checkpoint to resume from with <see cref="IOnPolicyAlgorithm.ReadState"/>) and its policy (step-N.pgp)
/// into <paramref name="directory"/>, both atomically.</summary>
public sealed class CheckpointCallback(string directory, long every) : TrainingCallback
{
    private long _next;

    /// <inheritdoc/>
    public override void OnStart(IOnPolicyAlgorithm algorithm)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(every);
        Directory.CreateDirectory(directory);
        _next = (algorithm.TotalSteps / every + 1) * every;
    }

    /// <inheritdoc/>
    public override bool OnIteration(IOnPolicyAlgorithm algorithm, IterationMetrics metrics)
    {
        if (algorithm.TotalSteps < _next) return true;
        _next = (algorithm.TotalSteps / every + 1) * every;
        string stem = Path.Combine(directory, $"step-{algorithm.TotalSteps:D10}");
        var header = new JsonObject { ["algorithm"] = algorithm.Name, ["steps"] = algorithm.TotalSteps };
        Checkpoint.Write(stem + ".ckpt", header.ToJsonString(), algorithm.WriteState);
        TrainedPolicy.From(algorithm).Save(stem + ".pgp");
        return true;
    }
}

/// <summary>Ends training once the mean return of the last <paramref name="window"/> training episodes reaches
/// <paramref name="threshold"/> (with at least <paramref name="window"/> episodes seen).</summary>
public sealed class StopAtTrainingReturn(double threshold, int window = 100) : TrainingCallback
{
    private readonly RecentEpisodes _recent = new(window);

    /// <inheritdoc/>
    public override bool OnEpisode(IOnPolicyAlgorithm algorithm, EpisodeStatistics episode)
    {
        _recent.Add(episode);
        return !(_recent.Count == window && _recent.MeanReturn >= threshold);
    }
}

/// <summary>A progress line at most every <paramref name="interval"/> (default 2 s): steps, steps per second and the mean
/// return of the last 100 episodes.</summary>
public sealed class ProgressCallback(TextWriter writer, TimeSpan? interval = null) : TrainingCallback
{
    private readonly RecentEpisodes _recent = new();
    private readonly Stopwatch _clock = new();
    private TimeSpan _last;
    private long _startSteps;

    /// <inheritdoc/>
    public override void OnStart(IOnPolicyAlgorithm algorithm)
    {
        _clock.Restart();
        _last = TimeSpan.Zero;
        _startSteps = algorithm.TotalSteps;
    }

    /// <inheritdoc/>
    public override bool OnEpisode(IOnPolicyAlgorithm algorithm, EpisodeStatistics episode)
    {
        _recent.Add(episode);
        return true;
    }

    /// <inheritdoc/>
    public override bool OnIteration(IOnPolicyAlgorithm algorithm, IterationMetrics metrics)
    {
        if (_clock.Elapsed - _last < (interval ?? TimeSpan.FromSeconds(2))) return true;
        _last = _clock.Elapsed;
        double sps = (algorithm.TotalSteps - _startSteps) / Math.Max(1e-9, _clock.Elapsed.TotalSeconds);
        writer.WriteLine($"{algorithm.TotalSteps,10:N0} steps  {sps,9:N0} steps/s  return {_recent.MeanReturn,7:F1}");
        return true;
    }
}

/// <summary>TensorBoard logs from the library's <see cref="OnPolicyAlgorithmExtensions.Learn"/>: after each iteration,
/// rollout/ep_rew_mean and rollout/ep_len_mean (the last 100 episodes), time/fps and the algorithm's diagnostics under
/// Stable-Baselines3's tags (<see cref="TensorBoardWriter.TagFor"/>), at the environment step. A new event file per
/// <see cref="OnStart"/>; dispose it (or let OnEnd close it) to close the file.</summary>
public sealed class TensorBoardCallback(string directory) : TrainingCallback, IDisposable
{
    private readonly RecentEpisodes _recent = new();
    private readonly Stopwatch _clock = new();
    private TensorBoardWriter? _writer;
    private long _startSteps;

    /// <summary>The event file being written (null before the first <see cref="OnStart"/>).</summary>
    public string? Path => _writer?.Path;

    /// <inheritdoc/>
    public override void OnStart(IOnPolicyAlgorithm algorithm)
    {
        _writer?.Dispose();
        _writer = new TensorBoardWriter(directory);
        _clock.Restart();
        _startSteps = algorithm.TotalSteps;
    }

    /// <inheritdoc/>
    public override bool OnEpisode(IOnPolicyAlgorithm algorithm, EpisodeStatistics episode)
    {
        _recent.Add(episode);
        return true;
    }

    /// <inheritdoc/>
    public override bool OnIteration(IOnPolicyAlgorithm algorithm, IterationMetrics metrics)
    {
        long step = algorithm.TotalSteps;
        if (_recent.Count > 0)
        {
            _writer!.Scalar("rollout/ep_rew_mean", _recent.MeanReturn, step);
            _writer.Scalar("rollout/ep_len_mean", _recent.MeanLength, step);
        }
        _writer!.Scalar("time/fps", Math.Round((step - _startSteps) / Math.Max(1e-9, _clock.Elapsed.TotalSeconds)), step);
        foreach (var (name, value) in metrics.Losses)
            if (TensorBoardWriter.TagFor(name) is var (tag, sign)) _writer.Scalar(tag, sign * value, step);
        return true;
    }

    /// <inheritdoc/>
    public override void OnEnd(IOnPolicyAlgorithm algorithm) => Dispose();

    /// <summary>Closes the event file.</summary>
    public void Dispose()
    {
        _writer?.Dispose();
    }
}
