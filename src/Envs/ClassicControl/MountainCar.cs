using PurePg.Envs.Random;

namespace PurePg.Envs.ClassicControl;

/// <summary>
/// MountainCar-v0 exactly as Gymnasium 1.x's <c>MountainCarEnv</c>: push left, none, right (actions 0, 1, 2).
/// v ← clip(v + (a − 1)·0.001 + cos(3x)·(−0.0025), −0.07, 0.07), x ← clip(x + v, −1.2, 0.6), and v ← 0 when the car
/// hits the left wall moving left. Reward −1 per step; terminates when x ≥ 0.5 and v ≥ 0; truncated at 200 steps when
/// made by id. s₀: x ~ U(−0.6, −0.4), v = 0. Observation and state: (x, v).
/// </summary>
public sealed class MountainCar : Env
{
    const double MinPosition = -1.2, MaxPosition = 0.6, MaxSpeed = 0.07, GoalPosition = 0.5, Force = 0.001, Gravity = 0.0025;
    double _position, _velocity;

    /// <summary>Creates the environment (no time limit; <see cref="EnvRegistry.Make"/> applies the 200-step one).</summary>
    public MountainCar()
        : base(new Box([(float)MinPosition, (float)-MaxSpeed], [(float)MaxPosition, (float)MaxSpeed]), new Discrete(3))
    {
    }

    /// <inheritdoc/>
    public override int StateLength => 2;

    /// <inheritdoc/>
    protected override void ResetCore(NumpyRandom random, Span<float> observation)
    {
        _position = random.Uniform(-0.6, -0.4);
        _velocity = 0;
        Observe(observation);
    }

    /// <inheritdoc/>
    protected override (double Reward, bool Terminated) StepCore(int action, NumpyRandom random, Span<float> observation)
    {
        double position = _position, velocity = _velocity;
        velocity += (action - 1) * Force + Math.Cos(3 * position) * (-Gravity);
        velocity = PythonMath.Clip(velocity, -MaxSpeed, MaxSpeed);
        position += velocity;
        position = PythonMath.Clip(position, MinPosition, MaxPosition);
        if (position == MinPosition && velocity < 0) velocity = 0;
        bool terminated = position >= GoalPosition && velocity >= 0;
        (_position, _velocity) = (position, velocity);
        Observe(observation);
        return (-1.0, terminated);
    }

    void Observe(Span<float> observation)
    {
        observation[0] = (float)_position;
        observation[1] = (float)_velocity;
    }

    /// <inheritdoc/>
    protected override void GetStateCore(Span<double> state) => (state[0], state[1]) = (_position, _velocity);

    /// <inheritdoc/>
    protected override void SetStateCore(ReadOnlySpan<double> state, Span<float> observation)
    {
        (_position, _velocity) = (state[0], state[1]);
        Observe(observation);
    }
}
