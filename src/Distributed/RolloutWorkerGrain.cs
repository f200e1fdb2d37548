using PurePg.Autodiff;
using PurePg.Autodiff.Modules;
using PurePg.Envs;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Rollouts;
using PurePg.Rl.Training;

namespace PurePg.Distributed;

/// <summary>What a rollout worker needs to rebuild a block of a run's copies: the environment id, the block (first copy,
/// copies), T, and the networks' shape. A worker rebuilds its environment and agent only when these change.</summary>
[GenerateSerializer, Immutable]
public sealed record RolloutBlockSpec(
    [property: Id(0)] string EnvId,
    [property: Id(1)] int FirstCopy,
    [property: Id(2)] int Copies,
    [property: Id(3)] int Steps,
    [property: Id(4)] int[] HiddenSizes,
    [property: Id(5)] int Activation)
{
    /// <summary>A value key: two specs with the same fields are the same block.</summary>
    public string Key => $"{EnvId}|{FirstCopy}|{Copies}|{Steps}|{string.Join(",", HiddenSizes)}|{Activation}";

    /// <summary>The blocks of a run of <paramref name="numEnvs"/> copies of <paramref name="envId"/> over
    /// <paramref name="workers"/> workers (<see cref="RolloutShard.Blocks"/>); an unknown id is refused by name.</summary>
    public static RolloutBlockSpec[] Split(string envId, int numEnvs, int stepsPerEnv, int workers, int[] hiddenSizes, Activation activation)
    {
        ArgumentNullException.ThrowIfNull(hiddenSizes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stepsPerEnv);
        EnvRegistry.Spec(envId);
        return RolloutShard.Blocks(numEnvs, workers).Select(b => new RolloutBlockSpec(envId, b.First, b.Count, stepsPerEnv, hiddenSizes.ToArray(), (int)activation)).ToArray();
    }

    /// <summary>The block's state after a reset of a run seeded <paramref name="seed"/>, made here as a worker would make it,
    /// so any worker can be sent the block's first rollout.</summary>
    public byte[] InitialState(long seed)
    {
        var (shard, _) = RolloutWorkerGrain.Build(this);
        shard.Reset(seed);
        return RolloutBlockResult.Save(shard);
    }

    /// <summary>A [T, M] buffer for the block's rollouts, shaped for <paramref name="observationSize"/> features and
    /// <paramref name="actionSize"/> action floats.</summary>
    public RolloutBuffer NewBuffer(int observationSize, int actionSize) => new(Steps, Copies, observationSize, actionSize);
}

/// <summary>One rollout of a block under policy version <paramref name="Version"/>: θ then φ of that version as one byte
/// payload (<see cref="PackParameters"/>; raw bytes cross Orleans ten times faster than a float[]), and the block's state
/// where the last rollout left it (environments, acting streams, running episodes — the bytes
/// <see cref="RolloutShard.WriteState"/> writes), so any worker on any silo can step it and give the same bits.</summary>
[GenerateSerializer, Immutable]
public sealed record RolloutBlockRequest(
    [property: Id(0)] RolloutBlockSpec Spec,
    [property: Id(1)] long Version,
    [property: Id(2)] byte[] Parameters,
    [property: Id(3)] byte[] State)
{
    /// <summary>θ then φ of <paramref name="agent"/>, little-endian float32: made once per version, sent to every block.</summary>
    public static byte[] PackParameters(ActorCritic agent)
    {
        ArgumentNullException.ThrowIfNull(agent);
        var bytes = new byte[4 * (agent.Theta.Count + agent.Phi.Count)];
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(agent.Theta.Values).CopyTo(bytes);
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(agent.Phi.Values).CopyTo(bytes.AsSpan(4 * agent.Theta.Count));
        return bytes;
    }

    /// <summary>Writes the payload's θ and φ into <paramref name="agent"/>, refusing a payload of another size.</summary>
    public void LoadParameters(ActorCritic agent)
    {
        ArgumentNullException.ThrowIfNull(agent);
        if (Parameters.Length != 4 * (agent.Theta.Count + agent.Phi.Count))
            throw new ArgumentException($"Version {Version} carries {Parameters.Length / 4} parameters; the block's networks have {agent.Theta.Count} + {agent.Phi.Count}.");
        Parameters.AsSpan(0, 4 * agent.Theta.Count).CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(agent.Theta.Values));
        Parameters.AsSpan(4 * agent.Theta.Count).CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(agent.Phi.Values));
    }
}

