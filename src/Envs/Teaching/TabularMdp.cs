using PurePg.Envs.Random;

namespace PurePg.Envs.Teaching;

/// <summary>
/// A seeded random finite MDP with its exact answers for a tabular softmax policy π_θ(a|s) = exp θ[s,a] / Σ_b exp θ[s,b]:
/// the objective J(θ) = E[Σ_{h&lt;H} γ^h r_h], the values Q_h, V_h, A_h, and the policy gradient
/// ∂J/∂θ[s,b] = Σ_h γ^h d_h(s) π(b|s) A_h(s,b), with d_h the distribution of s_h (the policy gradient theorem with
/// ∇_{θ[s,b]} log π(a|s) = 1[a = b] − π(b|s)). With a horizon H (finite) the H-th step terminates the episode; without
/// one (H = null, γ &lt; 1) the values are those of the infinite discounted problem, solved exactly by linear algebra.
/// Transitions P(·|s,a) and the start distribution μ₀ are Dirichlet(1) draws, rewards R(s,a) ~ U(0, 1), all from the
/// seed. Observation: the one-hot state (|S| floats). Reward R(s,a) is deterministic.
/// </summary>
public sealed class TabularMdp : Env
{
    readonly double[,,] _p;   // P[s, a, s']
    readonly double[,] _r;    // R[s, a]
    readonly double[] _mu0;
    int _state;

