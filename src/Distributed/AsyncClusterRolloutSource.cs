using PurePg.Autodiff.Modules;
using PurePg.Envs;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Rollouts;
using PurePg.Rl.Training;

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
    private readonly IGrainFactory _grains;
    private readonly WorkerCallOptions _options;
    private readonly RolloutBlockSpec[] _blocks;
    private readonly byte[][] _states;
    private readonly RolloutBuffer[] _buffers;
    private readonly Task<RolloutBlockResult>?[] _inFlight;
    private int _retries;

    /// <summary>Rollouts of <paramref name="stepsPerEnv"/> steps of <paramref name="numEnvs"/> copies of
    /// <paramref name="envId"/> in <paramref name="blocks"/> blocks, block w on grain w of <paramref name="grains"/>, for
    /// networks of <paramref name="hiddenSizes"/> and <paramref name="activation"/>.</summary>
    /// <exception cref="ArgumentException">An unknown environment id, or more blocks than copies.</exception>
    public AsyncClusterRolloutSource(IGrainFactory grains, string envId, int numEnvs, int stepsPerEnv, int blocks, int[] hiddenSizes, Activation activation,
        WorkerCallOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(grains);
        (_grains, _options) = (grains, options ?? new WorkerCallOptions());
        _options.Validate();
        _blocks = RolloutBlockSpec.Split(envId, numEnvs, stepsPerEnv, blocks, hiddenSizes, activation);
        var probe = AlgorithmCatalog.MakeVectorEnv(envId, 1);
        (SingleObservationSpace, SingleActionSpace, NumEnvs, StepsPerEnv) = (probe.SingleObservationSpace, probe.SingleActionSpace, numEnvs, stepsPerEnv);
        int actionSize = SingleActionSpace is Box b ? b.Size : 0;
        _buffers = _blocks.Select(s => s.NewBuffer(SingleObservationSpace.Size, actionSize)).ToArray();
        _states = new byte[blocks][];
        _inFlight = new Task<RolloutBlockResult>?[blocks];
    }

    /// <inheritdoc/>
    public int NumEnvs { get; }

    /// <inheritdoc/>
    public int StepsPerEnv { get; }

    /// <inheritdoc/>
    public int Blocks => _blocks.Length;

    /// <inheritdoc/>
    public Box SingleObservationSpace { get; }

    /// <inheritdoc/>
    public Space SingleActionSpace { get; }

    /// <summary>Requests sent again after a loss, over the source's life.</summary>
    public int Retries => _retries;

    /// <summary>Rollouts received, over the source's life.</summary>
    public long Received { get; private set; }

    /// <inheritdoc/>
    public void Reset(long seed)
    {
        if (_inFlight.Any(t => t is { IsCompleted: false })) throw new InvalidOperationException("Reset while rollouts are under way.");
        for (int w = 0; w < _blocks.Length; w++)
        {
            _states[w] = _blocks[w].InitialState(seed);
            _inFlight[w] = null;
        }
    }

    /// <inheritdoc/>
    public AsyncRollout Next(ActorCritic agent, long version)
    {
        ArgumentNullException.ThrowIfNull(agent);
        if (_states.Any(s => s is null)) throw new InvalidOperationException("Next before Reset: reset the source (the algorithm does) first.");
        byte[]? parameters = null;
        for (int w = 0; w < _blocks.Length; w++)
        {
            if (_inFlight[w] is not null) continue;
            parameters ??= RolloutBlockRequest.PackParameters(agent);
            var request = new RolloutBlockRequest(_blocks[w], version, parameters, _states[w]);
            int worker = w;
            _inFlight[w] = WorkerCalls.Call(() => _grains.GetGrain<IRolloutWorkerGrain>(worker).Collect(request), _options, $"Rollout worker {worker}",
                $"version {version} (copies {request.Spec.FirstCopy}–{request.Spec.FirstCopy + request.Spec.Copies - 1})", () => Interlocked.Increment(ref _retries));
        }
        var done = Task.WhenAny(_inFlight!).GetAwaiter().GetResult();
        int b = Array.IndexOf(_inFlight, done);
        _inFlight[b] = null;
        var answer = done.GetAwaiter().GetResult(); // the rollout's own exception, if it failed
        answer.CopyTo(_buffers[b]);
        _states[b] = answer.State;
        Received++;
        return new AsyncRollout(_buffers[b], _blocks[b].FirstCopy, answer.Version);
    }
}
