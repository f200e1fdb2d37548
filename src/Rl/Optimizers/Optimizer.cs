using System.Numerics;
using System.Numerics.Tensors;

namespace PurePg.Rl.Optimizers;

/// <summary>A learning-rate schedule α_k over update k = 0, 1, ….</summary>
public abstract record LearningRateSchedule
{
    /// <summary>α_k for update <paramref name="update"/>.</summary>
    public abstract double At(long update);

    /// <summary>α_k = α.</summary>
    public static LearningRateSchedule Constant(double alpha) => new ConstantRate(alpha);

    /// <summary>α_k = α·(1 − k/K), reaching 0 at update K (and staying there): the anchors' linear anneal.</summary>
    public static LearningRateSchedule Linear(double alpha, long totalUpdates) => new LinearRate(alpha, totalUpdates);

    private sealed record ConstantRate(double Alpha) : LearningRateSchedule
    {
        public override double At(long update) => Alpha;
    }

    private sealed record LinearRate(double Alpha, long TotalUpdates) : LearningRateSchedule
    {
        public override double At(long update) => Alpha * Math.Max(0.0, 1.0 - (double)update / TotalUpdates);
    }
}

/// <summary>
/// A first-order optimizer over a flat parameter vector, written for gradient <b>ascent</b> on the objective J, as the
/// lectures write it: <see cref="Ascend(Span{T}, ReadOnlySpan{T})"/> takes g = ∇J (not a loss gradient) and moves θ uphill. To minimize a loss L
/// instead, pass −∇L. Optional global gradient-norm clipping rescales g to norm ≤ c before the update.
/// </summary>
public abstract class Optimizer<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Creates an optimizer for <paramref name="size"/> parameters.</summary>
    protected Optimizer(int size, LearningRateSchedule learningRate, double? maxGradientNorm)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        ArgumentNullException.ThrowIfNull(learningRate);
        if (maxGradientNorm is double c && !(c > 0)) throw new ArgumentOutOfRangeException(nameof(maxGradientNorm), c, "The clipping norm must be positive.");
        Size = size;
        LearningRate = learningRate;
        MaxGradientNorm = maxGradientNorm;
    }

    /// <summary>d, the number of parameters.</summary>
    public int Size { get; }

    /// <summary>The schedule α_k.</summary>
    public LearningRateSchedule LearningRate { get; }

    /// <summary>c in g ← g · min(1, c/‖g‖₂); null for no clipping.</summary>
    public double? MaxGradientNorm { get; }

    /// <summary>The number of updates taken, k.</summary>
    public long Updates { get; protected set; }

    /// <summary>‖g‖₂ of the last gradient passed to <see cref="Ascend(Span{T}, ReadOnlySpan{T})"/>, before clipping.</summary>
    public double LastGradientNorm { get; private set; }

    /// <summary>θ ← θ + α_k · direction(g) for g = ∇J. <paramref name="gradient"/> is not modified.</summary>
    /// <exception cref="ArgumentException">Lengths differ from <see cref="Size"/>, or g holds NaN/∞ (named by index).</exception>
    public void Ascend(Span<T> theta, ReadOnlySpan<T> gradient)
    {
        if (theta.Length != Size || gradient.Length != Size)
            throw new ArgumentException($"{GetType().Name}: θ and g need {Size} elements, got {theta.Length} and {gradient.Length}.");
        double squared = double.CreateTruncating(TensorPrimitives.SumOfSquares(gradient));
        if (!double.IsFinite(squared))
        {
            // find the culprit (a NaN or ±∞; or values so large that their squares overflow T, recomputed in double)
            squared = 0;
            for (int i = 0; i < gradient.Length; i++)
            {
                double g = double.CreateTruncating(gradient[i]);
                if (!double.IsFinite(g)) throw new ArgumentException($"{GetType().Name}: gradient element {i} is {g} at update {Updates}.", nameof(gradient));
                squared += g * g;
            }
        }
        LastGradientNorm = Math.Sqrt(squared);
        double scale = MaxGradientNorm is double c && LastGradientNorm > c ? c / LastGradientNorm : 1.0;
        Update(theta, gradient, T.CreateTruncating(scale), LearningRate.At(Updates), 0);
        Updates++;
    }

    /// <summary>
    /// One step over two parameter groups at once — the policy's θ and the value function's φ, say — for an optimizer of
    /// size |θ| + |φ|: the norm clip is global, g ← g · min(1, c/‖(g_θ, g_φ)‖₂) (as torch's clip_grad_norm_ over all
    /// parameters), and each group moves as <see cref="Ascend(Span{T}, ReadOnlySpan{T})"/> would move it, with one step
    /// count k for both.
    /// </summary>
    /// <exception cref="ArgumentException">The groups' lengths do not add up to <see cref="Size"/> or differ from their
    /// gradients', or a gradient holds NaN/∞ (named by group and index).</exception>
    public void Ascend(Span<T> first, ReadOnlySpan<T> firstGradient, Span<T> second, ReadOnlySpan<T> secondGradient)
    {
        if (first.Length + second.Length != Size || firstGradient.Length != first.Length || secondGradient.Length != second.Length)
            throw new ArgumentException($"{GetType().Name}: groups of {first.Length} and {second.Length} parameters (gradients {firstGradient.Length}, {secondGradient.Length}) for an optimizer of {Size}.");
        double squared = double.CreateTruncating(TensorPrimitives.SumOfSquares(firstGradient)) + double.CreateTruncating(TensorPrimitives.SumOfSquares(secondGradient));
        if (!double.IsFinite(squared))
        {
            squared = 0;
            for (int group = 0; group < 2; group++)
            {
                var g = group == 0 ? firstGradient : secondGradient;
                for (int i = 0; i < g.Length; i++)
                {
                    double v = double.CreateTruncating(g[i]);
                    if (!double.IsFinite(v)) throw new ArgumentException($"{GetType().Name}: gradient element {i} of group {group + 1} is {v} at update {Updates}.");
                    squared += v * v;
                }
            }
        }
        LastGradientNorm = Math.Sqrt(squared);
        T scale = T.CreateTruncating(MaxGradientNorm is double c && LastGradientNorm > c ? c / LastGradientNorm : 1.0);
        double alpha = LearningRate.At(Updates);
        Update(first, firstGradient, scale, alpha, 0);
        Update(second, secondGradient, scale, alpha, first.Length);
        Updates++;
    }

    /// <summary>The optimizer's internal vectors (moments, accumulators), for checkpoints.</summary>
    protected abstract IEnumerable<T[]> StateVectors { get; }

    /// <summary>Writes the update count and the internal vectors.</summary>
    public void WriteState(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(Updates);
        foreach (var vector in StateVectors)
        {
            writer.Write(vector.Length);
            foreach (T v in vector) writer.Write(double.CreateTruncating(v));
        }
    }

    /// <summary>Restores what <see cref="WriteState"/> wrote.</summary>
    public void ReadState(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        Updates = reader.ReadInt64();
        foreach (var vector in StateVectors)
        {
            int n = reader.ReadInt32();
            if (n != vector.Length) throw new InvalidDataException($"{GetType().Name}: the saved state has {n} parameters, this optimizer {vector.Length}.");
            for (int i = 0; i < n; i++) vector[i] = T.CreateTruncating(reader.ReadDouble());
        }
    }

    /// <summary>Applies one update with the clipped gradient scale·g and step size α to the parameters whose state starts
    /// at <paramref name="offset"/> in the optimizer's vectors.</summary>
    protected abstract void Update(Span<T> theta, ReadOnlySpan<T> gradient, T scale, double alpha, int offset);
}

