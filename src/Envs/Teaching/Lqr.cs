using PurePg.Envs.Random;

namespace PurePg.Envs.Teaching;

/// <summary>
/// A linear-quadratic regulator with Gaussian noise: x_{h+1} = A x_h + B u_h + w_h, w_h ~ N(0, σ_w² I),
/// x₀ ~ N(0, σ₀² I), reward r_h = −(x_hᵀ Q x_h + u_hᵀ R u_h), horizon H (the H-th step terminates). Its exact answers:
/// the Riccati-optimal time-varying gains and their expected cost (<see cref="OptimalCost"/>), the stationary Riccati
/// gain (<see cref="StationaryGain"/>), and the exact expected cost of any linear Gaussian policy u = −K x + ε,
/// ε ~ N(0, s² I) (<see cref="ExpectedCost(double[,], double)"/>), to compare a learned policy against the optimum.
/// Observation: x as float32; action: u ∈ ℝ^m, unbounded.
/// </summary>
public sealed class Lqr : Env
{
    readonly double[,] _a, _b, _q, _r;
    readonly double[] _x;

    /// <summary>An LQR with dynamics (A, B), costs (Q, R), noise σ_w, initial spread σ₀ and horizon H.</summary>
    public Lqr(double[,] a, double[,] b, double[,] q, double[,] r, double noiseStd, double initialStd, int horizon)
        : base(Box.Uniform(Rows(a), float.NegativeInfinity, float.PositiveInfinity),
            Box.Uniform(Cols(b), float.NegativeInfinity, float.PositiveInfinity))
    {
        int n = a.GetLength(0), m = b.GetLength(1);
        if (a.GetLength(1) != n) throw new ArgumentException($"A must be square, got {n}×{a.GetLength(1)}.", nameof(a));
        if (b.GetLength(0) != n) throw new ArgumentException($"B must have {n} rows (A is {n}×{n}), got {b.GetLength(0)}.", nameof(b));
        if (q.GetLength(0) != n || q.GetLength(1) != n) throw new ArgumentException($"Q must be {n}×{n}.", nameof(q));
        if (r.GetLength(0) != m || r.GetLength(1) != m) throw new ArgumentException($"R must be {m}×{m}.", nameof(r));
        Dense.Cholesky(r); // R must be positive definite: throws otherwise
        if (!(noiseStd >= 0) || !(initialStd >= 0)) throw new ArgumentOutOfRangeException(nameof(noiseStd), "Noise scales must be ≥ 0.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(horizon);
        (_a, _b, _q, _r) = (Dense.Copy(a), Dense.Copy(b), Dense.Copy(q), Dense.Copy(r));
        (NoiseStd, InitialStd, Horizon) = (noiseStd, initialStd, horizon);
        _x = new double[n];
    }

    static int Rows(double[,] a) => a.GetLength(0);
    static int Cols(double[,] b) => b.GetLength(1);

    /// <summary>A double integrator (position, velocity) pushed by a force, dt = 0.1: A = [[1, 0.1], [0, 1]],
    /// B = [[0.005], [0.1]], Q = I, R = 0.1, σ_w = 0.01, σ₀ = 1.</summary>
    public static Lqr DoubleIntegrator(int horizon = 50) =>
        new(new double[,] { { 1, 0.1 }, { 0, 1 } }, new double[,] { { 0.005 }, { 0.1 } },
            new double[,] { { 1, 0 }, { 0, 1 } }, new double[,] { { 0.1 } }, noiseStd: 0.01, initialStd: 1.0, horizon);

    /// <summary>n, the state dimension.</summary>
    public int StateSize => _x.Length;

    /// <summary>m, the action dimension.</summary>
    public int ActionSize => _b.GetLength(1);

    /// <summary>σ_w.</summary>
    public double NoiseStd { get; }

    /// <summary>σ₀.</summary>
    public double InitialStd { get; }

    /// <summary>H.</summary>
    public int Horizon { get; }

    /// <summary>The optimal time-varying gains K_h (u_h = −K_h x_h) by the backward Riccati recursion
    /// P_H = 0, K_h = (R + BᵀP_{h+1}B)⁻¹BᵀP_{h+1}A, P_h = Q + K_hᵀRK_h + (A − BK_h)ᵀP_{h+1}(A − BK_h), and the
    /// optimal expected total cost E[Σ_{h&lt;H} x_hᵀQx_h + u_hᵀRu_h] = σ₀² tr P₀ + σ_w² Σ_{h=1}^{H−1} tr P_h.</summary>
    public (double[][,] Gains, double Cost) Optimal()
    {
        int n = StateSize;
        var p = new double[n, n];
        var gains = new double[Horizon][,];
        double noiseCost = 0;
        for (int h = Horizon - 1; h >= 0; h--)
        {
            if (h < Horizon - 1) noiseCost += NoiseStd * NoiseStd * Dense.Trace(p);
            (gains[h], p) = RiccatiStep(p);
        }
        return (gains, InitialStd * InitialStd * Dense.Trace(p) + noiseCost);
    }

    /// <summary>The optimal expected total cost over the horizon (see <see cref="Optimal"/>).</summary>
    public double OptimalCost => Optimal().Cost;

    (double[,] K, double[,] P) RiccatiStep(double[,] pNext)
    {
        var bt = Dense.Transpose(_b);
        var btp = Dense.Multiply(bt, pNext);
        var s = Dense.Add(_r, Dense.Multiply(btp, _b));
        var k = Dense.Solve(s, Dense.Multiply(btp, _a));
        var closed = Dense.Add(_a, Dense.Multiply(_b, k), -1);
        var p = Dense.Add(Dense.Add(_q, Dense.Multiply(Dense.Transpose(k), Dense.Multiply(_r, k))),
            Dense.Multiply(Dense.Transpose(closed), Dense.Multiply(pNext, closed)));
        return (k, Symmetrize(p));
    }

    static double[,] Symmetrize(double[,] p)
    {
        for (int i = 0; i < p.GetLength(0); i++)
            for (int j = 0; j < i; j++) p[i, j] = p[j, i] = 0.5 * (p[i, j] + p[j, i]);
        return p;
    }

    /// <summary>The stationary gain K∞ of the infinite-horizon problem, from the discrete algebraic Riccati equation
    /// P = Q + AᵀPA − AᵀPB(R + BᵀPB)⁻¹BᵀPA solved by iterating the recursion to convergence.</summary>
    /// <exception cref="InvalidOperationException">The iteration does not converge (the pair (A, B) is not stabilizable).</exception>
    public double[,] StationaryGain()
    {
        var p = Dense.Copy(_q);
        for (int iteration = 0; iteration < 100_000; iteration++)
        {
            var (k, next) = RiccatiStep(p);
            double change = 0, size = 0;
            for (int i = 0; i < next.GetLength(0); i++)
                for (int j = 0; j < next.GetLength(1); j++)
                {
                    change = Math.Max(change, Math.Abs(next[i, j] - p[i, j]));
                    size = Math.Max(size, Math.Abs(next[i, j]));
                }
            p = next;
            if (change <= 1e-13 * size) return k;
        }
        throw new InvalidOperationException("The Riccati iteration did not converge: (A, B) is not stabilizable.");
    }

    /// <summary>The exact expected total cost of the stationary linear Gaussian policy u = −K x + ε, ε ~ N(0, s² I):
    /// with Σ₀ = σ₀² I and Σ_{h+1} = (A − BK)Σ_h(A − BK)ᵀ + s² BBᵀ + σ_w² I,
    /// cost = Σ_{h&lt;H} tr((Q + KᵀRK)Σ_h) + s² tr R. The expected return is its negative.</summary>
    public double ExpectedCost(double[,] gain, double actionStd = 0) => ExpectedCost(_ => gain, actionStd, null);

    /// <summary>The same for time-varying gains K_h, and an optional constant offset k₀ (u = −K_h x + k₀ + ε): with the
    /// state mean m₀ = 0, m_{h+1} = (A − BK)m_h + Bk₀, the stage cost adds mᵀ(Q + KᵀRK)m − 2k₀ᵀRKm + k₀ᵀRk₀.</summary>
    public double ExpectedCost(Func<int, double[,]> gain, double actionStd = 0, double[]? offset = null)
    {
        ArgumentNullException.ThrowIfNull(gain);
        if (!(actionStd >= 0)) throw new ArgumentOutOfRangeException(nameof(actionStd), actionStd, "s must be ≥ 0.");
        int n = StateSize, m = ActionSize;
        if (offset is not null && offset.Length != m) throw new ArgumentException($"The offset needs {m} elements, got {offset.Length}.", nameof(offset));
        var k0 = new double[m, 1];
        for (int i = 0; i < m; i++) k0[i, 0] = offset?[i] ?? 0;
        var mean = new double[n, 1];
        var sigma = Dense.Scale(Dense.Identity(n), InitialStd * InitialStd);
        var bbt = Dense.Multiply(_b, Dense.Transpose(_b));
        double cost = 0;
        for (int h = 0; h < Horizon; h++)
        {
            var k = gain(h);
            if (k.GetLength(0) != m || k.GetLength(1) != n)
                throw new ArgumentException($"A gain is {m}×{n}, got {k.GetLength(0)}×{k.GetLength(1)}.", nameof(gain));
            var stageCost = Dense.Add(_q, Dense.Multiply(Dense.Transpose(k), Dense.Multiply(_r, k)));
            var second = Dense.Add(sigma, Dense.Multiply(mean, Dense.Transpose(mean))); // E[x xᵀ]
            var rk0 = Dense.Multiply(_r, k0);
            cost += Dense.Trace(Dense.Multiply(stageCost, second)) + actionStd * actionStd * Dense.Trace(_r)
                - 2 * Dense.Multiply(Dense.Transpose(rk0), Dense.Multiply(k, mean))[0, 0] + Dense.Multiply(Dense.Transpose(k0), rk0)[0, 0];
            var closed = Dense.Add(_a, Dense.Multiply(_b, k), -1);
            mean = Dense.Add(Dense.Multiply(closed, mean), Dense.Multiply(_b, k0));
            sigma = Dense.Add(Dense.Add(Dense.Multiply(closed, Dense.Multiply(sigma, Dense.Transpose(closed))), bbt, actionStd * actionStd),
                Dense.Identity(n), NoiseStd * NoiseStd);
        }
        return cost;
    }

    /// <inheritdoc/>
    public override int StateLength => _x.Length;

    /// <inheritdoc/>
    protected override void ResetCore(NumpyRandom random, Span<float> observation)
    {
        for (int i = 0; i < _x.Length; i++) _x[i] = InitialStd * random.Gaussian();
        Observe(observation);
    }

    /// <inheritdoc/>
    protected override (double Reward, bool Terminated) StepCore(ReadOnlySpan<float> action, NumpyRandom random, Span<float> observation)
    {
        int n = _x.Length, m = action.Length;
        double cost = 0;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) cost += _x[i] * _q[i, j] * _x[j];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++) cost += action[i] * _r[i, j] * action[j];
        Span<double> next = stackalloc double[n];
        for (int i = 0; i < n; i++)
        {
            double v = NoiseStd * random.Gaussian();
            for (int j = 0; j < n; j++) v += _a[i, j] * _x[j];
            for (int j = 0; j < m; j++) v += _b[i, j] * action[j];
            next[i] = v;
        }
        next.CopyTo(_x);
        Observe(observation);
        return (-cost, ElapsedSteps + 1 >= Horizon);
    }

    void Observe(Span<float> observation)
    {
        for (int i = 0; i < _x.Length; i++) observation[i] = (float)_x[i];
    }

    /// <inheritdoc/>
    protected override void GetStateCore(Span<double> state) => _x.CopyTo(state);

    /// <inheritdoc/>
    protected override void SetStateCore(ReadOnlySpan<double> state, Span<float> observation)
    {
        state.CopyTo(_x);
        Observe(observation);
    }
}
