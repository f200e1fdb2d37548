namespace PurePg.Envs.Vector;

/// <summary>Gymnasium 1.x's names for what a vector environment does when a copy's episode ends.</summary>
public enum AutoresetMode
{
    /// <summary>Gymnasium's <c>AutoresetMode.SAME_STEP</c>: the copy is reset within the step that ended its episode.
    /// The step returns the new episode's first observation in <see cref="VectorEnv.Observations"/>, and the ended
    /// episode's last observation in <see cref="VectorEnv.FinalObservations"/> (Gymnasium's <c>info["final_obs"]</c>),
    /// with that episode's reward, terminated and truncated. This is the only mode PurePg implements: a rollout then
    /// never holds a transition that belongs to no episode.</summary>
    SameStep,
}

/// <summary>
/// N copies of an environment stepped in one call over structure-of-arrays buffers: observations [N, obsDim] row-major,
/// rewards [N], terminated [N], truncated [N], final observations [N, obsDim]. Finished copies are reset in the same
/// step (<see cref="AutoresetMode.SameStep"/>). Reset(seed) seeds copy i with seed + i, as Gymnasium's vector
/// environments do, so copies have distinct streams and copy i reproduces a single environment reset with seed + i.
/// The buffers are reused: read them before the next Step. Stepping allocates nothing.
/// </summary>
public abstract class VectorEnv
{
    readonly float[] _observations, _finalObservations, _rewards;
    readonly bool[] _terminated, _truncated;
    bool _wasReset;

