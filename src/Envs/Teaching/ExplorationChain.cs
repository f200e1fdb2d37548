using PurePg.Envs.Random;

namespace PurePg.Envs.Teaching;

/// <summary>Where an <see cref="ExplorationChain"/> episode starts.</summary>
public enum ChainStart
{
    /// <summary>Always at s₀, the far end from the reward.</summary>
    FirstState,

    /// <summary>Uniformly along the chain, s ~ U{0, …, H − 1}: the lectures' remedy, a wider start distribution.</summary>
    UniformAlongChain,
}

/// <summary>
/// The exploration chain (a combination lock) of length H: states 0 … H, one correct action per state. The correct
/// action moves s → s + 1, any other sends the agent back to s₀. Reaching s = H gives reward 1 and terminates. The
/// horizon is H steps: the H-th step ends the episode (terminated — the horizon is part of this finite-horizon problem,
/// not a time limit to bootstrap across). From s₀ the only rewarded behaviour is the correct action H times in a row,
/// so a uniformly random policy is rewarded with probability exactly (1/|A|)^H.
/// Observation: the one-hot state (H + 1 floats).
/// </summary>
public sealed class ExplorationChain : Env
{
    readonly int[] _correct;
    int _state;

    /// <summary>A chain of <paramref name="length"/> H with <paramref name="numActions"/> actions; the correct action of each
    /// state is drawn from <paramref name="lockSeed"/>.</summary>
    public ExplorationChain(int length, int numActions = 2, ChainStart start = ChainStart.FirstState, int lockSeed = 0)
        : base(Box.Uniform(ValidLength(length) + 1, 0f, 1f), new Discrete(numActions))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numActions, 2);
        Length = length;
        NumActions = numActions;
        Start = start;
        var random = new NumpyRandom(lockSeed);
        _correct = new int[length];
        for (int s = 0; s < length; s++) _correct[s] = random.NextInt(numActions);
    }

    static int ValidLength(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        return length;
    }

    /// <summary>H: the number of states before the goal, and the horizon.</summary>
    public int Length { get; }

    /// <summary>|A|.</summary>
    public int NumActions { get; }

    /// <summary>The start distribution.</summary>
    public ChainStart Start { get; }

    /// <summary>The action that moves state <paramref name="state"/> forward.</summary>
    public int CorrectAction(int state) => _correct[state];

    /// <summary>The current state index.</summary>
    public int State => _state;

    /// <summary>(1/|A|)^H: the probability that a uniformly random policy started at s₀ reaches the goal.</summary>
    public double RandomPolicyHitProbabilityFromFirstState => Math.Pow(1.0 / NumActions, Length);

    /// <summary>The exact probability that a uniformly random policy reaches the goal within the horizon under this
    /// chain's start distribution, by dynamic programming over (step, state):
    /// p_h(s) = (1/|A|)·p_{h+1}(s+1) + (1 − 1/|A|)·p_{h+1}(0), p_h(H) = 1, p_H(s &lt; H) = 0.</summary>
    public double RandomPolicyHitProbability()
    {
        double q = 1.0 / NumActions;
        var next = new double[Length + 1];
        next[Length] = 1; // at the goal already
        for (int h = Length - 1; h >= 0; h--)
        {
            var current = new double[Length + 1];
            current[Length] = 1;
            for (int s = 0; s < Length; s++) current[s] = q * next[s + 1] + (1 - q) * next[0];
            next = current;
        }
        if (Start == ChainStart.FirstState) return next[0];
        double total = 0;
        for (int s = 0; s < Length; s++) total += next[s];
        return total / Length;
    }

    /// <inheritdoc/>
    protected override void ResetCore(NumpyRandom random, Span<float> observation)
    {
        _state = Start == ChainStart.FirstState ? 0 : random.NextInt(Length);
        Observe(observation);
    }

    /// <inheritdoc/>
    protected override (double Reward, bool Terminated) StepCore(int action, NumpyRandom random, Span<float> observation)
    {
        _state = action == _correct[_state] ? _state + 1 : 0;
        Observe(observation);
        bool reached = _state == Length;
        return (reached ? 1.0 : 0.0, reached || ElapsedSteps + 1 >= Length);
    }

    /// <inheritdoc/>
    protected override void WriteInternalState(BinaryWriter writer) => writer.Write(_state);

    /// <inheritdoc/>
    protected override void ReadInternalState(BinaryReader reader) => _state = reader.ReadInt32();

    void Observe(Span<float> observation)
    {
        observation.Clear();
        observation[_state] = 1;
    }
}
