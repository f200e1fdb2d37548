using PurePg.Autodiff;
using PurePg.Envs;
using PurePg.Envs.Vector;
using PurePg.Rl.Algorithms;

namespace PurePg.Rl.Rollouts;

/// <summary>
/// Where an on-policy algorithm's rollouts come from: N environment copies, each with its own acting stream, stepped T
/// times under the agent's π_θ into a [T, N] <see cref="RolloutBuffer"/>. The algorithm is the same whatever the source:
/// <see cref="VectorEnvRolloutSource"/> steps a vector environment in this process; PurePg.Distributed's cluster source
/// has blocks of copies stepped by worker grains. Every source gives copy i the environment seed s + i and the acting
/// stream <see cref="RolloutShard.ActingStream"/>(s, i), and acts on a batch-invariant tape, so copy i's trajectory is
/// the same bits whichever source steps it and whichever copies it is batched with.
/// </summary>
public interface IRolloutSource
{
    /// <summary>N, the number of copies.</summary>
    int NumEnvs { get; }

    /// <summary>T, the steps per copy per rollout.</summary>
    int StepsPerEnv { get; }

    /// <summary>One copy's observation space.</summary>
    Box SingleObservationSpace { get; }

    /// <summary>One copy's action space.</summary>
    Space SingleActionSpace { get; }

    /// <summary>The rollout <see cref="Collect(ActorCritic)"/> fills: [T, N], episodes in the order of their last steps (t, then i).</summary>
    RolloutBuffer Buffer { get; }

    /// <summary>Resets every copy: copy i's environment with seed s + i, its acting stream to ActingStream(s, i), its running
    /// episode statistics to zero.</summary>
    void Reset(long seed);

    /// <summary>T steps of every copy with <paramref name="agent"/>'s π_θ (a_t ~ π_θ(·|s_t) from the copy's stream, log π_θ(a_t|s_t)
    /// and V_φ(s_t) recorded) into <see cref="Buffer"/>.</summary>
    void Collect(ActorCritic agent);

    /// <summary>As <see cref="Collect(ActorCritic)"/>; without <paramref name="values"/> the source may skip V_φ(s_t) and leave
    /// the buffer's values 0 (an algorithm that learns no critic saves a forward pass per step). By default it computes them.</summary>
    void Collect(ActorCritic agent, bool values) => Collect(agent);

    /// <summary>Writes every copy's state (environment, stream, running episode) for checkpoints.</summary>
    void WriteState(BinaryWriter writer);

    /// <summary>Restores what <see cref="WriteState"/> wrote, into a source built with the same environment and sizes.</summary>
    void ReadState(BinaryReader reader);
}

/// <summary>
/// A block of a run's copies, i = <see cref="First"/> … First + M − 1, in one process: a vector environment of M copies,
/// their acting streams, and the rollout buffer they fill. The unit both the local source and a cluster's rollout
/// workers step, so a copy's trajectory is computed by the same code wherever it runs.
/// </summary>
public sealed class RolloutShard
{
    private readonly Rng[] _streams;