    /// <summary>Creates the buffers for <paramref name="numEnvs"/> copies.</summary>
    protected VectorEnv(int numEnvs, Box singleObservationSpace, Space singleActionSpace)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numEnvs);
        NumEnvs = numEnvs;
        SingleObservationSpace = singleObservationSpace;
        SingleActionSpace = singleActionSpace;
        ObservationSize = singleObservationSpace.Size;
        _observations = new float[numEnvs * ObservationSize];
        _finalObservations = new float[numEnvs * ObservationSize];
        _rewards = new float[numEnvs];
        _terminated = new bool[numEnvs];
        _truncated = new bool[numEnvs];
    }

    /// <summary>N, the number of copies.</summary>
    public int NumEnvs { get; }

    /// <summary>The number of floats in one copy's observation.</summary>
    public int ObservationSize { get; }

    /// <summary>One copy's observation space.</summary>
    public Box SingleObservationSpace { get; }

    /// <summary>One copy's action space.</summary>
    public Space SingleActionSpace { get; }

    /// <summary>What happens when a copy's episode ends: always <see cref="AutoresetMode.SameStep"/>.</summary>
    public AutoresetMode AutoresetMode => AutoresetMode.SameStep;

    /// <summary>[N, obsDim]: each copy's current observation (after an autoreset, the new episode's first one).</summary>
    public ReadOnlySpan<float> Observations => _observations;

    /// <summary>[N, obsDim]: for copies whose episode ended in the last step, that episode's last observation
    /// (bootstrap V(s_final) from it when truncated); other rows hold stale data.</summary>
    public ReadOnlySpan<float> FinalObservations => _finalObservations;

    /// <summary>[N]: r_t of the last step, as float32 (what a rollout buffer stores).</summary>
    public ReadOnlySpan<float> Rewards => _rewards;

    /// <summary>[N]: the last step's rewards before any reward normalization a wrapper applies (what episode statistics
    /// should sum); the same as <see cref="Rewards"/> unless overridden.</summary>
    public virtual ReadOnlySpan<float> RawRewards => _rewards;

    /// <summary>[N]: whether the last step ended the copy's episode in a terminal state.</summary>
    public ReadOnlySpan<bool> Terminated => _terminated;

    /// <summary>[N]: whether the last step hit the time limit.</summary>
    public ReadOnlySpan<bool> Truncated => _truncated;

    /// <summary>Resets every copy; with a seed, copy i gets seed + i.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The seed is negative.</exception>
    public void Reset(long? seed = null)
    {
        if (seed is < 0) throw new ArgumentOutOfRangeException(nameof(seed), seed, "A seed must be a non-negative integer.");
        ResetCore(seed, _observations);
        _wasReset = true;
    }

    /// <summary>Steps every copy with its discrete action (actions[i] for copy i).</summary>
    /// <exception cref="InvalidOperationException">Never reset, or the action space is not discrete.</exception>
    /// <exception cref="ArgumentException">actions does not hold N elements, or one is out of range.</exception>
    public void Step(ReadOnlySpan<int> actions)
    {
        EnsureReset();
        if (SingleActionSpace is not Discrete discrete)
            throw new InvalidOperationException($"The action space is {SingleActionSpace}: pass float actions.");
        if (actions.Length != NumEnvs)
            throw new ArgumentException($"Expected {NumEnvs} actions (one per copy), got {actions.Length}.", nameof(actions));
        for (int i = 0; i < actions.Length; i++)
            if (!discrete.Contains(actions[i]))
                throw new ArgumentOutOfRangeException(nameof(actions), actions[i], $"actions[{i}] = {actions[i]} is not in {discrete}.");
        StepCore(actions, Buffers);
    }

    /// <summary>Steps every copy with its continuous action: actions is [N, actDim] row-major.</summary>
    /// <exception cref="ArgumentException">Wrong length, or a NaN or infinite element (named by copy and index).</exception>
    public void Step(ReadOnlySpan<float> actions)
    {
        EnsureReset();
        if (SingleActionSpace is not Box box)
            throw new InvalidOperationException($"The action space is {SingleActionSpace}: pass integer actions.");
        if (actions.Length != NumEnvs * box.Size)
            throw new ArgumentException($"Expected {NumEnvs}×{box.Size} = {NumEnvs * box.Size} action elements, got {actions.Length}.", nameof(actions));
        for (int i = 0; i < actions.Length; i++)
            if (!float.IsFinite(actions[i]))
                throw new ArgumentException($"The action of copy {i / box.Size}, element {i % box.Size}, is {actions[i]}; actions must be finite.", nameof(actions));
        StepCore(actions, Buffers);
    }

    void EnsureReset()
    {
        if (!_wasReset) throw new InvalidOperationException("Step called before Reset; call Reset() first.");
    }

    StepBuffers Buffers => new(_observations, _finalObservations, _rewards, _terminated, _truncated);

    /// <summary>The buffer behind <see cref="Observations"/>, for a wrapper that re-derives the current observations
    /// between steps (e.g. a normalizer whose statistics were replaced).</summary>
    protected Span<float> CurrentObservations => _observations;

    /// <summary>Writes the buffers and every copy's state (for checkpoints and exact resume).</summary>
    public void WriteState(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(_wasReset);
        WriteFloats(writer, _observations);
        WriteFloats(writer, _finalObservations);
        WriteFloats(writer, _rewards);
        foreach (bool b in _terminated) writer.Write(b);
        foreach (bool b in _truncated) writer.Write(b);
        WriteCopies(writer);
    }

    /// <summary>Restores what <see cref="WriteState"/> wrote.</summary>
    public void ReadState(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        _wasReset = reader.ReadBoolean();
        ReadFloats(reader, _observations);
        ReadFloats(reader, _finalObservations);
        ReadFloats(reader, _rewards);
        for (int i = 0; i < _terminated.Length; i++) _terminated[i] = reader.ReadBoolean();
        for (int i = 0; i < _truncated.Length; i++) _truncated[i] = reader.ReadBoolean();
        ReadCopies(reader);
    }

    /// <summary>Writes a float array with its length.</summary>
    protected static void WriteFloats(BinaryWriter writer, ReadOnlySpan<float> values)
    {
        writer.Write(values.Length);
        foreach (float v in values) writer.Write(v);
    }

    /// <summary>Reads a float array written by <see cref="WriteFloats"/> into a buffer of the same length.</summary>
    protected static void ReadFloats(BinaryReader reader, Span<float> values)
    {
        int n = reader.ReadInt32();
        if (n != values.Length) throw new InvalidDataException($"The saved state has {n} values where {values.Length} are expected (another environment or size).");
        for (int i = 0; i < n; i++) values[i] = reader.ReadSingle();
    }

    /// <summary>Writes the copies' own state.</summary>
    protected abstract void WriteCopies(BinaryWriter writer);

    /// <summary>Restores <see cref="WriteCopies"/>'s data.</summary>
    protected abstract void ReadCopies(BinaryReader reader);

    /// <summary>Resets every copy (copy i with seed + i when seeded) and writes the observations.</summary>
    protected abstract void ResetCore(long? seed, Span<float> observations);

    /// <summary>Steps every copy with validated discrete actions.</summary>
    protected virtual void StepCore(ReadOnlySpan<int> actions, StepBuffers buffers) => throw new NotSupportedException();

    /// <summary>Steps every copy with validated continuous actions.</summary>
    protected virtual void StepCore(ReadOnlySpan<float> actions, StepBuffers buffers) => throw new NotSupportedException();

    /// <summary>The output buffers of one step.</summary>
    protected readonly ref struct StepBuffers(Span<float> observations, Span<float> finalObservations, Span<float> rewards, Span<bool> terminated, Span<bool> truncated)
    {
        /// <summary>[N, obsDim].</summary>
        public Span<float> Observations { get; } = observations;
        /// <summary>[N, obsDim].</summary>
        public Span<float> FinalObservations { get; } = finalObservations;
        /// <summary>[N].</summary>
        public Span<float> Rewards { get; } = rewards;
        /// <summary>[N].</summary>
        public Span<bool> Terminated { get; } = terminated;
        /// <summary>[N].</summary>
        public Span<bool> Truncated { get; } = truncated;
    }
}