/// <summary>The block's [T, M] rollout, the version that acted, and the block's state after it. The rollout's arrays travel
/// as one byte payload in a fixed layout (<see cref="Pack"/>): Orleans encodes a float[] element by element (measured
/// 1.1 ms to serialize and 1.2 ms to deserialize CartPole's 8 × 256-step rollout, 0.1 ms for a byte[] of the same size),
/// and only this type's own code reads the bytes back, checking every length.</summary>
[GenerateSerializer, Immutable]
public sealed record RolloutBlockResult(
    [property: Id(0)] long Version,
    [property: Id(1)] byte[] Rollout,
    [property: Id(2)] byte[] State)
{
    /// <summary>Writes the rollout into <paramref name="block"/> (a [T, M] buffer of the request's spec), naming what does not fit.</summary>
    /// <exception cref="InvalidDataException">The payload is not a rollout of the block's shape.</exception>
    public void CopyTo(RolloutBuffer block)
    {
        ArgumentNullException.ThrowIfNull(block);
        var reader = new Reader(Rollout);
        reader.Read(block.Observations, "observations");
        reader.Read(block.FinalObservations, "final observations");
        reader.Read(block.LastObservations, "last observations");
        reader.Read(block.DiscreteActions, "discrete actions");
        reader.Read(block.ContinuousActions, "continuous actions");
        reader.Read(block.Rewards, "rewards");
        reader.Read(block.LogProbs, "log-probabilities");
        reader.Read(block.Values, "values");
        reader.Read(block.TimeSteps, "step indices");
        reader.Read(block.Terminated, "terminated flags");
        reader.Read(block.Truncated, "truncated flags");
        int episodes = reader.Count("episodes");
        var returns = new double[episodes];
        var ends = new int[2 * episodes];
        var lengths = new int[episodes];
        reader.Read(returns, "episode returns");
        reader.Read(lengths, "episode lengths");
        reader.Read(ends, "episode ends");
        reader.End();
        block.Episodes.Clear();
        block.EpisodeEnds.Clear();
        for (int k = 0; k < episodes; k++)
        {
            block.Episodes.Add(new EpisodeStatistics(returns[k], lengths[k]));
            block.EpisodeEnds.Add((ends[2 * k], ends[2 * k + 1]));
        }
    }

    /// <summary>What a worker answers after collecting into <paramref name="shard"/>.</summary>
    public static RolloutBlockResult Of(long version, RolloutShard shard)
    {
        ArgumentNullException.ThrowIfNull(shard);
        return new RolloutBlockResult(version, Pack(shard.Buffer), Save(shard));
    }

    /// <summary>The rollout's arrays, each as its length (int32) and its elements' little-endian bytes: observations, final
    /// and last observations, discrete and continuous actions, rewards, log π, V, step indices, the two flag arrays, then
    /// the episodes' count, returns, lengths and (step, copy) ends.</summary>
    public static byte[] Pack(RolloutBuffer b)
    {
        ArgumentNullException.ThrowIfNull(b);
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream))
        {
            Write<float>(w, b.Observations);
            Write<float>(w, b.FinalObservations);
            Write<float>(w, b.LastObservations);
            Write<int>(w, b.DiscreteActions);
            Write<float>(w, b.ContinuousActions);
            Write<float>(w, b.Rewards);
            Write<float>(w, b.LogProbs);
            Write<float>(w, b.Values);
            Write<int>(w, b.TimeSteps);
            Write<bool>(w, b.Terminated);
            Write<bool>(w, b.Truncated);
            w.Write(b.Episodes.Count);
            Write<double>(w, b.Episodes.Select(e => e.Return).ToArray());
            Write<int>(w, b.Episodes.Select(e => e.Length).ToArray());
            Write<int>(w, b.EpisodeEnds.SelectMany(e => new[] { e.Step, e.Copy }).ToArray());
        }
        return stream.ToArray();
    }

    private static void Write<T>(BinaryWriter w, ReadOnlySpan<T> values) where T : unmanaged
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("Rollout payloads are little-endian.");
        w.Write(values.Length);
        w.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values));
    }

    /// <summary>The bytes <see cref="RolloutShard.WriteState"/> writes: what travels with a block.</summary>
    internal static byte[] Save(RolloutShard shard)
    {
        using var state = new MemoryStream();
        using (var w = new BinaryWriter(state)) shard.WriteState(w);
        return state.ToArray();
    }

    private ref struct Reader(byte[] bytes)
    {
        private ReadOnlySpan<byte> _rest = bytes;

        public int Count(string what)
        {
            if (_rest.Length < 4) throw new InvalidDataException($"A rollout payload ends before its {what}.");
            int n = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(_rest);
            _rest = _rest[4..];
            if (n < 0) throw new InvalidDataException($"A rollout payload claims {n} {what}.");
            return n;
        }

        public void Read<T>(Span<T> target, string what) where T : unmanaged
        {
            int n = Count(what);
            if (n != target.Length) throw new InvalidDataException($"A rollout block's {what} hold {n} values where the block needs {target.Length}.");
            var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(target);
            if (_rest.Length < bytes.Length) throw new InvalidDataException($"A rollout payload ends inside its {what}.");
            _rest[..bytes.Length].CopyTo(bytes);
            _rest = _rest[bytes.Length..];
        }

        public readonly void End()
        {
            if (!_rest.IsEmpty) throw new InvalidDataException($"A rollout payload has {_rest.Length} bytes after its episodes.");
        }
    }
}