    /// <summary>Copies <paramref name="firstCopy"/> … of a run, as the M copies of <paramref name="env"/>, stepping
    /// <paramref name="steps"/> T per rollout.</summary>
    public RolloutShard(VectorEnv env, int firstCopy, int steps)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentOutOfRangeException.ThrowIfNegative(firstCopy);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(steps);
        (Env, First) = (env, firstCopy);
        Buffer = new RolloutBuffer(steps, env.NumEnvs, env.ObservationSize, env.SingleActionSpace is Box b ? b.Size : 0);
        _streams = new Rng[env.NumEnvs];
        for (int j = 0; j < _streams.Length; j++) _streams[j] = new Rng(1);
    }

    /// <summary>The environment holding the block's copies.</summary>
    public VectorEnv Env { get; }

    /// <summary>The run's index of the block's first copy.</summary>
    public int First { get; }

    /// <summary>M, the copies in the block.</summary>
    public int Count => Env.NumEnvs;

    /// <summary>What the last <see cref="Collect(ActorCritic)"/> recorded, [T, M].</summary>
    public RolloutBuffer Buffer { get; }

    /// <summary>How N copies split into <paramref name="blocks"/> contiguous blocks, sizes differing by at most one (the first
    /// N mod W one larger): each block's first copy and size, in copy order. What every block-stepping source uses.</summary>
    /// <exception cref="ArgumentException">More blocks than copies.</exception>
    public static (int First, int Count)[] Blocks(int numEnvs, int blocks)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numEnvs);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(blocks);
        if (blocks > numEnvs) throw new ArgumentException($"{blocks} blocks (workers) for {numEnvs} environment copies: each steps at least one copy.", nameof(blocks));
        var result = new (int, int)[blocks];
        for (int w = 0, first = 0; w < blocks; w++)
        {
            int m = numEnvs / blocks + (w < numEnvs % blocks ? 1 : 0);
            result[w] = (first, m);
            first += m;
        }
        return result;
    }

    /// <summary>The acting stream of copy <paramref name="copy"/> of a run seeded <paramref name="seed"/>: a generator seeded
    /// with a SplitMix64 hash of (s, i), so streams of different copies and seeds do not overlap in practice and copy i's
    /// is known without the others'.</summary>
    public static Rng ActingStream(long seed, int copy)
    {
        ulong z = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + ((ulong)copy + 1) * 0xD1B54A32D192ED03UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return new Rng(z ^ (z >> 31));
    }

    /// <summary>Resets the block as copies First … of a run seeded <paramref name="seed"/>: environment seeds s + First + j,
    /// streams ActingStream(s, First + j), running episodes zero.</summary>
    public void Reset(long seed)
    {
        SettingsChecks.Seed(seed);
        Env.Reset(seed + First);
        for (int j = 0; j < _streams.Length; j++) _streams[j] = ActingStream(seed, First + j);
        Buffer.ClearRunningEpisodes();
    }

    /// <summary>T steps of the block with <paramref name="agent"/>, each copy sampling from its own stream on the agent's
    /// batch-invariant acting tape.</summary>
    public void Collect(ActorCritic agent)
    {
        ArgumentNullException.ThrowIfNull(agent);
        if (agent.ObservationSize != Env.ObservationSize)
            throw new ArgumentException($"The agent takes {agent.ObservationSize} features; the environment gives {Env.ObservationSize}.", nameof(agent));
        Buffer.Collect(Env, (obs, d, c, lp, v) => agent.Act(obs, _streams, d, c, lp, v));
    }

    /// <summary>As <see cref="Collect(ActorCritic)"/> on <paramref name="tape"/> (batch-invariant, of the calling thread),
    /// computing V_φ(s_t) only when <paramref name="values"/> (else the buffer's values are 0).</summary>
    public void Collect(ActorCritic agent, Tape<float> tape, bool values)
    {
        ArgumentNullException.ThrowIfNull(agent);
        if (agent.ObservationSize != Env.ObservationSize)
            throw new ArgumentException($"The agent takes {agent.ObservationSize} features; the environment gives {Env.ObservationSize}.", nameof(agent));
        Buffer.Collect(Env, (obs, d, c, lp, v) =>
        {
            if (!values) v.Clear();
            agent.Act(tape, obs, _streams, d, c, lp, values ? v : default);
        });
    }

    /// <summary>Writes the streams, the running episodes and the environment.</summary>
    public void WriteState(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(_streams.Length);
        foreach (var s in _streams) Training.StateIo.WriteRng(writer, s);
        Buffer.WriteState(writer);
        Env.WriteState(writer);
    }

    /// <summary>Restores what <see cref="WriteState"/> wrote, naming a block of another size.</summary>
    public void ReadState(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        int n = reader.ReadInt32();
        if (n != _streams.Length) throw new InvalidDataException($"The saved rollout state is for {n} environment copies; this block has {_streams.Length}.");
        foreach (var s in _streams) Training.StateIo.ReadRng(reader, s);
        Buffer.ReadState(reader);
        Env.ReadState(reader);
    }
}

/// <summary>The local source: every copy in one <see cref="VectorEnv"/> of this process, one <see cref="RolloutShard"/>
/// holding all N.</summary>
public sealed class VectorEnvRolloutSource : IRolloutSource
{
    private readonly RolloutShard _shard;

    /// <summary>Rollouts of <paramref name="stepsPerEnv"/> steps of <paramref name="env"/>'s copies.</summary>
    public VectorEnvRolloutSource(VectorEnv env, int stepsPerEnv) => _shard = new RolloutShard(env, 0, stepsPerEnv);

    /// <summary>The environment.</summary>
    public VectorEnv Env => _shard.Env;

    /// <inheritdoc/>
    public int NumEnvs => _shard.Count;

    /// <inheritdoc/>
    public int StepsPerEnv => _shard.Buffer.Steps;

    /// <inheritdoc/>
    public Box SingleObservationSpace => Env.SingleObservationSpace;