/// <summary>SGD with momentum μ: v ← μ v + g, θ ← θ + α v (μ = 0: plain θ ← θ + α g).</summary>
public sealed class Sgd<T>(int size, LearningRateSchedule learningRate, double momentum = 0, double? maxGradientNorm = null)
    : Optimizer<T>(size, learningRate, maxGradientNorm) where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly T[] _velocity = new T[size];

    /// <inheritdoc/>
    protected override IEnumerable<T[]> StateVectors => [_velocity];

    /// <summary>μ.</summary>
    public double Momentum { get; } = momentum is >= 0 and < 1 ? momentum : throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "Momentum must be in [0, 1).");

    /// <inheritdoc/>
    protected override void Update(Span<T> theta, ReadOnlySpan<T> gradient, T scale, double alpha, int offset)
    {
        T mu = T.CreateTruncating(Momentum), a = T.CreateTruncating(alpha);
        for (int i = 0; i < theta.Length; i++)
        {
            ref T velocity = ref _velocity[offset + i];
            velocity = mu * velocity + scale * gradient[i];
            theta[i] += a * velocity;
        }
    }
}

/// <summary>Adam (Kingma &amp; Ba): m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ + α m̂/(√v̂ + ε) with m̂ = m/(1−β₁^k),
/// v̂ = v/(1−β₂^k). Defaults β₁ = 0.9, β₂ = 0.999, ε = 1e-8 (PyTorch's; Stable-Baselines3's PPO uses ε = 1e-5).</summary>
public sealed class Adam<T>(int size, LearningRateSchedule learningRate, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, double? maxGradientNorm = null)
    : Optimizer<T>(size, learningRate, maxGradientNorm) where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly T[] _m = new T[size], _v = new T[size];

    /// <inheritdoc/>
    protected override IEnumerable<T[]> StateVectors => [_m, _v];

    /// <summary>The first and second moment estimates m and v (optimizer state for checkpoints).</summary>
    public (T[] M, T[] V) Moments => (_m, _v);

    /// <inheritdoc/>
    protected override void Update(Span<T> theta, ReadOnlySpan<T> gradient, T scale, double alpha, int offset)
    {
        long k = Updates + 1;
        T b1 = T.CreateTruncating(beta1), b2 = T.CreateTruncating(beta2), eps = T.CreateTruncating(epsilon);
        T c1 = T.CreateTruncating(1 - Math.Pow(beta1, k)), c2 = T.CreateTruncating(1 - Math.Pow(beta2, k));
        T a = T.CreateTruncating(alpha);
        // the same arithmetic, lane by lane: m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ + α (m/c₁)/(√(v/c₂) + ε)
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vb1 = new Vector<T>(b1); var vb1c = new Vector<T>(T.One - b1);
            var vb2 = new Vector<T>(b2); var vb2c = new Vector<T>(T.One - b2);
            var vc1 = new Vector<T>(c1); var vc2 = new Vector<T>(c2); var veps = new Vector<T>(eps); var va = new Vector<T>(a); var vs = new Vector<T>(scale);
            for (; i <= theta.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var g = vs * new Vector<T>(gradient[i..]);
                var m = vb1 * new Vector<T>(_m.AsSpan(offset + i)) + vb1c * g;
                var v = vb2 * new Vector<T>(_v.AsSpan(offset + i)) + vb2c * g * g;
                m.CopyTo(_m.AsSpan(offset + i));
                v.CopyTo(_v.AsSpan(offset + i));
                var t = new Vector<T>(theta[i..]) + va * (m / vc1) / (Vector.SquareRoot(v / vc2) + veps);
                t.CopyTo(theta[i..]);
            }
        }
        for (; i < theta.Length; i++)
        {
            T g = scale * gradient[i];
            ref T m = ref _m[offset + i], v = ref _v[offset + i];
            m = b1 * m + (T.One - b1) * g;
            v = b2 * v + (T.One - b2) * g * g;
            theta[i] += a * (m / c1) / (T.Sqrt(v / c2) + eps);
        }
    }
}

