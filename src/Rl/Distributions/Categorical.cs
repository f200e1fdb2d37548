using System.Numerics;
using PurePg.Autodiff;

namespace PurePg.Rl.Distributions;

/// <summary>
/// The categorical distribution π(a|s) = softmax(z(s))_a over the logits z [batch, |A|] recorded on a tape. Every
/// quantity is a differentiable tape value built on the max-subtracted log-softmax, so logits of magnitude 1e3 give
/// finite values and gradients.
/// </summary>
public readonly struct Categorical<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>The distribution with logits <paramref name="logits"/> [batch, |A|] on <paramref name="tape"/>.</summary>
    public Categorical(Tape<T> tape, Var<T> logits)
    {
        ArgumentNullException.ThrowIfNull(tape);
        Tape = tape;
        Logits = logits;
    }

    /// <summary>The tape the distribution is recorded on.</summary>
    public Tape<T> Tape { get; }

    /// <summary>z, [batch, |A|].</summary>
    public Var<T> Logits { get; }

    /// <summary>log π(a_i|s_i) = z_{i,a_i} − log Σ_b exp z_{i,b}, [batch, 1].</summary>
    public Var<T> LogProb(ReadOnlySpan<int> actions) => Tape.LogSoftmaxGather(Logits, actions);

    /// <summary>log π(·|s_i) for every action, [batch, |A|].</summary>
    public Var<T> LogProbs() => Tape.LogSoftmax(Logits);

    /// <summary>H(π(·|s_i)) = −Σ_a π(a|s_i) log π(a|s_i), [batch, 1].</summary>
    public Var<T> Entropy()
    {
        var logP = Tape.LogSoftmax(Logits);
        return -Tape.SumRows(Tape.Exp(logP) * logP);
    }

    /// <summary>
    /// KL(π_old(·|s_i) ‖ π_θ(·|s_i)) = Σ_a π_old(a|s_i) (log π_old(a|s_i) − log π_θ(a|s_i)), [batch, 1], with the old
    /// logits <paramref name="oldLogits"/> [batch, |A|] held constant (no gradient flows into them).
    /// </summary>
    public Var<T> KlFrom(ReadOnlySpan<T> oldLogits)
    {
        Shape s = Logits.Shape;
        if (oldLogits.Length != s.Length)
            throw new ArgumentException($"KlFrom: {oldLogits.Length} old logits for logits of shape {s}.", nameof(oldLogits));
        var oldLogP = new T[s.Length];
        LogSoftmaxRows(oldLogits, oldLogP, s.Rows, s.Cols);
        var oldP = new T[s.Length];
        for (int k = 0; k < oldP.Length; k++) oldP[k] = T.Exp(oldLogP[k]);
        var p = Tape.Constant(oldP, s.Rows, s.Cols);
        return Tape.SumRows(p * (Tape.Constant(oldLogP, s.Rows, s.Cols) - Tape.LogSoftmax(Logits)));
    }

    /// <summary>Draws a_i ~ π(·|s_i) for every row, by inverting the cumulative distribution with one uniform per row.</summary>
    public void Sample(Rng rng, Span<int> actions)
    {
        ArgumentNullException.ThrowIfNull(rng);
        Shape s = Logits.Shape;
        CheckLength(actions.Length, s.Rows, nameof(actions));
        for (int r = 0; r < s.Rows; r++) actions[r] = SampleRow(r, rng);
    }

    /// <summary>Draws a_i ~ π(·|s_i) for every row i with the uniform of its own stream <paramref name="streams"/>[i]:
    /// row i's action then depends on its stream alone, not on the rows sampled with it.</summary>
    public void Sample(ReadOnlySpan<Rng> streams, Span<int> actions)
    {
        Shape s = Logits.Shape;
        CheckLength(streams.Length, s.Rows, nameof(streams));
        CheckLength(actions.Length, s.Rows, nameof(actions));
        for (int r = 0; r < s.Rows; r++) actions[r] = SampleRow(r, streams[r] ?? throw new ArgumentNullException(nameof(streams), $"streams[{r}] is null."));
    }

    private int SampleRow(int r, Rng rng)
    {
        Shape s = Logits.Shape;
        ReadOnlySpan<T> row = Tape.Value(Logits).Slice(r * s.Cols, s.Cols);
        T max = row[0];
        for (int j = 1; j < row.Length; j++) if (row[j] > max) max = row[j];
        double total = 0;
        for (int j = 0; j < row.Length; j++) total += Math.Exp(double.CreateTruncating(row[j] - max));
        double u = rng.NextDouble() * total, cumulative = 0;
        for (int j = 0; j < row.Length; j++)
        {
            cumulative += Math.Exp(double.CreateTruncating(row[j] - max));
            if (u < cumulative) return j;
        }
        return row.Length - 1;
    }

    /// <summary>The most probable action of every row (argmax z, the first on ties).</summary>
    public void Mode(Span<int> actions)
    {
        Shape s = Logits.Shape;
        CheckLength(actions.Length, s.Rows, nameof(actions));
        ReadOnlySpan<T> z = Tape.Value(Logits);
        for (int r = 0; r < s.Rows; r++)
        {
            int best = 0;
            for (int j = 1; j < s.Cols; j++) if (z[r * s.Cols + j] > z[r * s.Cols + best]) best = j;
            actions[r] = best;
        }
    }

    internal static void CheckLength(int length, int expected, string name)
    {
        if (length != expected) throw new ArgumentException($"{name} has {length} elements; the batch has {expected} rows.", name);
    }

    /// <summary>log softmax of each row in plain arithmetic (max subtracted), for constants.</summary>
    internal static void LogSoftmaxRows(ReadOnlySpan<T> z, Span<T> logP, int rows, int cols)
    {
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<T> row = z.Slice(r * cols, cols);
            T max = row[0];
            for (int j = 1; j < cols; j++) if (row[j] > max) max = row[j];
            T sum = T.Zero;
            for (int j = 0; j < cols; j++) sum += T.Exp(row[j] - max);
            T logZ = T.Log(sum);
            for (int j = 0; j < cols; j++) logP[r * cols + j] = row[j] - max - logZ;
        }
    }
}
