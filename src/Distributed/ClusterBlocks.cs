using PurePg.Autodiff.Modules;
using PurePg.Envs;
using PurePg.Rl.Rollouts;
using PurePg.Rl.Training;

namespace PurePg.Distributed;

/// <summary>
/// What both cluster rollout sources keep of a run's blocks: each block's spec, the state it was left in, a [T, M] buffer
/// for its answers, the spaces, and how a request for it is sent (to grain w, with the retry rule of <see cref="WorkerCalls"/>,
/// its answer checked to be for the version asked).
/// </summary>
internal sealed class ClusterBlocks
{
    private readonly IGrainFactory _grains;
    private readonly WorkerCallOptions _options;
    private int _retries;

    public ClusterBlocks(IGrainFactory grains, string envId, int numEnvs, int stepsPerEnv, int workers, int[] hiddenSizes, Activation activation,
        WorkerCallOptions? options)
    {
        ArgumentNullException.ThrowIfNull(grains);
        (_grains, _options) = (grains, options ?? new WorkerCallOptions());
        _options.Validate();
        Specs = RolloutBlockSpec.Split(envId, numEnvs, stepsPerEnv, workers, hiddenSizes, activation);
        var probe = AlgorithmCatalog.MakeVectorEnv(envId, 1);
        (ObservationSpace, ActionSpace) = (probe.SingleObservationSpace, probe.SingleActionSpace);
        ActionSize = ActionSpace is Box b ? b.Size : 0;
        Buffers = Specs.Select(s => s.NewBuffer(ObservationSpace.Size, ActionSize)).ToArray();
        States = new byte[workers][];
    }

    public RolloutBlockSpec[] Specs { get; }
    public Box ObservationSpace { get; }
    public Space ActionSpace { get; }
    public int ActionSize { get; }

    /// <summary>Each block's last answer, [T, M].</summary>
    public RolloutBuffer[] Buffers { get; }

    /// <summary>Each block's state where its last accepted rollout left it (null before <see cref="Reset"/>).</summary>
    public byte[][] States { get; }

    public int Retries => _retries;

    /// <summary>Each block's starting state, made here as the workers would make it: any worker can then be sent any block.</summary>
    public void Reset(long seed)
    {
        for (int w = 0; w < Specs.Length; w++) States[w] = Specs[w].InitialState(seed);
    }

    public void EnsureReset(string call)
    {
        if (States.Any(s => s is null)) throw new InvalidOperationException($"{call} before Reset: reset the source (the algorithm does) first.");
    }

    /// <summary>Block w's next rollout under <paramref name="version"/> (θ, φ packed once by the caller), from its current state.</summary>
    public async Task<RolloutBlockResult> Send(int w, long version, byte[] parameters)
    {
        var request = new RolloutBlockRequest(Specs[w], version, parameters, States[w]);
        var answer = await WorkerCalls.Call(() => _grains.GetGrain<IRolloutWorkerGrain>(w).Collect(request), _options, $"Rollout worker {w}",
            $"version {version} (copies {request.Spec.FirstCopy}–{request.Spec.FirstCopy + request.Spec.Copies - 1})", () => Interlocked.Increment(ref _retries))
            .ConfigureAwait(false);
        if (answer.Version != version)
            throw new InvalidDataException($"Rollout worker {w} answered version {answer.Version} to a request for version {version}.");
        return answer;
    }

    /// <summary>Writes every block's state with its length.</summary>
    public void WriteStates(BinaryWriter writer)
    {
        writer.Write(States.Length);
        foreach (var s in States)
        {
            writer.Write(s.Length);
            writer.Write(s);
        }
    }

    /// <summary>Reads what <see cref="WriteStates"/> wrote, checking that each state loads into a block of this run's spec
    /// (now rather than on a worker later); nothing changes unless all of them do.</summary>
    public void ReadStates(BinaryReader reader)
    {
        int blocks = reader.ReadInt32();
        if (blocks != Specs.Length) throw new InvalidDataException($"The saved rollouts were stepped by {blocks} workers; this source has {Specs.Length}.");
        var states = new byte[blocks][];
        for (int w = 0; w < blocks; w++)
        {
            int length = reader.ReadInt32();
            if (length < 0 || length > reader.BaseStream.Length - reader.BaseStream.Position)
                throw new InvalidDataException($"The saved state of rollout block {w} claims {length} bytes; the file has fewer.");
            states[w] = reader.ReadBytes(length);
            var (shard, _) = RolloutWorkerGrain.Build(Specs[w]);
            using var r = new BinaryReader(new MemoryStream(states[w], writable: false));
            shard.ReadState(r);
        }
        states.CopyTo(States, 0);
    }
}