    /// <inheritdoc/>
    public Space SingleActionSpace => Env.SingleActionSpace;

    /// <inheritdoc/>
    public RolloutBuffer Buffer => _shard.Buffer;

    /// <inheritdoc/>
    public void Reset(long seed) => _shard.Reset(seed);

    /// <inheritdoc/>
    public void Collect(ActorCritic agent) => _shard.Collect(agent);

    /// <inheritdoc/>
    public void Collect(ActorCritic agent, bool values) => _shard.Collect(agent, _tape, values);

    private readonly Tape<float> _tape = new() { BatchInvariant = true };

    /// <inheritdoc/>
    public void WriteState(BinaryWriter writer) => _shard.WriteState(writer);

    /// <inheritdoc/>
    public void ReadState(BinaryReader reader) => _shard.ReadState(reader);
}

/// <summary>
/// The local source on several threads: N copies in W contiguous blocks (<see cref="RolloutShard.Blocks"/>), each a
/// <see cref="RolloutShard"/> with its own vector environment and batch-invariant acting tape, stepped at once on W threads
/// and assembled by copy index. The rollout is the same bits as <see cref="VectorEnvRolloutSource"/>'s on the same N copies
/// (copy i: seed s + i, stream ActingStream(s, i)), whatever W — a seed fixes the run on any number of threads.
/// </summary>
public sealed class ParallelRolloutSource : IRolloutSource
{
    private readonly RolloutShard[] _shards;
    private readonly Tape<float>[] _tapes;

    /// <summary>N = <paramref name="numEnvs"/> copies stepped <paramref name="stepsPerEnv"/> T per rollout on
    /// <paramref name="threads"/> W threads; <paramref name="makeEnv"/>(M) makes a vector environment of M copies (every
    /// block's from the same id and settings).</summary>
    /// <exception cref="ArgumentException">More threads than copies, or a block's environment of the wrong size.</exception>
    public ParallelRolloutSource(Func<int, VectorEnv> makeEnv, int numEnvs, int stepsPerEnv, int threads)
    {
        ArgumentNullException.ThrowIfNull(makeEnv);
        var blocks = RolloutShard.Blocks(numEnvs, threads);
        _shards = blocks.Select(b =>
        {
            var env = makeEnv(b.Count);
            if (env.NumEnvs != b.Count) throw new ArgumentException($"makeEnv({b.Count}) made {env.NumEnvs} copies.", nameof(makeEnv));
            return new RolloutShard(env, b.First, stepsPerEnv);
        }).ToArray();
        _tapes = _shards.Select(_ => new Tape<float> { BatchInvariant = true }).ToArray();
        var first = _shards[0].Env;
        Buffer = new RolloutBuffer(stepsPerEnv, numEnvs, first.ObservationSize, first.SingleActionSpace is Box b ? b.Size : 0);
        NumEnvs = numEnvs;
    }

    /// <inheritdoc/>
    public int NumEnvs { get; }

    /// <summary>W, the threads (blocks).</summary>
    public int Threads => _shards.Length;

    /// <inheritdoc/>
    public int StepsPerEnv => Buffer.Steps;

    /// <inheritdoc/>
    public Box SingleObservationSpace => _shards[0].Env.SingleObservationSpace;

    /// <inheritdoc/>
    public Space SingleActionSpace => _shards[0].Env.SingleActionSpace;

    /// <inheritdoc/>
    public RolloutBuffer Buffer { get; }

    /// <inheritdoc/>
    public void Reset(long seed)
    {
        foreach (var shard in _shards) shard.Reset(seed);
    }

    /// <inheritdoc/>
    public void Collect(ActorCritic agent) => Collect(agent, values: true);

    /// <inheritdoc/>
    public void Collect(ActorCritic agent, bool values)
    {
        ArgumentNullException.ThrowIfNull(agent);
        if (_shards.Length == 1) _shards[0].Collect(agent, _tapes[0], values);
        else Parallel.For(0, _shards.Length, new ParallelOptions { MaxDegreeOfParallelism = _shards.Length }, w => _shards[w].Collect(agent, _tapes[w], values));
        Buffer.BeginBlocks();
        foreach (var shard in _shards) Buffer.CopyBlock(shard.Buffer, shard.First);
        Buffer.EndBlocks();
    }

    /// <inheritdoc/>
    public void WriteState(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        foreach (var shard in _shards) shard.WriteState(writer);
    }

    /// <inheritdoc/>
    public void ReadState(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        foreach (var shard in _shards) shard.ReadState(reader);
    }
}
