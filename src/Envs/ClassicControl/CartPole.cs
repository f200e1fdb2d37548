using PurePg.Envs.Random;

namespace PurePg.Envs.ClassicControl;

/// <summary>
/// CartPole-v1 exactly as Gymnasium 1.x's <c>CartPoleEnv</c>: a pole on a cart, pushed left (action 0) or right (1)
/// with force 10. Euler integration with τ = 0.02 of
/// θ̈ = (g sin θ − cos θ·temp) / (l (4/3 − m_p cos²θ / M)), temp = (F + m_p l θ̇² sin θ)/M, ẍ = temp − m_p l θ̈ cos θ / M,
/// all in float64 with the same constants and order of operations; observations are the state rounded to float32.
/// Reward 1 on every step, including the terminating one. Terminates when |x| &gt; 2.4 or |θ| &gt; 12°; truncated at
/// 500 steps when made by id. s₀ ~ U(−0.05, 0.05)⁴. State: (x, ẋ, θ, θ̇).
/// </summary>
public sealed class CartPole : Env
{
    internal const double Gravity = 9.8, MassCart = 1.0, MassPole = 0.1, TotalMass = MassPole + MassCart;
    internal const double Length = 0.5, PoleMassLength = MassPole * Length, ForceMag = 10.0, Tau = 0.02;
    internal const double ThetaThreshold = 12 * 2 * Math.PI / 360, XThreshold = 2.4;

    double _x, _xDot, _theta, _thetaDot;

    readonly bool _suttonBartoReward;

    /// <summary>Creates the environment (no time limit; <see cref="EnvRegistry.Make"/> applies the 500-step one).
    /// With <paramref name="suttonBartoReward"/> (Gymnasium's <c>sutton_barto_reward=True</c>) the reward is 0 per step
    /// and −1 on the terminating step instead of 1 on every step.</summary>
    public CartPole(bool suttonBartoReward = false)
        : base(new Box(
                [(float)(-XThreshold * 2), float.NegativeInfinity, (float)(-ThetaThreshold * 2), float.NegativeInfinity],
                [(float)(XThreshold * 2), float.PositiveInfinity, (float)(ThetaThreshold * 2), float.PositiveInfinity]),
            new Discrete(2))
        => _suttonBartoReward = suttonBartoReward;

    /// <inheritdoc/>
    public override int StateLength => 4;

    /// <inheritdoc/>
    protected override void ResetCore(NumpyRandom random, Span<float> observation)
    {
        _x = random.Uniform(-0.05, 0.05);
        _xDot = random.Uniform(-0.05, 0.05);
        _theta = random.Uniform(-0.05, 0.05);
        _thetaDot = random.Uniform(-0.05, 0.05);
        Observe(observation);
    }

    /// <inheritdoc/>
    protected override (double Reward, bool Terminated) StepCore(int action, NumpyRandom random, Span<float> observation)
    {
        bool terminated = Dynamics(action, ref _x, ref _xDot, ref _theta, ref _thetaDot);
        Observe(observation);
        return (_suttonBartoReward ? (terminated ? -1.0 : 0.0) : 1.0, terminated);
    }

    /// <summary>One Euler step of Gymnasium's equations in its order of operations; returns whether the new state is
    /// terminal.</summary>
    internal static bool Dynamics(int action, ref double x, ref double xDot, ref double theta, ref double thetaDot)
    {
        var (sinTheta, cosTheta) = Math.SinCos(theta); // the same libm results as separate sin and cos (tested)
        return Integrate(action, sinTheta, cosTheta, ref x, ref xDot, ref theta, ref thetaDot);
    }

    /// <summary>The step given sin θ and cos θ. <see cref="Vector.CartPoleVectorEnv"/> runs the same operations four
    /// copies at a time.</summary>
    internal static bool Integrate(int action, double sinTheta, double cosTheta, ref double x, ref double xDot, ref double theta, ref double thetaDot)
    {
        double force = action == 1 ? ForceMag : -ForceMag;
        double temp = (force + PoleMassLength * (thetaDot * thetaDot) * sinTheta) / TotalMass;
        double thetaAcc = (Gravity * sinTheta - cosTheta * temp)
            / (Length * (4.0 / 3.0 - MassPole * (cosTheta * cosTheta) / TotalMass));
        double xAcc = temp - PoleMassLength * thetaAcc * cosTheta / TotalMass;
        x += Tau * xDot;
        xDot += Tau * xAcc;
        theta += Tau * thetaDot;
        thetaDot += Tau * thetaAcc;
        return x < -XThreshold || x > XThreshold || theta < -ThetaThreshold || theta > ThetaThreshold;
    }

    void Observe(Span<float> observation)
    {
        observation[0] = (float)_x;
        observation[1] = (float)_xDot;
        observation[2] = (float)_theta;
        observation[3] = (float)_thetaDot;
    }

    /// <inheritdoc/>
    protected override void GetStateCore(Span<double> state) => (state[0], state[1], state[2], state[3]) = (_x, _xDot, _theta, _thetaDot);

    /// <inheritdoc/>
    protected override void SetStateCore(ReadOnlySpan<double> state, Span<float> observation)
    {
        (_x, _xDot, _theta, _thetaDot) = (state[0], state[1], state[2], state[3]);
        Observe(observation);
    }
}
