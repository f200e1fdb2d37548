using PurePg.Envs.Random;

namespace PurePg.Envs.ClassicControl;

/// <summary>
/// MountainCarContinuous-v0 exactly as Gymnasium 1.x's <c>Continuous_MountainCarEnv</c>: force f = clip(a, −1, 1);
/// v ← clip(v + 0.0015 f − 0.0025 cos(3x), ±0.07), x ← clip(x + v, −1.2, 0.6), v ← 0 at the left wall moving left.
/// Reward −0.1 a² per step (of the unclipped action, as Gymnasium computes it) plus 100 on reaching x ≥ 0.45 with
/// v ≥ 0, which terminates; truncated at 999 steps when made by id. s₀: x ~ U(−0.6, −0.4), v = 0.
/// Gymnasium stores the state as float32 after every step (float64 after reset), so most of its arithmetic runs in
/// float32 under NumPy 2's promotion rules (NEP 50); this class follows those types operation by operation. Under NumPy 1's
/// legacy rules (<see cref="GymNumerics.NumPy1"/>) a Python float or int meeting a float32 scalar makes the operation
/// float64, so the same source computes in float64 until each step's result is stored as float32.
/// State: (x, v).
/// </summary>
public sealed class MountainCarContinuous : Env
{
    const double MinPosition = -1.2, MaxPosition = 0.6, MaxSpeed = 0.07, GoalPosition = 0.45, Power = 0.0015;
    readonly NpScalar.Kind _pythonNumber;
    NpScalar _position, _velocity;

    /// <summary>Creates the environment (no time limit; <see cref="EnvRegistry.Make"/> applies the 999-step one), computing
    /// as Gymnasium does under <paramref name="numerics"/>.</summary>
    public MountainCarContinuous(GymNumerics numerics = GymNumerics.NumPy2)
        : base(new Box([(float)MinPosition, (float)-MaxSpeed], [(float)MaxPosition, (float)MaxSpeed]), Box.Uniform(1, -1f, 1f))
    {
        // NumPy 1's legacy promotion treats a Python number met by a NumPy scalar as float64 (an int as int64, which
        // float32 also promotes to float64); NumPy 2's treats it as weak
        _pythonNumber = numerics == GymNumerics.NumPy1 ? NpScalar.Kind.Float64 : NpScalar.Kind.Python;
    }

    NpScalar Py(double value) => NpScalar.Of(value, _pythonNumber);
    static NpScalar F32(float value) => NpScalar.F32(value);
    static NpScalar F64(double value) => NpScalar.F64(value);

    /// <inheritdoc/>
    public override int StateLength => 2;

    /// <inheritdoc/>
    protected override void ResetCore(NumpyRandom random, Span<float> observation)
    {
        _position = F64(random.Uniform(-0.6, -0.4));
        _velocity = F64(0);
        Observe(observation);
    }

    /// <inheritdoc/>
    protected override (double Reward, bool Terminated) StepCore(ReadOnlySpan<float> action, NumpyRandom random, Span<float> observation)
    {
        NpScalar position = _position, velocity = _velocity, a = F32(action[0]);
        // force = min(max(action[0], min_action), max_action) with Python's builtins
        NpScalar force = Py(-1.0) > a ? Py(-1.0) : a;
        force = Py(1.0) < force ? Py(1.0) : force;

        velocity += force * Py(Power) - Py(0.0025) * Py(Math.Cos((Py(3) * position).Value));
        if (velocity > Py(MaxSpeed)) velocity = Py(MaxSpeed);
        if (velocity < Py(-MaxSpeed)) velocity = Py(-MaxSpeed);
        position += velocity;
        if (position > Py(MaxPosition)) position = Py(MaxPosition);
        if (position < Py(MinPosition)) position = Py(MinPosition);
        if (position.EqualsNumerically(Py(MinPosition)) && velocity < Py(0)) velocity = Py(0);

        bool terminated = position >= Py(GoalPosition) && velocity >= Py(0);
        double reward = terminated ? 100.0 : 0.0;
        reward -= Math.Pow(action[0], 2) * 0.1;

        _position = F32((float)position.Value);
        _velocity = F32((float)velocity.Value);
        Observe(observation);
        return (reward, terminated);
    }

    void Observe(Span<float> observation)
    {
        observation[0] = (float)_position.Value;
        observation[1] = (float)_velocity.Value;
    }

    /// <inheritdoc/>
    protected override void GetStateCore(Span<double> state) => (state[0], state[1]) = (_position.Value, _velocity.Value);

    /// <inheritdoc/>
    protected override void WriteInternalState(BinaryWriter writer)
    {
        writer.Write(_position.Value); writer.Write((byte)_position.Type);
        writer.Write(_velocity.Value); writer.Write((byte)_velocity.Type);
    }

    /// <inheritdoc/>
    protected override void ReadInternalState(BinaryReader reader)
    {
        _position = NpScalar.Of(reader.ReadDouble(), (NpScalar.Kind)reader.ReadByte());
        _velocity = NpScalar.Of(reader.ReadDouble(), (NpScalar.Kind)reader.ReadByte());
    }

    /// <summary>Sets (x, v) as a float64 state, as assigning a float64 array to Gymnasium's <c>state</c> does.</summary>
    protected override void SetStateCore(ReadOnlySpan<double> state, Span<float> observation)
    {
        (_position, _velocity) = (F64(state[0]), F64(state[1]));
        Observe(observation);
    }
}
