using PurePg.Autodiff.Modules;
using PurePg.Envs;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Rollouts;
using PurePg.Rl.Training;

namespace PurePg.Distributed;

/// <summary>
/// On-policy rollouts stepped by <see cref="IRolloutWorkerGrain"/>s on an Orleans cluster, for PPO, A2C, TRPO and the
/// natural gradient unchanged (each takes an <see cref="IRolloutSource"/>). The N copies are split into W contiguous
/// blocks (sizes differing by at most one), block w stepped by grain w; each rollout is one request per block carrying
/// the policy version's θ and φ once and the block's state, and the answers are placed by copy index, not by arrival.
/// Since a copy's trajectory depends only on its environment seed, its acting stream and θ (acting is batch-invariant),
/// a run is bit-identical to the same run on one process's <see cref="VectorEnvRolloutSource"/> with the same N, for
/// any W. The learner keeps every block's state, so a request lost to the cluster (a silo killed, a dropped connection,
/// no answer within the timeout) is sent again with the same state — to the same grain, which Orleans reactivates on a
/// surviving silo — and the run stays bit-identical, nothing lost or counted twice. An exception from the rollout itself
/// (an environment's NaN, an unknown id) is not retried: it stops the iteration with its message.
/// </summary>
public sealed class ClusterRolloutSource : IRolloutSource
{
    private readonly IGrainFactory _grains;
    private readonly WorkerCallOptions _options;
    private readonly RolloutBlockSpec[] _blocks;
    private readonly byte[][] _states;
    private readonly RolloutBuffer[] _scratch;
    private long _version;
    private int _retries;

    /// <summary>Rollouts of <paramref name="stepsPerEnv"/> steps of <paramref name="numEnvs"/> copies of
    /// <paramref name="envId"/> on grains 0 … <paramref name="workers"/> − 1 of <paramref name="grains"/> (a cluster
    /// client), for networks of <paramref name="hiddenSizes"/> and <paramref name="activation"/> (the algorithm's).</summary>
    /// <exception cref="ArgumentException">An unknown environment id, or more workers than copies.</exception>
    public ClusterRolloutSource(IGrainFactory grains, string envId, int numEnvs, int stepsPerEnv, int[] hiddenSizes, Activation activation, int workers,
        WorkerCallOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(grains);
        (_grains, _options) = (grains, options ?? new WorkerCallOptions());
        _options.Validate();
        _blocks = RolloutBlockSpec.Split(envId, numEnvs, stepsPerEnv, workers, hiddenSizes, activation);
        var probe = AlgorithmCatalog.MakeVectorEnv(envId, 1);
        (SingleObservationSpace, SingleActionSpace, NumEnvs, StepsPerEnv) = (probe.SingleObservationSpace, probe.SingleActionSpace, numEnvs, stepsPerEnv);
        int actionSize = SingleActionSpace is Box b ? b.Size : 0;
        Buffer = new RolloutBuffer(stepsPerEnv, numEnvs, SingleObservationSpace.Size, actionSize);
        _scratch = _blocks.Select(s => s.NewBuffer(SingleObservationSpace.Size, actionSize)).ToArray();
        _states = new byte[workers][];
    }

    /// <inheritdoc/>
    public int NumEnvs { get; }

    /// <inheritdoc/>
    public int StepsPerEnv { get; }

    /// <inheritdoc/>
    public Box SingleObservationSpace { get; }

    /// <inheritdoc/>
    public Space SingleActionSpace { get; }

    /// <inheritdoc/>
    public RolloutBuffer Buffer { get; }

    /// <summary>W, the workers (blocks of copies).</summary>
    public int Workers => _blocks.Length;

    /// <summary>The policy version the last rollout acted with (1 for the first rollout; 0 before it).</summary>
    public long Version => _version;

    /// <summary>Requests sent again after a loss, over the source's life.</summary>
    public int Retries => _retries;

    /// <inheritdoc/>
    public void Reset(long seed)
    {
        // each block's starting state is made here, as the workers would make it: any worker can then be sent any block
        for (int w = 0; w < _blocks.Length; w++) _states[w] = _blocks[w].InitialState(seed);
        _version = 0;
    }

    /// <inheritdoc/>
    public void Collect(ActorCritic agent)
    {
        ArgumentNullException.ThrowIfNull(agent);
        if (_states.Any(s => s is null)) throw new InvalidOperationException("Collect before Reset: reset the source (the algorithm does) first.");
        long version = ++_version;
        byte[] parameters = RolloutBlockRequest.PackParameters(agent);
        var requests = _blocks.Select((spec, w) => new RolloutBlockRequest(spec, version, parameters, _states[w])).ToArray();
        var answers = Task.WhenAll(requests.Select((request, w) => WorkerCalls.Call(() => _grains.GetGrain<IRolloutWorkerGrain>(w).Collect(request), _options,
            $"Rollout worker {w}", $"version {version} (copies {request.Spec.FirstCopy}–{request.Spec.FirstCopy + request.Spec.Copies - 1})",
            () => Interlocked.Increment(ref _retries)))).GetAwaiter().GetResult();
        Buffer.BeginBlocks();
        for (int w = 0; w < _blocks.Length; w++)
        {
            if (answers[w].Version != version)
                throw new InvalidDataException($"Rollout worker {w} answered version {answers[w].Version} to a request for version {version}.");
            answers[w].CopyTo(_scratch[w]);
            Buffer.CopyBlock(_scratch[w], _blocks[w].FirstCopy);
        }
        Buffer.EndBlocks();
        for (int w = 0; w < _blocks.Length; w++) _states[w] = answers[w].State; // only once every block has answered
    }

    /// <inheritdoc/>
    public void WriteState(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(_version);
        writer.Write(_states.Length);
        foreach (var s in _states)
        {
            writer.Write(s.Length);
            writer.Write(s);
        }
    }

    /// <inheritdoc/>
    public void ReadState(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        long version = reader.ReadInt64();
        int blocks = reader.ReadInt32();
        if (blocks != _blocks.Length) throw new InvalidDataException($"The saved rollouts were stepped by {blocks} workers; this source has {_blocks.Length}.");
        var states = new byte[blocks][];
        for (int w = 0; w < blocks; w++)
        {
            int length = reader.ReadInt32();
            if (length < 0 || length > reader.BaseStream.Length - reader.BaseStream.Position)
                throw new InvalidDataException($"The saved state of rollout block {w} claims {length} bytes; the file has fewer.");
            states[w] = reader.ReadBytes(length);
            // the block's state must load into a block of this spec: check it now rather than on a worker later
            var (shard, _) = RolloutWorkerGrain.Build(_blocks[w]);
            using var r = new BinaryReader(new MemoryStream(states[w], writable: false));
            shard.ReadState(r);
        }
        _version = version;
        states.CopyTo(_states, 0);
    }
}
