using PurePg.Envs.Random;

namespace PurePg.Envs.ClassicControl;

/// <summary>
/// Acrobot-v1 exactly as Gymnasium 1.x's <c>AcrobotEnv</c> (the book dynamics): torque −1, 0 or +1 (actions 0, 1, 2) on
/// the joint between two links; one fourth-order Runge–Kutta step of dt = 0.2 of the book's equations, then θ₁, θ₂
/// wrapped to [−π, π] and θ̇₁, θ̇₂ bounded by 4π and 9π. Reward −1 per step and 0 on the terminating step; terminates
/// when −cos θ₁ − cos(θ₁ + θ₂) &gt; 1; truncated at 500 steps when made by id. s₀ ~ U(−0.1, 0.1)⁴ rounded to float32 (as
/// Gymnasium's reset does). Observation (cos θ₁, sin θ₁, cos θ₂, sin θ₂, θ̇₁, θ̇₂). State: (θ₁, θ₂, θ̇₁, θ̇₂).
/// Every <c>x**2</c> of the source is <see cref="Math.Pow(double, double)"/>, as NumPy evaluates it, so the
/// float64 arithmetic is operation for operation Gymnasium's.
/// </summary>
public sealed class Acrobot : Env
{
    const double Dt = 0.2, LinkLength1 = 1.0, LinkMass1 = 1.0, LinkMass2 = 1.0, LinkComPos1 = 0.5, LinkComPos2 = 0.5, LinkMoi = 1.0;
    const double MaxVel1 = 4 * Math.PI, MaxVel2 = 9 * Math.PI;
    static readonly double[] AvailableTorque = [-1.0, 0.0, 1.0];

    readonly double[] _s = new double[4];

    /// <summary>Creates the environment (no time limit; <see cref="EnvRegistry.Make"/> applies the 500-step one).</summary>
    public Acrobot()
        : base(new Box([-1f, -1f, -1f, -1f, (float)-MaxVel1, (float)-MaxVel2], [1f, 1f, 1f, 1f, (float)MaxVel1, (float)MaxVel2]),
            new Discrete(3))
    {
    }

    /// <inheritdoc/>
    public override int StateLength => 4;

    /// <inheritdoc/>
    protected override void ResetCore(NumpyRandom random, Span<float> observation)
    {
        for (int i = 0; i < 4; i++) _s[i] = (float)random.Uniform(-0.1, 0.1);
        // Gymnasium's state is a float32 array here, so NumPy takes float32 cos/sin (the C library's cosf/sinf, which MathF
        // calls); rounding the float64 cos to float32 differs in the last bit for some inputs (seen in the traces)
        for (int i = 0; i < 2; i++)
        {
            observation[2 * i] = MathF.Cos((float)_s[i]);
            observation[2 * i + 1] = MathF.Sin((float)_s[i]);
        }
        observation[4] = (float)_s[2];
        observation[5] = (float)_s[3];
    }

    /// <inheritdoc/>
    protected override (double Reward, bool Terminated) StepCore(int action, NumpyRandom random, Span<float> observation)
    {
        Span<double> y = stackalloc double[5];
        _s.CopyTo(y);
        y[4] = AvailableTorque[action];
        RungeKutta4(y);
        _s[0] = Wrap(y[0], -Math.PI, Math.PI);
        _s[1] = Wrap(y[1], -Math.PI, Math.PI);
        _s[2] = Bound(y[2], -MaxVel1, MaxVel1);
        _s[3] = Bound(y[3], -MaxVel2, MaxVel2);
        bool terminated = -Math.Cos(_s[0]) - Math.Cos(_s[1] + _s[0]) > 1.0;
        Observe(observation);
        return (terminated ? 0.0 : -1.0, terminated);
    }

