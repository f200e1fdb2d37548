using PurePg.Rl.Algorithms;

namespace PurePg.Distributed;

/// <summary>How the learner calls its workers: how long one request may take and how often a request lost to the
/// cluster (a silo gone, a connection dropped, no answer in time) is sent again before the run stops.</summary>
public sealed record WorkerCallOptions
{
    /// <summary>The longest one request may take (default 2 minutes: a generation of long episodes on a slow worker).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Attempts per request, the first included (default 6: with <see cref="RetryDelay"/>'s doubling, a request is
    /// given up only after 31 s of waiting between attempts — longer than Orleans takes by default to declare a killed silo
    /// dead, during which calls to its grains are rejected at once).</summary>
    public int Attempts { get; init; } = 6;

    /// <summary>The wait before the first re-send; each further one waits twice as long, up to 16 s (default 1 s).</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The wait before re-send number <paramref name="retry"/> (1 for the first): RetryDelay·2^(retry − 1), at most 16 s.</summary>
    public TimeSpan DelayBefore(int retry) =>
        TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(16).Ticks, RetryDelay.Ticks * (1L << Math.Min(retry - 1, 20))));

    /// <summary>Checks every setting, naming the bad one.</summary>
    public void Validate()
    {
        if (Timeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(Timeout), Timeout, "Timeout must be positive.");
        if (Attempts < 1) throw new ArgumentOutOfRangeException(nameof(Attempts), Attempts, "Attempts must be at least 1.");
        if (RetryDelay < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(RetryDelay), RetryDelay, "RetryDelay must not be negative.");
    }
}

/// <summary>
/// ES generations evaluated by <see cref="IEsEvaluatorGrain"/>s on an Orleans cluster: the 2n candidates are split
/// round-robin over <c>workers</c> grains (candidate j to grain j mod W), each shard one request carrying μ once, the
/// observation statistics and the indices — what travels back is returns, lengths and (when normalizing) the
/// candidates' observation statistics. A request lost to the cluster (a silo killed, a dropped connection, no answer
/// within the timeout) is sent again to the same grain, which Orleans reactivates on a surviving silo; since a result is
/// a pure function of its request, the run stays bit-identical to one evaluated on local threads. An exception from the
/// evaluation itself (an environment's NaN, an unknown id) is not retried: it stops the generation with its message.
/// </summary>
public sealed class ClusterEsSource : IEsGenerationSource
{
    private readonly IGrainFactory _grains;
    private readonly EsEvaluationSpec _spec;
    private readonly int _workers;
    private readonly WorkerCallOptions _options;

    /// <summary>Evaluates with grains 0 … <paramref name="workers"/> − 1 of <paramref name="grains"/> (a cluster client).</summary>
    public ClusterEsSource(IGrainFactory grains, string envId, EsSettings settings, int workers, WorkerCallOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(workers);
        (_grains, _spec, _workers, _options) = (grains, EsEvaluationSpec.Of(envId, settings), workers, options ?? new WorkerCallOptions());
        _options.Validate();
    }

    /// <summary>Requests sent again after a loss, over the source's life.</summary>
    public int Retries => _retries;

    private int _retries;

    /// <inheritdoc/>
    public void Evaluate(long generation, ReadOnlySpan<float> mu, double[]? statisticsMean, double[]? statisticsVariance, EsCandidateResult[] results)
    {
        ArgumentNullException.ThrowIfNull(results);
        float[] theta = mu.ToArray();
        int candidates = results.Length, shards = Math.Min(_workers, candidates);
        var requests = Enumerable.Range(0, shards).Select(w => new EsShardRequest(_spec, generation, theta, statisticsMean ?? [], statisticsVariance ?? [],
            Enumerable.Range(0, candidates).Where(j => j % shards == w).ToArray())).ToArray();
        var answers = Task.WhenAll(requests.Select((request, w) => Call(w, request))).GetAwaiter().GetResult();
        int o = statisticsMean?.Length ?? 0;
        for (int w = 0; w < shards; w++)
        {
            var (request, answer) = (requests[w], answers[w]);
            if (answer.Returns.Length != request.Candidates.Length || answer.Lengths.Length != request.Candidates.Length || answer.ObservationMeans.Length != o * request.Candidates.Length)
                throw new InvalidDataException($"Evaluator {w} answered generation {generation} with {answer.Returns.Length} results for {request.Candidates.Length} candidates.");
            for (int k = 0; k < request.Candidates.Length; k++)
                results[request.Candidates[k]] = new EsCandidateResult(answer.Returns[k], answer.Lengths[k], answer.ObservationMeans.AsSpan(k * o, o).ToArray(),
                    answer.ObservationSquares.AsSpan(k * o, o).ToArray(), o > 0 ? answer.Lengths[k] : 0);
        }
    }

    private Task<EsShardResult> Call(int worker, EsShardRequest request) =>
        WorkerCalls.Call(() => _grains.GetGrain<IEsEvaluatorGrain>(worker).Evaluate(request), _options, $"ES evaluator {worker}",
            $"generation {request.Generation}", () => Interlocked.Increment(ref _retries));
}

/// <summary>The learner's side of one request to a worker grain, with the retry rule every cluster source follows.</summary>
internal static class WorkerCalls
{
    /// <summary>Sends <paramref name="call"/> up to <see cref="WorkerCallOptions.Attempts"/> times while the request is lost
    /// to the cluster (<see cref="IsLost"/>), each attempt bounded by <see cref="WorkerCallOptions.Timeout"/> and each
    /// re-send after <see cref="WorkerCallOptions.DelayBefore"/> (the cluster needs time to notice a dead silo and move its
    /// grains); after the last, throws a <see cref="TimeoutException"/> naming <paramref name="worker"/> and
    /// <paramref name="what"/>. Any other exception (the work itself failed) passes through at once.</summary>
    public static async Task<T> Call<T>(Func<Task<T>> call, WorkerCallOptions options, string worker, string what, Action onRetry)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return await call().WaitAsync(options.Timeout).ConfigureAwait(false);
            }
            catch (Exception e) when (IsLost(e))
            {
                if (attempt >= options.Attempts)
                    throw new TimeoutException($"{worker} gave no answer for {what} in {attempt} attempts " +
                        $"(timeout {options.Timeout.TotalSeconds:G} s each): {e.GetType().Name}: {e.Message.Split('\n')[0]}", e);
                onRetry();
                await Task.Delay(options.DelayBefore(attempt)).ConfigureAwait(false);
            }
        }
    }

    /// <summary>A request lost to the cluster rather than refused by the work: a timeout, or Orleans' own exceptions
    /// (silo unavailable, message rejected, connection failed).</summary>
    public static bool IsLost(Exception e) => e is TimeoutException or OrleansException;
}