    /// <summary>A random MDP with <paramref name="numStates"/> |S| and <paramref name="numActions"/> |A|, horizon
    /// <paramref name="horizon"/> H (null for the infinite discounted problem) and discount γ.</summary>
    public TabularMdp(int numStates, int numActions, int? horizon, double gamma = 1.0, int seed = 0)
        : base(Box.Uniform(Positive(numStates, nameof(numStates)), 0f, 1f), new Discrete(Positive(numActions, nameof(numActions))))
    {
        if (horizon is <= 0) throw new ArgumentOutOfRangeException(nameof(horizon), horizon, "A horizon must be positive.");
        if (!(gamma > 0 && gamma <= 1)) throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "γ must be in (0, 1].");
        if (horizon is null && gamma >= 1) throw new ArgumentException("An infinite-horizon MDP needs γ < 1.", nameof(gamma));
        (NumStates, NumActions, Horizon, Gamma) = (numStates, numActions, horizon, gamma);
        var random = new NumpyRandom(seed);
        _p = new double[numStates, numActions, numStates];
        _r = new double[numStates, numActions];
        for (int s = 0; s < numStates; s++)
            for (int a = 0; a < numActions; a++)
            {
                var row = Dirichlet(random, numStates);
                for (int t = 0; t < numStates; t++) _p[s, a, t] = row[t];
                _r[s, a] = random.NextDouble();
            }
        _mu0 = Dirichlet(random, numStates);
    }

    static int Positive(int value, string name)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value, name);
        return value;
    }

    static double[] Dirichlet(NumpyRandom random, int n)
    {
        var x = new double[n];
        double total = 0;
        for (int i = 0; i < n; i++) total += x[i] = -Math.Log(1.0 - random.NextDouble()); // Exp(1) = Gamma(1)
        for (int i = 0; i < n; i++) x[i] /= total;
        return x;
    }

    /// <summary>|S|.</summary>
    public int NumStates { get; }

    /// <summary>|A|.</summary>
    public int NumActions { get; }

    /// <summary>H, or null for the infinite discounted problem.</summary>
    public int? Horizon { get; }

    /// <summary>γ.</summary>
    public double Gamma { get; }

    /// <summary>The current state index.</summary>
    public int State => _state;

    /// <summary>P(s'|s, a).</summary>
    public double Transition(int s, int a, int next) => _p[s, a, next];

    /// <summary>R(s, a).</summary>
    public double Reward(int s, int a) => _r[s, a];

    /// <summary>μ₀(s).</summary>
    public double StartProbability(int s) => _mu0[s];

    /// <summary>π_θ(·|s) for every s: the softmax of each row of θ ([|S|, |A|] row-major), max subtracted.</summary>
    public double[,] Policy(ReadOnlySpan<double> theta)
    {
        CheckTheta(theta);
        var pi = new double[NumStates, NumActions];
        for (int s = 0; s < NumStates; s++)
        {
            double max = double.NegativeInfinity, z = 0;
            for (int a = 0; a < NumActions; a++) max = Math.Max(max, theta[s * NumActions + a]);
            for (int a = 0; a < NumActions; a++) z += pi[s, a] = Math.Exp(theta[s * NumActions + a] - max);
            for (int a = 0; a < NumActions; a++) pi[s, a] /= z;
        }
        return pi;
    }

    void CheckTheta(ReadOnlySpan<double> theta)
    {
        if (theta.Length != NumStates * NumActions)
            throw new ArgumentException($"θ has |S|·|A| = {NumStates}×{NumActions} = {NumStates * NumActions} elements, got {theta.Length}.", nameof(theta));
        for (int i = 0; i < theta.Length; i++)
            if (!double.IsFinite(theta[i]))
                throw new ArgumentException($"θ[{i / NumActions},{i % NumActions}] is {theta[i]}.", nameof(theta));
    }

    /// <summary>The exact values of π_θ. For a finite horizon, Q[h][s,a] = R(s,a) + γ Σ_{s'} P(s'|s,a) V[h+1][s'] with
    /// V[H] = 0 and V[h][s] = Σ_a π(a|s) Q[h][s,a]; d[h][s] = Pr(s_h = s), d[0] = μ₀. For the infinite discounted
    /// problem the arrays have one entry: V = (I − γP_π)⁻¹ r_π, and d = μ₀ᵀ(I − γP_π)⁻¹ is the discounted visitation
    /// Σ_t γ^t Pr(s_t = s).</summary>
    public TabularValues Values(ReadOnlySpan<double> theta)
    {
        var pi = Policy(theta);
        return Horizon is int h ? FiniteValues(pi, h) : DiscountedValues(pi);
    }

    TabularValues FiniteValues(double[,] pi, int horizon)
    {
        int nS = NumStates, nA = NumActions;
        var q = new double[horizon][,];
        var v = new double[horizon + 1][];
        v[horizon] = new double[nS];
        for (int h = horizon - 1; h >= 0; h--)
        {
            q[h] = new double[nS, nA];
            v[h] = new double[nS];
            for (int s = 0; s < nS; s++)
                for (int a = 0; a < nA; a++)
                {
                    double next = 0;
                    for (int t = 0; t < nS; t++) next += _p[s, a, t] * v[h + 1][t];
                    q[h][s, a] = _r[s, a] + Gamma * next;
                    v[h][s] += pi[s, a] * q[h][s, a];
                }
        }
        var d = new double[horizon][];
        d[0] = (double[])_mu0.Clone();
        for (int h = 1; h < horizon; h++)
        {
            d[h] = new double[nS];
            for (int s = 0; s < nS; s++)
                for (int a = 0; a < nA; a++)
                    for (int t = 0; t < nS; t++) d[h][t] += d[h - 1][s] * pi[s, a] * _p[s, a, t];
        }
        var weights = new double[horizon];
        for (int h = 0; h < horizon; h++) weights[h] = Math.Pow(Gamma, h);
        return new TabularValues(pi, q, v[..horizon], d, weights, _mu0);
    }

    TabularValues DiscountedValues(double[,] pi)
    {
        int nS = NumStates, nA = NumActions;
        var m = Dense.Identity(nS);           // I − γ P_π
        var rPi = new double[nS, 1];
        for (int s = 0; s < nS; s++)
            for (int a = 0; a < nA; a++)
            {
                rPi[s, 0] += pi[s, a] * _r[s, a];
                for (int t = 0; t < nS; t++) m[s, t] -= Gamma * pi[s, a] * _p[s, a, t];
            }
        var vCol = Dense.Solve(m, rPi);
        var mu = new double[nS, 1];
        for (int s = 0; s < nS; s++) mu[s, 0] = _mu0[s];
        var dCol = Dense.Solve(Dense.Transpose(m), mu);
        var v = new double[nS];
        var d = new double[nS];
        for (int s = 0; s < nS; s++) (v[s], d[s]) = (vCol[s, 0], dCol[s, 0]);
        var q = new double[nS, nA];
        for (int s = 0; s < nS; s++)
            for (int a = 0; a < nA; a++)
            {
                double next = 0;
                for (int t = 0; t < nS; t++) next += _p[s, a, t] * v[t];
                q[s, a] = _r[s, a] + Gamma * next;
            }
        return new TabularValues(pi, [q], [v], [d], [1.0], _mu0);
    }

    /// <summary>J(θ) = Σ_s μ₀(s) V₀(s).</summary>
    public double Objective(ReadOnlySpan<double> theta) => Values(theta).Objective;

    /// <summary>∇J(θ) ([|S|, |A|] row-major): ∂J/∂θ[s,b] = Σ_h γ^h d_h(s) π(b|s) A_h(s,b).</summary>
    public double[] Gradient(ReadOnlySpan<double> theta) => Values(theta).Gradient();

    /// <inheritdoc/>
    protected override void ResetCore(NumpyRandom random, Span<float> observation)
    {
        _state = Sample(random, _mu0);
        Observe(observation);
    }

    /// <inheritdoc/>
    protected override (double Reward, bool Terminated) StepCore(int action, NumpyRandom random, Span<float> observation)
    {
        double reward = _r[_state, action];
        double u = random.NextDouble(), cumulative = 0;
        int next = NumStates - 1;
        for (int t = 0; t < NumStates; t++)
        {
            cumulative += _p[_state, action, t];
            if (u < cumulative) { next = t; break; }
        }
        _state = next;
        Observe(observation);
        return (reward, Horizon is int h && ElapsedSteps + 1 >= h);
    }

    static int Sample(NumpyRandom random, double[] probabilities)
    {
        double u = random.NextDouble(), cumulative = 0;
        for (int i = 0; i < probabilities.Length; i++)
        {
            cumulative += probabilities[i];
            if (u < cumulative) return i;
        }
        return probabilities.Length - 1;
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

/// <summary>The exact values of a tabular policy (see <see cref="TabularMdp.Values"/>): per step h, Q[h][s,a], V[h][s],
/// the state distribution (or discounted visitation) d[h][s] and the weight γ^h of step h in J.</summary>
public sealed class TabularValues
{
    readonly double[] _mu0;

    internal TabularValues(double[,] policy, double[][,] q, double[][] v, double[][] d, double[] weights, double[] mu0)
        => (Policy, Q, V, StateDistribution, StepWeights, _mu0) = (policy, q, v, d, weights, mu0);

    /// <summary>π(a|s).</summary>
    public double[,] Policy { get; }

    /// <summary>Q_h(s,a), the expected discounted reward from step h on (discounted relative to step h).</summary>
    public double[][,] Q { get; }

    /// <summary>V_h(s) = Σ_a π(a|s) Q_h(s,a).</summary>
    public double[][] V { get; }

    /// <summary>d_h(s) = Pr(s_h = s) (finite horizon) or the discounted visitation (infinite).</summary>
    public double[][] StateDistribution { get; }

    /// <summary>γ^h, the weight of step h in J (1 for the single entry of the infinite problem, whose d is discounted).</summary>
    public double[] StepWeights { get; }

    /// <summary>A_h(s,a) = Q_h(s,a) − V_h(s).</summary>
    public double Advantage(int h, int s, int a) => Q[h][s, a] - V[h][s];

    /// <summary>J = Σ_s μ₀(s) V₀(s).</summary>
    public double Objective
    {
        get
        {
            double j = 0;
            for (int s = 0; s < _mu0.Length; s++) j += _mu0[s] * V[0][s];
            return j;
        }
    }

    /// <summary>∂J/∂θ[s,b] = Σ_h γ^h d_h(s) π(b|s) A_h(s,b), [|S|, |A|] row-major.</summary>
    public double[] Gradient()
    {
        int nS = Policy.GetLength(0), nA = Policy.GetLength(1);
        var g = new double[nS * nA];
        for (int h = 0; h < Q.Length; h++)
            for (int s = 0; s < nS; s++)
                for (int b = 0; b < nA; b++)
                    g[s * nA + b] += StepWeights[h] * StateDistribution[h][s] * Policy[s, b] * Advantage(h, s, b);
        return g;
    }
}