    /// <summary>Gymnasium's <c>rk4</c> over t = [0, dt]: k₁…k₄ and y + dt/6·(k₁ + 2k₂ + 2k₃ + k₄), elementwise in that order.</summary>
    static void RungeKutta4(Span<double> y0)
    {
        const double dt = Dt - 0, dt2 = dt / 2.0;
        Span<double> k1 = stackalloc double[5], k2 = stackalloc double[5], k3 = stackalloc double[5], k4 = stackalloc double[5];
        Span<double> y = stackalloc double[5];
        Derivatives(y0, k1);
        for (int i = 0; i < 5; i++) y[i] = y0[i] + dt2 * k1[i];
        Derivatives(y, k2);
        for (int i = 0; i < 5; i++) y[i] = y0[i] + dt2 * k2[i];
        Derivatives(y, k3);
        for (int i = 0; i < 5; i++) y[i] = y0[i] + dt * k3[i];
        Derivatives(y, k4);
        for (int i = 0; i < 5; i++) y0[i] = y0[i] + dt / 6.0 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
    }

    /// <summary>The book's equations of motion (Gymnasium's <c>_dsdt</c>), term by term in the source's order.</summary>
    static void Derivatives(ReadOnlySpan<double> s, Span<double> ds)
    {
        const double m1 = LinkMass1, m2 = LinkMass2, l1 = LinkLength1, lc1 = LinkComPos1, lc2 = LinkComPos2;
        const double I1 = LinkMoi, I2 = LinkMoi, g = 9.8;
        double a = s[4], theta1 = s[0], theta2 = s[1], dtheta1 = s[2], dtheta2 = s[3];
        double d1 = m1 * Math.Pow(lc1, 2) + m2 * (Math.Pow(l1, 2) + Math.Pow(lc2, 2) + 2 * l1 * lc2 * Math.Cos(theta2)) + I1 + I2;
        double d2 = m2 * (Math.Pow(lc2, 2) + l1 * lc2 * Math.Cos(theta2)) + I2;
        double phi2 = m2 * lc2 * g * Math.Cos(theta1 + theta2 - Math.PI / 2.0);
        double phi1 = -m2 * l1 * lc2 * Math.Pow(dtheta2, 2) * Math.Sin(theta2)
            - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * Math.Sin(theta2)
            + (m1 * lc1 + m2 * l1) * g * Math.Cos(theta1 - Math.PI / 2)
            + phi2;
        double ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * Math.Pow(dtheta1, 2) * Math.Sin(theta2) - phi2)
            / (m2 * Math.Pow(lc2, 2) + I2 - Math.Pow(d2, 2) / d1);
        double ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
        ds[0] = dtheta1;
        ds[1] = dtheta2;
        ds[2] = ddtheta1;
        ds[3] = ddtheta2;
        ds[4] = 0.0;
    }

    /// <summary>Gymnasium's <c>wrap</c>: shifts x by whole periods M − m until m ≤ x ≤ M.</summary>
    internal static double Wrap(double x, double m, double M)
    {
        double diff = M - m;
        while (x > M) x -= diff;
        while (x < m) x += diff;
        return x;
    }

    /// <summary>Gymnasium's <c>bound</c>: min(max(x, m), M).</summary>
    static double Bound(double x, double m, double M) => Math.Min(Math.Max(x, m), M);

    void Observe(Span<float> observation)
    {
        observation[0] = (float)Math.Cos(_s[0]);
        observation[1] = (float)Math.Sin(_s[0]);
        observation[2] = (float)Math.Cos(_s[1]);
        observation[3] = (float)Math.Sin(_s[1]);
        observation[4] = (float)_s[2];
        observation[5] = (float)_s[3];
    }

    /// <inheritdoc/>
    protected override void GetStateCore(Span<double> state) => _s.CopyTo(state);

    /// <inheritdoc/>
    protected override void SetStateCore(ReadOnlySpan<double> state, Span<float> observation)
    {
        state.CopyTo(_s);
        Observe(observation);
    }
}