/// <summary>A rollout worker on a silo: steps a block of a run's environment copies T times under the policy version it
/// is sent, a pure function of its request (the block's state travels with it), so the learner may send it again —
/// to another activation, on another silo — and get the same bits.</summary>
public interface IRolloutWorkerGrain : IGrainWithIntegerKey
{
    /// <summary>One rollout of the request's block.</summary>
    Task<RolloutBlockResult> Collect(RolloutBlockRequest request);

    /// <summary>The silo this activation runs on (its runtime identity), for reports and tests.</summary>
    Task<string> Silo();
}

/// <summary>The rollout worker grain: one block (environment copies, acting streams, buffer) and one agent per activation,
/// kept while the spec is the same. Placed at random, so a run's workers spread over the silos.</summary>
[Orleans.Placement.RandomPlacement]
public sealed class RolloutWorkerGrain : Grain, IRolloutWorkerGrain
{
    private RolloutShard? _shard;
    private ActorCritic? _agent;
    private string? _key;

    /// <inheritdoc/>
    public Task<string> Silo() => Task.FromResult(RuntimeIdentity);

    /// <inheritdoc/>
    public Task<RolloutBlockResult> Collect(RolloutBlockRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_shard is null || _key != request.Spec.Key)
        {
            (_shard, _agent) = Build(request.Spec);
            _key = request.Spec.Key;
        }
        return Task.FromResult(Collect(_shard, _agent!, request));
    }

    /// <summary>A block and an agent for <paramref name="spec"/> (the environment made as the program makes it; an unknown
    /// id is refused by name).</summary>
    public static (RolloutShard Shard, ActorCritic Agent) Build(RolloutBlockSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var env = AlgorithmCatalog.MakeVectorEnv(spec.EnvId, spec.Copies);
        var agent = new ActorCritic(env.SingleObservationSpace, env.SingleActionSpace, spec.HiddenSizes, (Activation)spec.Activation, 0, new Rng(1));
        return (new RolloutShard(env, spec.FirstCopy, spec.Steps), agent);
    }

    /// <summary>Loads the request's state into <paramref name="shard"/> and its θ, φ into <paramref name="agent"/>, steps the
    /// block and answers — what a worker grain does, callable without a cluster.</summary>
    public static RolloutBlockResult Collect(RolloutShard shard, ActorCritic agent, RolloutBlockRequest request)
    {
        ArgumentNullException.ThrowIfNull(shard);
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(request);
        request.LoadParameters(agent);
        using (var r = new BinaryReader(new MemoryStream(request.State, writable: false))) shard.ReadState(r);
        shard.Collect(agent);
        return RolloutBlockResult.Of(request.Version, shard);
    }
}
