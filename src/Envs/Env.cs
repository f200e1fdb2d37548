using System.Runtime.InteropServices;
using PurePg.Envs.Random;

namespace PurePg.Envs;

/// <summary>
/// A Gymnasium environment in C# form: <see cref="Reset"/> returns s₀; <see cref="Step(int)"/> (discrete actions)
/// or <see cref="Step(ReadOnlySpan{float})"/> (Box actions) returns s_{t+1}, r_t, terminated, truncated.
/// The time limit is applied as Gymnasium's <c>TimeLimit</c> wrapper applies it: when the step count reaches
/// <see cref="MaxEpisodeSteps"/> the step reports truncated (and also terminated if the MDP terminated on it).
/// Unlike Gymnasium, stepping an episode that has ended is an error rather than a warning.
/// An environment belongs to one thread; stepping allocates nothing.
/// </summary>
public abstract class Env
{
    readonly float[] _observation;
    Phase _phase = Phase.NeverReset;
    int _elapsedSteps;

    enum Phase { NeverReset, Running, Terminated, Truncated }

    /// <summary>Creates an environment with the given spaces.</summary>
    protected Env(Box observationSpace, Space actionSpace)
    {
        ObservationSpace = observationSpace;
        ActionSpace = actionSpace;
        _observation = new float[observationSpace.Size];
    }

    /// <summary>The space observations belong to.</summary>
    public Box ObservationSpace { get; }

    /// <summary>The space actions belong to: <see cref="Discrete"/> or <see cref="Box"/>.</summary>
    public Space ActionSpace { get; }

    /// <summary>The id this environment was made from (<see cref="EnvRegistry.Make"/>), or its class name.</summary>
    public string Id { get; internal set; } = "";

    /// <summary>The time limit H (Gymnasium's <c>max_episode_steps</c>); null for none.</summary>
    public int? MaxEpisodeSteps
    {
        get;
        set
        {
            if (value is <= 0) throw new ArgumentOutOfRangeException(nameof(value), value, "A time limit must be positive.");
            field = value;
        }
    }

    /// <summary>Steps taken since the last reset.</summary>
    public int ElapsedSteps => _elapsedSteps;

    /// <summary>The current observation (the environment's own buffer).</summary>
    public ReadOnlySpan<float> Observation => _observation;

    /// <summary>The environment's random stream (Gymnasium's <c>np_random</c>); null until the first reset.</summary>
    public NumpyRandom? Random { get; private set; }

    string Name => Id.Length > 0 ? Id : GetType().Name;

    /// <summary>Starts an episode and returns s₀. With a seed, the random stream is re-seeded exactly as Gymnasium's
    /// <c>reset(seed=…)</c> does (same initial state as Gymnasium for the same seed); without one it continues (or,
    /// on the very first reset, is seeded from system entropy).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The seed is negative.</exception>
    public ReadOnlySpan<float> Reset(long? seed = null)
    {
        if (seed is long s)
        {
            if (s < 0) throw new ArgumentOutOfRangeException(nameof(seed), s, $"{Name}: a seed must be a non-negative integer.");
            Random = new NumpyRandom(s);
        }
        else Random ??= NumpyRandom.FromEntropy();
        ResetCore(Random, _observation);
        _elapsedSteps = 0;
        _phase = Phase.Running;
        return _observation;
    }

    /// <summary>Takes discrete action <paramref name="action"/>.</summary>
    /// <exception cref="InvalidOperationException">No episode is running (never reset, or it ended), or the action space is not discrete.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The action is not in the action space.</exception>
    public StepResult Step(int action)
    {
        EnsureRunning();
        if (ActionSpace is not Discrete discrete)
            throw new InvalidOperationException($"{Name} has action space {ActionSpace}: pass a float action, not the integer {action}.");
        if (!discrete.Contains(action))
            throw new ArgumentOutOfRangeException(nameof(action), action, $"{Name}: action {action} is not in {discrete}.");
        var (reward, terminated) = StepCore(action, Random!, _observation);
        return Finish(reward, terminated);
    }

    /// <summary>Takes continuous action <paramref name="action"/> (one float per action dimension). Out-of-range values
    /// are treated as the Gymnasium environment treats them (clipped where it clips); NaN or ±∞ is an error.</summary>
    /// <exception cref="InvalidOperationException">No episode is running, or the action space is discrete.</exception>
    /// <exception cref="ArgumentException">The action has the wrong length or a non-finite element.</exception>
    public StepResult Step(ReadOnlySpan<float> action)
    {
        EnsureRunning();
        if (ActionSpace is not Box box)
            throw new InvalidOperationException($"{Name} has action space {ActionSpace}: pass an integer action.");
        if (action.Length != box.Size)
            throw new ArgumentException($"{Name}: an action has {box.Size} element(s), got {action.Length}.", nameof(action));
        for (int i = 0; i < action.Length; i++)
            if (!float.IsFinite(action[i]))
                throw new ArgumentException($"{Name}: action[{i}] is {action[i]}; actions must be finite.", nameof(action));
        var (reward, terminated) = StepCore(action, Random!, _observation);
        return Finish(reward, terminated);
    }

    /// <summary>Takes a one-dimensional continuous action.</summary>
    public StepResult Step(float action) => Step(MemoryMarshal.CreateReadOnlySpan(ref action, 1));

