using PurePg.Autodiff;
using PurePg.Envs;
using PurePg.Envs.Vector;
using PurePg.Rl.Algorithms;

namespace PurePg.Rl.Rollouts;

/// <summary>One block's rollout as an asynchronous learner receives it: [T, M] steps of copies
/// <paramref name="FirstCopy"/> … acted by the policy version <paramref name="Version"/>, which may be older than the
/// learner's.</summary>
public sealed record AsyncRollout(RolloutBuffer Buffer, int FirstCopy, long Version);

/// <summary>
/// Rollouts for an asynchronous learner (IMPALA, <see cref="Impala"/>): the N copies are split into W blocks, each
/// stepped T times by an actor that acts with whatever policy version it was last given and is given the learner's latest
/// when it starts its next rollout. The learner takes finished rollouts one at a time and corrects for the lag
/// (version now − version that acted) with V-trace.
/// </summary>
public interface IAsyncRolloutSource
{
    /// <summary>N, the copies.</summary>
    int NumEnvs { get; }

    /// <summary>T, the steps per copy per rollout (the unroll length).</summary>
    int StepsPerEnv { get; }

    /// <summary>W, the blocks (actors).</summary>
    int Blocks { get; }

    /// <summary>One copy's observation space.</summary>
    Box SingleObservationSpace { get; }

    /// <summary>One copy's action space.</summary>
    Space SingleActionSpace { get; }

    /// <summary>Resets every copy (copy i: environment seed s + i, acting stream ActingStream(s, i)); no rollout is under way.</summary>
    void Reset(long seed);

    /// <summary>Gives <paramref name="agent"/>'s θ and φ, as policy version <paramref name="version"/>, to every actor that is
    /// idle (starting its next rollout with them), then waits for and returns the next finished rollout.</summary>
    AsyncRollout Next(ActorCritic agent, long version);
}

/// <summary>
/// W actors in this process with a fixed lag, deterministically: the blocks take turns, and a block that has just been
/// handed to the learner starts its next rollout with the version the learner has at its next call — so in steady state
/// every rollout was acted W − 1 versions before the learner uses it, as W equally fast asynchronous actors would. A seed
/// fixes the run. The in-process stand-in for a cluster's asynchronous workers, and a way to study V-trace's correction
/// at a known lag.
/// </summary>
public sealed class LaggedRolloutSource : IAsyncRolloutSource
{
    private readonly RolloutShard[] _blocks;
    private readonly ActorCritic[] _actors;
    private readonly long[] _versions;
    private readonly bool[] _idle;
    private int _turn;

    /// <summary>N = Σ copies of W blocks made by <paramref name="makeEnv"/> (given a block's copies), split as evenly as possible,
    /// each stepping <paramref name="stepsPerEnv"/> per rollout with networks of <paramref name="hiddenSizes"/>.</summary>
    public LaggedRolloutSource(Func<int, VectorEnv> makeEnv, int numEnvs, int stepsPerEnv, int blocks, int[] hiddenSizes, Autodiff.Modules.Activation activation)
    {
        ArgumentNullException.ThrowIfNull(makeEnv);
        var layout = RolloutShard.Blocks(numEnvs, blocks);
        _blocks = new RolloutShard[blocks];
        _actors = new ActorCritic[blocks];
        for (int w = 0; w < blocks; w++)
        {
            _blocks[w] = new RolloutShard(makeEnv(layout[w].Count), layout[w].First, stepsPerEnv);
            _actors[w] = new ActorCritic(_blocks[w].Env.SingleObservationSpace, _blocks[w].Env.SingleActionSpace, hiddenSizes, activation, 0, new Rng(1));
        }
        (NumEnvs, StepsPerEnv) = (numEnvs, stepsPerEnv);
        _versions = new long[blocks];
        _idle = new bool[blocks];
        Array.Fill(_idle, true);
    }

    /// <inheritdoc/>
    public int NumEnvs { get; }

    /// <inheritdoc/>
    public int StepsPerEnv { get; }

    /// <inheritdoc/>
    public int Blocks => _blocks.Length;

    /// <inheritdoc/>
    public Box SingleObservationSpace => _blocks[0].Env.SingleObservationSpace;

    /// <inheritdoc/>
    public Space SingleActionSpace => _blocks[0].Env.SingleActionSpace;

    /// <inheritdoc/>
    public void Reset(long seed)
    {
        foreach (var b in _blocks) b.Reset(seed);
        Array.Fill(_idle, true);
        _turn = 0;
    }

    /// <inheritdoc/>
    public AsyncRollout Next(ActorCritic agent, long version)
    {
        ArgumentNullException.ThrowIfNull(agent);
        for (int w = 0; w < _blocks.Length; w++)
        {
            if (!_idle[w]) continue;
            agent.Theta.Values.CopyTo(_actors[w].Theta.Values);
            agent.Phi.Values.CopyTo(_actors[w].Phi.Values);
            _versions[w] = version;
            _idle[w] = false;
        }
        int b = _turn;
        _turn = (_turn + 1) % _blocks.Length;
        _blocks[b].Collect(_actors[b]);
        _idle[b] = true;
        return new AsyncRollout(_blocks[b].Buffer, _blocks[b].First, _versions[b]);
    }
}
