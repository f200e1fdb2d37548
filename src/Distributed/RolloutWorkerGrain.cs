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

/// <summary>One rollout of a block under policy version <paramref name="Version"/>: θ and φ of that version, and the
/// block's state where the last rollout left it (environments, acting streams, running episodes — the bytes
/// <see cref="RolloutShard.WriteState"/> writes), so any worker on any silo can step it and give the same bits.</summary>
[GenerateSerializer, Immutable]
public sealed record RolloutBlockRequest(
    [property: Id(0)] RolloutBlockSpec Spec,
    [property: Id(1)] long Version,
    [property: Id(2)] float[] Theta,
    [property: Id(3)] float[] Phi,
    [property: Id(4)] byte[] State);

/// <summary>The block's [T, M] rollout (the arrays of a <see cref="RolloutBuffer"/>), the episodes that ended in it with
/// their (step, copy within the block), the version that acted, and the block's state after it.</summary>
[GenerateSerializer, Immutable]
public sealed record RolloutBlockResult(
    [property: Id(0)] long Version,
    [property: Id(1)] float[] Observations,
    [property: Id(2)] int[] DiscreteActions,
    [property: Id(3)] float[] ContinuousActions,
    [property: Id(4)] float[] Rewards,
    [property: Id(5)] bool[] Terminated,
    [property: Id(6)] bool[] Truncated,
    [property: Id(7)] float[] LogProbs,
    [property: Id(8)] int[] TimeSteps,
    [property: Id(9)] float[] Values,
    [property: Id(10)] float[] FinalObservations,
    [property: Id(11)] float[] LastObservations,
    [property: Id(12)] double[] EpisodeReturns,
    [property: Id(13)] int[] EpisodeLengths,
    [property: Id(14)] int[] EpisodeSteps,
    [property: Id(15)] int[] EpisodeCopies,
    [property: Id(16)] byte[] State)
{
    /// <summary>Writes the rollout into <paramref name="block"/> (a [T, M] buffer of the request's spec), naming any
    /// array whose length does not fit.</summary>
    public void CopyTo(RolloutBuffer block)
    {
        ArgumentNullException.ThrowIfNull(block);
        Fill(Observations, block.Observations, nameof(Observations));
        Fill(DiscreteActions, block.DiscreteActions, nameof(DiscreteActions));
        Fill(ContinuousActions, block.ContinuousActions, nameof(ContinuousActions));
        Fill(Rewards, block.Rewards, nameof(Rewards));
        Fill(Terminated, block.Terminated, nameof(Terminated));
        Fill(Truncated, block.Truncated, nameof(Truncated));
        Fill(LogProbs, block.LogProbs, nameof(LogProbs));
        Fill(TimeSteps, block.TimeSteps, nameof(TimeSteps));
        Fill(Values, block.Values, nameof(Values));
        Fill(FinalObservations, block.FinalObservations, nameof(FinalObservations));
        Fill(LastObservations, block.LastObservations, nameof(LastObservations));
        int e = EpisodeReturns.Length;
        if (EpisodeLengths.Length != e || EpisodeSteps.Length != e || EpisodeCopies.Length != e)
            throw new InvalidDataException($"A rollout block lists {e} episode returns but {EpisodeLengths.Length} lengths, {EpisodeSteps.Length} steps and {EpisodeCopies.Length} copies.");
        block.Episodes.Clear();
        block.EpisodeEnds.Clear();
        for (int k = 0; k < e; k++)
        {
            block.Episodes.Add(new EpisodeStatistics(EpisodeReturns[k], EpisodeLengths[k]));
            block.EpisodeEnds.Add((EpisodeSteps[k], EpisodeCopies[k]));
        }
    }

    /// <summary>What a worker answers after collecting into <paramref name="shard"/>.</summary>
    public static RolloutBlockResult Of(long version, RolloutShard shard)
    {
        ArgumentNullException.ThrowIfNull(shard);
        var b = shard.Buffer;
        return new RolloutBlockResult(version, b.Observations.ToArray(), b.DiscreteActions.ToArray(), b.ContinuousActions.ToArray(), b.Rewards.ToArray(),
            b.Terminated.ToArray(), b.Truncated.ToArray(), b.LogProbs.ToArray(), b.TimeSteps.ToArray(), b.Values.ToArray(), b.FinalObservations.ToArray(),
            b.LastObservations.ToArray(), b.Episodes.Select(x => x.Return).ToArray(), b.Episodes.Select(x => x.Length).ToArray(),
            b.EpisodeEnds.Select(x => x.Step).ToArray(), b.EpisodeEnds.Select(x => x.Copy).ToArray(), Save(shard));
    }

    /// <summary>The bytes <see cref="RolloutShard.WriteState"/> writes: what travels with a block.</summary>
    internal static byte[] Save(RolloutShard shard)
    {
        using var state = new MemoryStream();
        using (var w = new BinaryWriter(state)) shard.WriteState(w);
        return state.ToArray();
    }

    private static void Fill<T>(T[] source, T[] target, string name)
    {
        if (source.Length != target.Length)
            throw new InvalidDataException($"A rollout block's {name} holds {source.Length} values where the block needs {target.Length}.");
        source.CopyTo(target, 0);
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
        if (request.Theta.Length != agent.Theta.Count || request.Phi.Length != agent.Phi.Count)
            throw new ArgumentException($"Version {request.Version} has {request.Theta.Length} policy and {request.Phi.Length} value parameters; the block's networks have {agent.Theta.Count} and {agent.Phi.Count}.");
        request.Theta.CopyTo(agent.Theta.Values);
        request.Phi.CopyTo(agent.Phi.Values);
        using (var r = new BinaryReader(new MemoryStream(request.State, writable: false))) shard.ReadState(r);
        shard.Collect(agent);
        return RolloutBlockResult.Of(request.Version, shard);
    }
}
