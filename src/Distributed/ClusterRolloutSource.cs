using PurePg.Autodiff.Modules;
using PurePg.Envs;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Rollouts;

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
    private readonly ClusterBlocks _blocks;
    private long _version;

    /// <summary>Rollouts of <paramref name="stepsPerEnv"/> steps of <paramref name="numEnvs"/> copies of
    /// <paramref name="envId"/> on grains 0 … <paramref name="workers"/> − 1 of <paramref name="grains"/> (a cluster
    /// client), for networks of <paramref name="hiddenSizes"/> and <paramref name="activation"/> (the algorithm's).</summary>
    /// <exception cref="ArgumentException">An unknown environment id, or more workers than copies.</exception>
    public ClusterRolloutSource(IGrainFactory grains, string envId, int numEnvs, int stepsPerEnv, int[] hiddenSizes, Activation activation, int workers,
        WorkerCallOptions? options = null)
    {
        _blocks = new ClusterBlocks(grains, envId, numEnvs, stepsPerEnv, workers, hiddenSizes, activation, options);
        (NumEnvs, StepsPerEnv) = (numEnvs, stepsPerEnv);
        Buffer = new RolloutBuffer(stepsPerEnv, numEnvs, SingleObservationSpace.Size, _blocks.ActionSize);
    }

    /// <inheritdoc/>
    public int NumEnvs { get; }

    /// <inheritdoc/>
    public int StepsPerEnv { get; }

    /// <inheritdoc/>
    public Box SingleObservationSpace => _blocks.ObservationSpace;

    /// <inheritdoc/>
    public Space SingleActionSpace => _blocks.ActionSpace;

    /// <inheritdoc/>
    public RolloutBuffer Buffer { get; }

    /// <summary>W, the workers (blocks of copies).</summary>
    public int Workers => _blocks.Specs.Length;

    /// <summary>The policy version the last rollout acted with (1 for the first rollout; 0 before it).</summary>
    public long Version => _version;

    /// <summary>Requests sent again after a loss, over the source's life.</summary>
    public int Retries => _blocks.Retries;

    /// <inheritdoc/>
    public void Reset(long seed)
    {
        _blocks.Reset(seed);
        _version = 0;
    }

    /// <inheritdoc/>
    public void Collect(ActorCritic agent)
    {
        ArgumentNullException.ThrowIfNull(agent);
        _blocks.EnsureReset("Collect");
        long version = ++_version;
        byte[] parameters = RolloutBlockRequest.PackParameters(agent);
        var answers = Task.WhenAll(Enumerable.Range(0, Workers).Select(w => _blocks.Send(w, version, parameters))).GetAwaiter().GetResult();
        Buffer.BeginBlocks();
        for (int w = 0; w < Workers; w++)
        {
            answers[w].CopyTo(_blocks.Buffers[w]);
            Buffer.CopyBlock(_blocks.Buffers[w], _blocks.Specs[w].FirstCopy);
        }
        Buffer.EndBlocks();
        for (int w = 0; w < Workers; w++) _blocks.States[w] = answers[w].State; // only once every block has answered
    }

    /// <inheritdoc/>
    public void WriteState(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(_version);
        _blocks.WriteStates(writer);
    }

    /// <inheritdoc/>
    public void ReadState(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        long version = reader.ReadInt64();
        _blocks.ReadStates(reader);
        _version = version;
    }
}