/// <summary>N independent <see cref="Env"/> copies stepped one after another (Gymnasium's <c>SyncVectorEnv</c> with
/// same-step autoreset). Works for every environment.</summary>
public sealed class SyncVectorEnv : VectorEnv
{
    readonly Env[] _envs;

    /// <summary>N copies made by <paramref name="make"/>.</summary>
    public SyncVectorEnv(Func<Env> make, int numEnvs)
        : this(MakeAll(make, numEnvs))
    {
    }

    /// <summary>N copies of a registered environment, each with its time limit.</summary>
    public SyncVectorEnv(string id, int numEnvs)
        : this(() => EnvRegistry.Make(id), numEnvs)
    {
    }

    SyncVectorEnv(Env[] envs)
        : base(envs.Length, envs[0].ObservationSpace, envs[0].ActionSpace) => _envs = envs;

    static Env[] MakeAll(Func<Env> make, int numEnvs)
    {
        ArgumentNullException.ThrowIfNull(make);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numEnvs);
        var envs = new Env[numEnvs];
        for (int i = 0; i < numEnvs; i++) envs[i] = make();
        return envs;
    }

    /// <summary>Copy i.</summary>
    public Env this[int index] => _envs[index];

    /// <inheritdoc/>
    protected override void ResetCore(long? seed, Span<float> observations)
    {
        for (int i = 0; i < _envs.Length; i++)
            _envs[i].Reset(seed + i).CopyTo(observations.Slice(i * ObservationSize, ObservationSize));
    }

    /// <inheritdoc/>
    protected override void StepCore(ReadOnlySpan<int> actions, StepBuffers buffers)
    {
        for (int i = 0; i < _envs.Length; i++)
        {
            var result = _envs[i].Step(actions[i]);
            Record(i, result, buffers);
        }
    }

    /// <inheritdoc/>
    protected override void StepCore(ReadOnlySpan<float> actions, StepBuffers buffers)
    {
        int size = actions.Length / _envs.Length;
        for (int i = 0; i < _envs.Length; i++)
        {
            var result = _envs[i].Step(actions.Slice(i * size, size));
            Record(i, result, buffers);
        }
    }

    /// <inheritdoc/>
    protected override void WriteCopies(BinaryWriter writer)
    {
        foreach (var env in _envs) env.WriteState(writer);
    }

    /// <inheritdoc/>
    protected override void ReadCopies(BinaryReader reader)
    {
        foreach (var env in _envs) env.ReadState(reader);
    }

    void Record(int i, StepResult result, StepBuffers buffers)
    {
        var row = buffers.Observations.Slice(i * ObservationSize, ObservationSize);
        buffers.Rewards[i] = (float)result.Reward;
        buffers.Terminated[i] = result.Terminated;
        buffers.Truncated[i] = result.Truncated;
        if (result.Terminated || result.Truncated)
        {
            result.Observation.CopyTo(buffers.FinalObservations.Slice(i * ObservationSize, ObservationSize));
            _envs[i].Reset().CopyTo(row);
        }
        else result.Observation.CopyTo(row);
    }
}
