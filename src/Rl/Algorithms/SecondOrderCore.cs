using PurePg.Autodiff;
using PurePg.Rl.SecondOrder;

namespace PurePg.Rl.Algorithms;

/// <summary>
/// What the natural policy gradient and TRPO share, on one batch of states with advantages: the old distribution held
/// constant, the surrogate L(θ) = mean(π_θ(a|s)/π_old(a|s) · Â) and the mean KL(π_old ‖ π_θ), the gradient g = ∇L(θ_old),
/// and x ≈ (F + λI)⁻¹ g by conjugate gradient on exact Fisher-vector products.
/// </summary>
internal sealed class SecondOrderCore
{
    private readonly ActorCritic _agent;
    private readonly Tape<float> _tape = new();
    private readonly FisherVectorProduct<float> _fvp;
    private float[] _oldLogProb = [], _oldParams = [], _oldLogStd = [];
    private ReadOnlyMemory<float> _states;
    private ReadOnlyMemory<int> _discrete;
    private ReadOnlyMemory<float> _continuous, _advantages;
    private int _batch;
    private readonly double[] _workspace, _fx;
    private readonly Action<ReadOnlySpan<double>, Span<double>> _multiply;

    public SecondOrderCore(ActorCritic agent, double damping)
    {
        _agent = agent;
        _fvp = agent.Categorical is not null ? FisherVectorProduct<float>.For(agent.Categorical, damping) : FisherVectorProduct<float>.For(agent.Gaussian!, damping);
        Gradient = new double[agent.Theta.Count];
        Direction = new double[agent.Theta.Count];
        _workspace = new double[3 * agent.Theta.Count];
        _multiply = _fvp.Apply;
        _fx = new double[agent.Theta.Count];
    }

    /// <summary>g = ∇θ L at θ_old.</summary>
    public double[] Gradient { get; }

    /// <summary>x ≈ (F + λI)⁻¹ g from the last <see cref="Solve"/>.</summary>
    public double[] Direction { get; }

    public FisherVectorProduct<float> Fisher => _fvp;

    /// <summary>Fixes θ_old: records the old distribution and log π_old(a|s) on the batch, and computes g.</summary>
    public void Begin(ReadOnlyMemory<float> states, ReadOnlyMemory<int> discrete, ReadOnlyMemory<float> continuous, ReadOnlyMemory<float> advantages)
    {
        (_states, _discrete, _continuous, _advantages) = (states, discrete, continuous, advantages);
        _batch = advantages.Length;
        _tape.Reset();
        _tape.ZeroGradients();
        var s = _tape.Borrow(states, _batch, _agent.ObservationSize);
        Var<float> logProb;
        if (_agent.Categorical is not null)
        {
            var pi = _agent.Categorical.Distribution(_tape, s);
            _oldParams = _tape.Value(pi.Logits).ToArray();
            logProb = pi.LogProb(discrete.Span);
        }
        else
        {
            var pi = _agent.Gaussian!.Distribution(_tape, s);
            _oldParams = _tape.Value(pi.Mean).ToArray();
            _oldLogStd = _tape.Value(pi.LogStd).ToArray();
            logProb = pi.LogProb(continuous.Span);
        }
        _oldLogProb = _tape.Value(logProb).ToArray();
        // ∇L(θ_old) = mean(∇log π(a|s) · Â): the ratio is 1 there
        _tape.Backward(_tape.Mean(logProb * _tape.Borrow(advantages, _batch, 1)));
        var g = _tape.GradientOf(_agent.Theta);
        for (int i = 0; i < g.Length; i++) Gradient[i] = g[i];
        _fvp.Prepare(states);
    }

    /// <summary>x ≈ (F + λI)⁻¹ g.</summary>
    public ConjugateGradientResult Solve(int iterations) =>
        ConjugateGradient.Solve(_multiply, Gradient, Direction, _workspace, iterations, relativeTolerance: 1e-10);

    /// <summary>xᵀ(F + λI)x for the last direction.</summary>
    public double DirectionQuadraticForm()
    {
        _fvp.Apply(Direction, _fx);
        double q = 0;
        for (int i = 0; i < _fx.Length; i++) q += Direction[i] * _fx[i];
        return q;
    }

    /// <summary>L(θ) and the mean KL(π_old ‖ π_θ) at the current θ.</summary>
    public (double Surrogate, double Kl) Evaluate()
    {
        _tape.Reset();
        using var _ = _tape.NoGrad();
        var s = _tape.Borrow(_states, _batch, _agent.ObservationSize);
        Var<float> logProb, kl;
        if (_agent.Categorical is not null)
        {
            var pi = _agent.Categorical.Distribution(_tape, s);
            logProb = pi.LogProb(_discrete.Span);
            kl = _tape.Mean(pi.KlFrom(_oldParams));
        }
        else
        {
            var pi = _agent.Gaussian!.Distribution(_tape, s);
            logProb = pi.LogProb(_continuous.Span);
            kl = _tape.Mean(pi.KlFrom(_oldParams, _oldLogStd));
        }
        var surrogate = Estimators.Losses.Surrogate(_tape, logProb, _oldLogProb, _advantages);
        return (_tape.Scalar(surrogate), _tape.Scalar(kl));
    }
}
