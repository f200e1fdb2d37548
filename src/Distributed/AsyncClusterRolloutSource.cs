using PurePg.Autodiff.Modules;
using PurePg.Envs;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Rollouts;

namespace PurePg.Distributed;

/// <summary>
/// IMPALA's actors as <see cref="IRolloutWorkerGrain"/>s (the same grains the synchronous source uses): every block of
/// copies has one request in flight, carrying the policy version the learner had when it was sent; the learner takes
/// whichever rollout finishes first, learns from it (V-trace corrects the lag) and sends that block its next request
/// with the version it has then. Blocks keep stepping while the learner learns. A request lost to the cluster is sent
/// again with the same inputs (the block's state and the version it was sent with), so nothing is lost or counted twice;
/// an exception from the rollout itself stops the run with its message. The order in which rollouts arrive depends on
/// timing, so runs are not reproducible (unlike <see cref="ClusterRolloutSource"/>).
/// </summary>
public sealed class AsyncClusterRolloutSource : IAsyncRolloutSource
{
    private readonly ClusterBlocks _blocks;
    private readonly Task<RolloutBlockResult>?[] _inFlight;

    /// <summary>Rollouts of <paramref name="stepsPerEnv"/> steps of <paramref name="numEnvs"/> copies of
    /// <paramref name="envId"/> in <paramref name="blocks"/> blocks, block w on grain w of <paramref name="grains"/>, for
    /// networks of <paramref name="hiddenSizes"/> and <paramref name="activation"/>.</summary>
    /// <exception cref="ArgumentException">An unknown environment id, or more blocks than copies.</exception>
    public AsyncClusterRolloutSource(IGrainFactory grains, string envId, int numEnvs, int stepsPerEnv, int blocks, int[] hiddenSizes, Activation activation,
        WorkerCallOptions? options = null)
    {
        _blocks = new ClusterBlocks(grains, envId, numEnvs, stepsPerEnv, blocks, hiddenSizes, activation, options);
        (NumEnvs, StepsPerEnv) = (numEnvs, stepsPerEnv);
        _inFlight = new Task<RolloutBlockResult>?[blocks];
    }

    /// <inheritdoc/>
    public int NumEnvs { get; }

    /// <inheritdoc/>
    public int StepsPerEnv { get; }

    /// <inheritdoc/>
    public int Blocks => _blocks.Specs.Length;

    /// <inheritdoc/>
    public Box SingleObservationSpace => _blocks.ObservationSpace;

    /// <inheritdoc/>
    public Space SingleActionSpace => _blocks.ActionSpace;

    /// <summary>Requests sent again after a loss, over the source's life.</summary>
    public int Retries => _blocks.Retries;

    /// <summary>Rollouts received, over the source's life.</summary>
    public long Received { get; private set; }

    /// <inheritdoc/>
    public void Reset(long seed)
    {
        if (_inFlight.Any(t => t is { IsCompleted: false })) throw new InvalidOperationException("Reset while rollouts are under way.");
        _blocks.Reset(seed);
        Array.Clear(_inFlight);
    }

    /// <inheritdoc/>
    public AsyncRollout Next(ActorCritic agent, long version)
    {
        ArgumentNullException.ThrowIfNull(agent);
        _blocks.EnsureReset("Next");
        byte[]? parameters = null;
        for (int w = 0; w < Blocks; w++)
        {
            if (_inFlight[w] is not null) continue;
            parameters ??= RolloutBlockRequest.PackParameters(agent);
            _inFlight[w] = _blocks.Send(w, version, parameters);
        }
        var done = Task.WhenAny(_inFlight!).GetAwaiter().GetResult();
        int b = Array.IndexOf(_inFlight, done);
        _inFlight[b] = null;
        var answer = done.GetAwaiter().GetResult(); // the rollout's own exception, if it failed
        answer.CopyTo(_blocks.Buffers[b]);
        _blocks.States[b] = answer.State;
        Received++;
        return new AsyncRollout(_blocks.Buffers[b], _blocks.Specs[b].FirstCopy, answer.Version);
    }
}
