using System.Numerics;
using PurePg.Autodiff;

namespace PurePg.Rl.Estimators;

/// <summary>
/// The score-function estimate of the policy gradient, ĝ = c · Σ_t ∇θ log π_θ(a_t|s_t) · Â_t, accumulated into the tape's
/// gradient vector by one backward pass of the surrogate c · Σ_t log π_θ(a_t|s_t) · Â_t (Â held constant). The result is
/// an ascent direction on J: pass it to <see cref="Optimizers.Optimizer{T}.Ascend(Span{T}, ReadOnlySpan{T})"/> as it is. With c = 1/M for M
/// episodes, ĝ is the lectures' (1/M) Σ_i Σ_h ∇log π(a_ih|s_ih) Â_ih.
/// </summary>
public static class PolicyGradient
{
    /// <summary>Adds ĝ to <paramref name="tape"/>'s parameter gradients; <paramref name="logProbs"/> is [n, 1] and
    /// <paramref name="weights"/> holds the n weights Â_t.</summary>
    public static void Accumulate<T>(Tape<T> tape, Var<T> logProbs, ReadOnlyMemory<T> weights, T scale)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        if (logProbs.Cols != 1 || weights.Length != logProbs.Rows)
            throw new ArgumentException($"PolicyGradient: log-probabilities of shape {logProbs.Shape} need one weight per row, got {weights.Length}.");
        var surrogate = tape.Sum(logProbs * tape.Borrow(weights, logProbs.Rows, 1)) * scale;
        tape.Backward(surrogate);
    }
}