    StepResult Finish(double reward, bool terminated)
    {
        _elapsedSteps++;
        bool truncated = _elapsedSteps >= MaxEpisodeSteps;
        _phase = terminated ? Phase.Terminated : truncated ? Phase.Truncated : Phase.Running;
        return new StepResult(_observation, reward, terminated, truncated);
    }

    void EnsureRunning()
    {
        switch (_phase)
        {
            case Phase.NeverReset:
                throw new InvalidOperationException($"{Name}: Step called before Reset; call Reset() to start an episode.");
            case Phase.Terminated:
                throw new InvalidOperationException($"{Name}: Step called after the episode terminated (at step {_elapsedSteps}); call Reset() first.");
            case Phase.Truncated:
                throw new InvalidOperationException($"{Name}: Step called after the episode was truncated at the time limit ({_elapsedSteps} steps); call Reset() first.");
        }
    }

    /// <summary>The length of the physical state (0 if the environment exposes none).</summary>
    public virtual int StateLength => 0;

    /// <summary>Copies the physical state (Gymnasium's <c>env.unwrapped.state</c>, float64) into <paramref name="state"/>.</summary>
    public void GetState(Span<double> state)
    {
        CheckStateLength(state.Length);
        GetStateCore(state);
    }

    /// <summary>Sets the physical state, as assigning <c>env.unwrapped.state</c> does, so a trajectory can be replayed from
    /// any state. The episode (and its step count) continues from there; the observation is refreshed.</summary>
    /// <exception cref="InvalidOperationException">The environment was never reset.</exception>
    public void SetState(ReadOnlySpan<double> state)
    {
        CheckStateLength(state.Length);
        if (_phase == Phase.NeverReset)
            throw new InvalidOperationException($"{Name}: call Reset() once before setting the state.");
        for (int i = 0; i < state.Length; i++)
            if (!double.IsFinite(state[i]))
                throw new ArgumentException($"{Name}: state[{i}] is {state[i]}; a state must be finite.", nameof(state));
        SetStateCore(state, _observation);
        _phase = Phase.Running;
    }

    void CheckStateLength(int length)
    {
        if (StateLength == 0) throw new NotSupportedException($"{Name} exposes no physical state.");
        if (length != StateLength)
            throw new ArgumentException($"{Name}: the state has {StateLength} elements, the span {length}.");
    }

    /// <summary>Writes everything that determines this environment's future: the episode's phase and step count, the
    /// random stream, the observation and the internal state (for checkpoints and exact resume).</summary>
    public void WriteState(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write((byte)_phase);
        writer.Write(_elapsedSteps);
        writer.Write(Random is not null);
        Random?.WriteState(writer);
        writer.Write(_observation.Length);
        foreach (float v in _observation) writer.Write(v);
        WriteInternalState(writer);
    }

    /// <summary>Restores what <see cref="WriteState"/> wrote (from an environment of the same kind and settings).</summary>
    public void ReadState(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        _phase = (Phase)reader.ReadByte();
        _elapsedSteps = reader.ReadInt32();
        if (reader.ReadBoolean()) Random = NumpyRandom.ReadState(reader);
        int n = reader.ReadInt32();
        if (n != _observation.Length) throw new InvalidDataException($"{Name}: the saved state has {n} observation features, this environment {_observation.Length}.");
        for (int i = 0; i < n; i++) _observation[i] = reader.ReadSingle();
        ReadInternalState(reader);
    }

    /// <summary>The environment's own state for <see cref="WriteState"/>; by default its physical state.</summary>
    protected virtual void WriteInternalState(BinaryWriter writer)
    {
        Span<double> state = stackalloc double[StateLength];
        if (StateLength > 0) GetStateCore(state);
        foreach (double v in state) writer.Write(v);
    }

    /// <summary>Restores <see cref="WriteInternalState"/>'s data.</summary>
    protected virtual void ReadInternalState(BinaryReader reader)
    {
        if (StateLength == 0) return;
        Span<double> state = stackalloc double[StateLength];
        for (int i = 0; i < state.Length; i++) state[i] = reader.ReadDouble();
        Span<float> scratch = stackalloc float[_observation.Length];
        _observation.CopyTo(scratch);
        SetStateCore(state, _observation);
        scratch.CopyTo(_observation); // keep the saved observation bit for bit
    }

    /// <summary>Draws s₀ from the initial-state distribution and writes its observation.</summary>
    protected abstract void ResetCore(NumpyRandom random, Span<float> observation);

    /// <summary>One transition for a discrete action: writes s_{t+1}'s observation, returns r_t and whether s_{t+1} is terminal.</summary>
    protected virtual (double Reward, bool Terminated) StepCore(int action, NumpyRandom random, Span<float> observation) =>
        throw new NotSupportedException();

    /// <summary>One transition for a continuous action (already checked finite and of the right length).</summary>
    protected virtual (double Reward, bool Terminated) StepCore(ReadOnlySpan<float> action, NumpyRandom random, Span<float> observation) =>
        throw new NotSupportedException();

    /// <summary>Copies the physical state.</summary>
    protected virtual void GetStateCore(Span<double> state) => throw new NotSupportedException();

    /// <summary>Sets the physical state and writes its observation.</summary>
    protected virtual void SetStateCore(ReadOnlySpan<double> state, Span<float> observation) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override string ToString() => $"{Name}(obs {ObservationSpace}, actions {ActionSpace})";
}
