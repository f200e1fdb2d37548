using System.Numerics;
using PurePg.Autodiff;

namespace PurePg.Rl.Distributions;

/// <summary>
/// The diagonal Gaussian π(a|s) = N(μ(s), diag σ²) with mean μ [batch, d] from a network and a state-independent
/// log σ [1, d]. log σ is clamped to [<see cref="MinLogStd"/>, <see cref="MaxLogStd"/>] = [−20, 2] when the
/// distribution is made, so σ ≥ e⁻²⁰ ≈ 2·10⁻⁹ can never underflow to 0 (not even in float32) and the log-density stays
/// finite; outside the range the gradient with respect to log σ is 0.
/// </summary>
public readonly struct DiagonalGaussian<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>The smallest log σ: σ ≥ e⁻²⁰.</summary>
    public const double MinLogStd = -20;

    /// <summary>The largest log σ: σ ≤ e² ≈ 7.4.</summary>
    public const double MaxLogStd = 2;

    private static readonly T HalfLog2Pi = T.CreateTruncating(0.5 * Math.Log(2 * Math.PI));

    /// <summary>The distribution with mean <paramref name="mean"/> [batch, d] and log σ <paramref name="logStd"/> [1, d]
    /// (clamped here).</summary>
    public DiagonalGaussian(Tape<T> tape, Var<T> mean, Var<T> logStd)
    {
        ArgumentNullException.ThrowIfNull(tape);
        if (logStd.Shape != new Shape(1, mean.Cols))
            throw new ArgumentException($"DiagonalGaussian: log σ has shape {logStd.Shape}; a mean of shape {mean.Shape} needs [1, {mean.Cols}].", nameof(logStd));
        Tape = tape;
        Mean = mean;
        LogStd = tape.Clamp(logStd, T.CreateTruncating(MinLogStd), T.CreateTruncating(MaxLogStd));
    }

    /// <summary>The tape the distribution is recorded on.</summary>
    public Tape<T> Tape { get; }

    /// <summary>μ, [batch, d].</summary>
    public Var<T> Mean { get; }

    /// <summary>log σ after clamping, [1, d].</summary>
    public Var<T> LogStd { get; }

    /// <summary>d, the action dimension.</summary>
    public int Dimension => Mean.Cols;

    /// <summary>log π(a_i|s_i) = −½ Σ_j ((a_ij − μ_ij)/σ_j)² − Σ_j log σ_j − (d/2) log 2π, [batch, 1];
    /// <paramref name="actions"/> is [batch, d] row-major.</summary>
    public Var<T> LogProb(ReadOnlySpan<T> actions)
    {
        Shape s = Mean.Shape;
        if (actions.Length != s.Length) throw new ArgumentException($"LogProb: {actions.Length} action values for a mean of shape {s}.", nameof(actions));
        var z = (Tape.Constant(actions, s.Rows, s.Cols) - Mean) / Tape.Exp(LogStd);
        var quadratic = Tape.SumRows(Tape.Square(z)) * T.CreateTruncating(-0.5);
        return quadratic - Tape.Sum(LogStd) - T.CreateTruncating(s.Cols) * HalfLog2Pi;
    }

    /// <summary>H = Σ_j (log σ_j + ½ + ½ log 2π), the same for every state, [1, 1].</summary>
    public Var<T> Entropy() => Tape.Sum(LogStd) + T.CreateTruncating(Dimension) * (T.CreateTruncating(0.5) + HalfLog2Pi);

    /// <summary>
    /// KL(π_old(·|s_i) ‖ π_θ(·|s_i)) = Σ_j [log σ_j − log σ_old,j + (σ_old,j² + (μ_old,ij − μ_ij)²) / (2σ_j²) − ½], [batch, 1],
    /// with the old mean [batch, d] and old log σ [1, d] held constant.
    /// </summary>
    public Var<T> KlFrom(ReadOnlySpan<T> oldMean, ReadOnlySpan<T> oldLogStd)
    {
        Shape s = Mean.Shape;
        if (oldMean.Length != s.Length || oldLogStd.Length != s.Cols)
            throw new ArgumentException($"KlFrom: old mean of {oldMean.Length} and old log σ of {oldLogStd.Length} values for a mean of shape {s}.");
        var oldVariance = new T[s.Cols];
        var offset = new T[s.Cols];
        for (int j = 0; j < s.Cols; j++)
        {
            T ls = T.Clamp(oldLogStd[j], T.CreateTruncating(MinLogStd), T.CreateTruncating(MaxLogStd));
            oldVariance[j] = T.Exp(ls + ls);
            offset[j] = ls + T.CreateTruncating(0.5);
        }
        var diff = Tape.Constant(oldMean, s.Rows, s.Cols) - Mean;
        var numerator = Tape.Square(diff) + Tape.Constant(oldVariance, 1, s.Cols);
        var twiceVariance = Tape.Exp(LogStd * T.CreateTruncating(2)) * T.CreateTruncating(2);
        return Tape.SumRows(numerator / twiceVariance + (LogStd - Tape.Constant(offset, 1, s.Cols)));
    }

    /// <summary>Draws a_i = μ_i + σ ⊙ ε_i with ε_i ~ N(0, I) into <paramref name="actions"/> [batch, d].</summary>
    public void Sample(Rng rng, Span<T> actions)
    {
        ArgumentNullException.ThrowIfNull(rng);
        Shape s = Mean.Shape;
        Categorical<T>.CheckLength(actions.Length, s.Length, nameof(actions));
        for (int r = 0; r < s.Rows; r++) SampleRow(r, rng, actions);
    }

    /// <summary>Draws a_i = μ_i + σ ⊙ ε_i with row i's ε_i from its own stream <paramref name="streams"/>[i]: row i's
    /// action then depends on its stream alone, not on the rows sampled with it.</summary>
    public void Sample(ReadOnlySpan<Rng> streams, Span<T> actions)
    {
        Shape s = Mean.Shape;
        Categorical<T>.CheckLength(streams.Length, s.Rows, nameof(streams));
        Categorical<T>.CheckLength(actions.Length, s.Length, nameof(actions));
        for (int r = 0; r < s.Rows; r++) SampleRow(r, streams[r] ?? throw new ArgumentNullException(nameof(streams), $"streams[{r}] is null."), actions);
    }

    private void SampleRow(int r, Rng rng, Span<T> actions)
    {
        int d = Mean.Shape.Cols;
        ReadOnlySpan<T> mu = Tape.Value(Mean), logStd = Tape.Value(LogStd);
        for (int j = 0; j < d; j++)
            actions[r * d + j] = mu[r * d + j] + T.Exp(logStd[j]) * T.CreateTruncating(rng.NextGaussian());
    }

    /// <summary>The mode μ, copied into <paramref name="actions"/> [batch, d].</summary>
    public void Mode(Span<T> actions)
    {
        Categorical<T>.CheckLength(actions.Length, Mean.Shape.Length, nameof(actions));
        Tape.Value(Mean).CopyTo(actions);
    }
}
