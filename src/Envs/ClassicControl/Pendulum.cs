using PurePg.Envs.Random;

namespace PurePg.Envs.ClassicControl;

/// <summary>
/// Pendulum-v1 exactly as Gymnasium 1.x's <c>PendulumEnv</c>: torque u ∈ [−2, 2] (clipped, as Gymnasium clips) swings a
/// pendulum up. θ̇ ← clip(θ̇ + (3g/(2l) sin θ + 3/(m l²) u)·dt, −8, 8), θ ← θ + θ̇·dt with dt = 0.05, g = 10, m = l = 1;
/// reward −(norm(θ)² + 0.1 θ̇² + 0.001 u²) with norm(θ) = ((θ + π) mod 2π) − π. Never terminates; truncated at 200 steps
/// when made by id. s₀: θ ~ U(−π, π), θ̇ ~ U(−1, 1). Observation (cos θ, sin θ, θ̇). State: (θ, θ̇).
/// The torque is float32 as Gymnasium's action space is; under NumPy 2's promotion rules (NEP 50, the default) the terms
/// NumPy computes in float32 (u², 0.001·u², 3·u) are computed in float32 here, and under NumPy 1's legacy rules
/// (<see cref="GymNumerics.NumPy1"/>) in float64, as each generation's Gymnasium does.
/// </summary>
public sealed class Pendulum : Env
{
    const double MaxSpeed = 8, MaxTorque = 2.0, Dt = 0.05, Mass = 1.0, LengthL = 1.0;
    readonly double _g;
    readonly GymNumerics _numerics;
    double _theta, _thetaDot;

    /// <summary>Creates the environment with gravity <paramref name="g"/> (Gymnasium's default 10), computing as Gymnasium
    /// does under <paramref name="numerics"/>.</summary>
    public Pendulum(double g = 10.0, GymNumerics numerics = GymNumerics.NumPy2)
        : base(new Box([-1f, -1f, -8f], [1f, 1f, 8f]), Box.Uniform(1, -2f, 2f))
    {
        if (!double.IsFinite(g)) throw new ArgumentOutOfRangeException(nameof(g), g, "Gravity must be finite.");
        _g = g;
        _numerics = numerics;
    }

    /// <inheritdoc/>
    public override int StateLength => 2;

    /// <inheritdoc/>
    protected override void ResetCore(NumpyRandom random, Span<float> observation)
    {
        _theta = random.Uniform(-Math.PI, Math.PI);
        _thetaDot = random.Uniform(-1.0, 1.0);
        Observe(observation);
    }

    /// <inheritdoc/>
    protected override (double Reward, bool Terminated) StepCore(ReadOnlySpan<float> action, NumpyRandom random, Span<float> observation)
    {
        double th = _theta, thDot = _thetaDot;
        float u = Math.Clamp(action[0], (float)-MaxTorque, (float)MaxTorque);
        // 0.001 * (u**2) and 3.0 / (m * l**2) * u: float32 under NumPy 2, float64 under NumPy 1's legacy promotion
        bool legacy = _numerics == GymNumerics.NumPy1;
        double torqueCost = legacy ? 0.001 * Math.Pow(u, 2) : 0.001f * MathF.Pow(u, 2);
        double torqueTerm = legacy ? 3.0 / (Mass * Math.Pow(LengthL, 2)) * u : (float)(3.0 / (Mass * Math.Pow(LengthL, 2))) * u;
        double costs = Math.Pow(AngleNormalize(th), 2) + 0.1 * Math.Pow(thDot, 2) + torqueCost;

        double newThDot = thDot + (3 * _g / (2 * LengthL) * Math.Sin(th) + torqueTerm) * Dt;
        newThDot = PythonMath.Clip(newThDot, -MaxSpeed, MaxSpeed);
        _theta = th + newThDot * Dt;
        _thetaDot = newThDot;
        Observe(observation);
        return (-costs, false);
    }

    /// <summary>((θ + π) mod 2π) − π with Python's floor modulo.</summary>
    internal static double AngleNormalize(double x) => PythonMath.FloorMod(x + Math.PI, 2 * Math.PI) - Math.PI;

    void Observe(Span<float> observation)
    {
        observation[0] = (float)Math.Cos(_theta);
        observation[1] = (float)Math.Sin(_theta);
        observation[2] = (float)_thetaDot;
    }

    /// <inheritdoc/>
    protected override void GetStateCore(Span<double> state) => (state[0], state[1]) = (_theta, _thetaDot);

    /// <inheritdoc/>
    protected override void SetStateCore(ReadOnlySpan<double> state, Span<float> observation)
    {
        (_theta, _thetaDot) = (state[0], state[1]);
        Observe(observation);
    }
}
