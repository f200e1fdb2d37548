using System.Numerics;
using System.Numerics.Tensors;
using PurePg.Autodiff;
using PurePg.Rl.Policies;

namespace PurePg.Rl.SecondOrder;

/// <summary>
/// The Fisher-vector product of a policy over a batch of states, (F + λI)·v with F = (1/N) Σ_s J_sᵀ M_s J_s, without
/// forming F and without finite differences: J_s is the Jacobian of the distribution's parameters at s with respect to θ
/// and M_s the distribution's Fisher in those parameters — categorical logits: diag(p) − p pᵀ; Gaussian: 1/σ² on the
/// mean and 2 on log σ. This F is the Hessian of the mean KL(π_old ‖ π_θ) at θ = θ_old and equals
/// E_s E_{a~π}[∇log π ∇log πᵀ].
/// <para>The forward pass is recorded once (<see cref="Prepare"/>); each product is then one forward-mode sweep (J v),
/// the small M product, and one backward pass (Jᵀ(M J v)), on the recorded values. θ must not change between
/// <see cref="Prepare"/> and the products.</para>
/// </summary>
public sealed class FisherVectorProduct<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly Tape<T> _tape = new();
    private readonly ParameterSet<T> _theta;
    private readonly Func<Tape<T>, Var<T>, (Var<T> Z1, Var<T>? Z2)> _recordParameters;
    private readonly bool _gaussian;
    private readonly int _observationSize;
    private Var<T> _z1, _z2;
    private (int, int, int) _mark;
    private int _batch;
    private T[] _m1 = [], _m2 = [], _softmax = [];
    private T[] _direction = [], _product = [];

    private FisherVectorProduct(ParameterSet<T> theta, int observationSize, bool gaussian, Func<Tape<T>, Var<T>, (Var<T>, Var<T>?)> record, double damping)
    {
        if (!(damping >= 0)) throw new ArgumentOutOfRangeException(nameof(damping), damping, "Damping λ must be ≥ 0.");
        _theta = theta;
        _observationSize = observationSize;
        _gaussian = gaussian;
        _recordParameters = record;
        Damping = damping;
    }

    /// <summary>For a categorical policy: M = diag(p) − p pᵀ on the logits.</summary>
    public static FisherVectorProduct<T> For(CategoricalMlpPolicy<T> policy, double damping = 0)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return new(policy.Parameters, policy.ObservationSize, gaussian: false,
            (tape, obs) => (policy.Distribution(tape, obs).Logits, null), damping);
    }

    /// <summary>For a Gaussian policy: M = 1/σ² on the mean and 2 on log σ.</summary>
    public static FisherVectorProduct<T> For(GaussianMlpPolicy<T> policy, double damping = 0)
    {
        ArgumentNullException.ThrowIfNull(policy);
        return new(policy.Parameters, policy.ObservationSize, gaussian: true, (tape, obs) =>
        {
            var pi = policy.Distribution(tape, obs);
            return (pi.Mean, pi.LogStd);
        }, damping);
    }

    /// <summary>λ, added as λ·v.</summary>
    public double Damping { get; set; }

    /// <summary>d, the length of v.</summary>
    public int Dimension => _theta.Count;

    /// <summary>N, the number of states of the last <see cref="Prepare"/>.</summary>
    public int BatchSize => _batch;

    /// <summary>Records the forward pass on the states <paramref name="observations"/> [N, obsDim] at the current θ (which
    /// becomes θ_old). The memory must stay unchanged while products are taken.</summary>
    public void Prepare(ReadOnlyMemory<T> observations)
    {
        _batch = PolicyChecks.Batch(observations.Length, _observationSize);
        _tape.Reset();
        var (z1, z2) = _recordParameters(_tape, _tape.Borrow(observations, _batch, _observationSize));
        _z1 = z1;
        _z2 = z2 ?? default;
        _mark = _tape.Mark();
        Shape s = z1.Shape;
        if (_m1.Length != s.Length) _m1 = new T[s.Length];
        if (_gaussian)
        {
            if (_m2.Length != s.Cols) _m2 = new T[s.Cols];
        }
        else
        {
            if (_softmax.Length != s.Length) _softmax = new T[s.Length];
            Distributions.Categorical<T>.LogSoftmaxRows(_tape.Value(z1), _softmax, s.Rows, s.Cols);
            for (int k = 0; k < _softmax.Length; k++) _softmax[k] = T.Exp(_softmax[k]);
        }
        if (_direction.Length != Dimension)
        {
            _direction = new T[Dimension];
            _product = new T[Dimension];
        }
    }

    /// <summary>result = (F + λI)·v in θ's layout.</summary>
    /// <exception cref="InvalidOperationException"><see cref="Prepare"/> was not called.</exception>
    public void Apply(ReadOnlySpan<T> v, Span<T> result)
    {
        if (_batch == 0) throw new InvalidOperationException("FisherVectorProduct: call Prepare(observations) first.");
        if (v.Length != Dimension || result.Length != Dimension)
            throw new ArgumentException($"FisherVectorProduct: v and the result need {Dimension} elements, got {v.Length} and {result.Length}.");
        _tape.Rewind(_mark);
        _tape.ForwardTangents(_theta, v);
        Shape s = _z1.Shape;
        T invN = T.One / T.CreateTruncating(_batch);
        ReadOnlySpan<T> dz = _tape.Tangent(_z1);
        if (!_gaussian)
        {
            // M ż per row: p ⊙ (ż − ⟨p, ż⟩), then the batch mean.
            for (int r = 0; r < s.Rows; r++)
            {
                ReadOnlySpan<T> p = _softmax.AsSpan(r * s.Cols, s.Cols), d = dz.Slice(r * s.Cols, s.Cols);
                T mean = TensorPrimitives.Dot(p, d);
                Span<T> m = _m1.AsSpan(r * s.Cols, s.Cols);
                for (int j = 0; j < s.Cols; j++) m[j] = p[j] * (d[j] - mean) * invN;
            }
        }
        else
        {
            // Mean: ż_μ / σ² per row, then the batch mean; log σ (shared by all rows): 2·ż_logσ.
            ReadOnlySpan<T> logStd = _tape.Value(_z2);
            for (int r = 0; r < s.Rows; r++)
                for (int j = 0; j < s.Cols; j++)
                    _m1[r * s.Cols + j] = dz[r * s.Cols + j] * T.Exp(-(logStd[j] + logStd[j])) * invN;
            ReadOnlySpan<T> dLogStd = _tape.Tangent(_z2);
            for (int j = 0; j < s.Cols; j++) _m2[j] = (dLogStd[j] + dLogStd[j]);
        }
        // Jᵀ(M J v): the gradient of ⟨c, z⟩ with c = M J v held constant.
        var loss = _tape.Sum(_z1 * _tape.Borrow(_m1, s.Rows, s.Cols));
        if (_gaussian) loss = loss + _tape.Sum(_z2 * _tape.Borrow(_m2, 1, s.Cols));
        _tape.ZeroGradients();
        _tape.Backward(loss);
        ReadOnlySpan<T> g = _tape.GradientOf(_theta);
        T lambda = T.CreateTruncating(Damping);
        TensorPrimitives.MultiplyAdd(v, lambda, g, result);
    }

    /// <summary>The same product in double precision (for <see cref="ConjugateGradient"/>): v is rounded to T, the product
    /// computed in T and widened back.</summary>
    public void Apply(ReadOnlySpan<double> v, Span<double> result)
    {
        if (v.Length != Dimension || result.Length != Dimension)
            throw new ArgumentException($"FisherVectorProduct: v and the result need {Dimension} elements, got {v.Length} and {result.Length}.");
        for (int k = 0; k < v.Length; k++) _direction[k] = T.CreateTruncating(v[k]);
        Apply(_direction, _product);
        for (int k = 0; k < result.Length; k++) result[k] = double.CreateTruncating(_product[k]);
    }
}