/// <summary>AdaGrad: G ← G + g², θ ← θ + α g/(√G + ε).</summary>
public sealed class AdaGrad<T>(int size, LearningRateSchedule learningRate, double epsilon = 1e-10, double? maxGradientNorm = null)
    : Optimizer<T>(size, learningRate, maxGradientNorm) where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly T[] _sum = new T[size];

    /// <inheritdoc/>
    protected override IEnumerable<T[]> StateVectors => [_sum];

    /// <inheritdoc/>
    protected override void Update(Span<T> theta, ReadOnlySpan<T> gradient, T scale, double alpha, int offset)
    {
        T a = T.CreateTruncating(alpha), eps = T.CreateTruncating(epsilon);
        for (int i = 0; i < theta.Length; i++)
        {
            T g = scale * gradient[i];
            ref T sum = ref _sum[offset + i];
            sum += g * g;
            theta[i] += a * g / (T.Sqrt(sum) + eps);
        }
    }
}

/// <summary>RMSProp: v ← ρv + (1−ρ)g², θ ← θ + α g/(√v + ε) (PyTorch's and Stable-Baselines3's form), or with
/// <paramref name="epsilonInsideRoot"/> θ ← θ + α g/√(v + ε) (the A3C paper's and TensorFlow's form). Defaults ρ = 0.99,
/// ε = 1e-5 (Stable-Baselines3's A2C).</summary>
public sealed class RmsProp<T>(int size, LearningRateSchedule learningRate, double rho = 0.99, double epsilon = 1e-5, double? maxGradientNorm = null,
    bool epsilonInsideRoot = false)
    : Optimizer<T>(size, learningRate, maxGradientNorm) where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly T[] _v = new T[size];

    /// <inheritdoc/>
    protected override IEnumerable<T[]> StateVectors => [_v];

    /// <inheritdoc/>
    protected override void Update(Span<T> theta, ReadOnlySpan<T> gradient, T scale, double alpha, int offset)
    {
        T r = T.CreateTruncating(rho), a = T.CreateTruncating(alpha), eps = T.CreateTruncating(epsilon);
        for (int i = 0; i < theta.Length; i++)
        {
            T g = scale * gradient[i];
            ref T v = ref _v[offset + i];
            v = r * v + (T.One - r) * g * g;
            theta[i] += a * g / (epsilonInsideRoot ? T.Sqrt(v + eps) : T.Sqrt(v) + eps);
        }
    }
}
