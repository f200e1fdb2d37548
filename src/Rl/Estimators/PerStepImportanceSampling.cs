using System.Numerics;
using PurePg.Autodiff;

namespace PurePg.Rl.Estimators;

/// <summary>
/// The per-step approximation of the off-policy policy gradient (the lectures' U^IS, the surrogate PPO and TRPO are
/// built on): each step is weighted by its own ratio only, ĝ = (1/N) Σ_i Σ_t ρ_t ∇θ log π_θ(a_t|s_t) · Ĝ_t, where Ĝ_t is
/// an advantage or return estimate made from the behaviour's data (γ^t G_t, G_t − b(s_t), GAE, …). It drops the ratio of
/// the state distributions d^θ(s)/d^β(s), so it is biased when θ is far from β: its expectation is
/// Σ_t Σ_s d^β_t(s) Σ_a π_θ(a|s) ∇log π_θ(a|s) E_β[Ĝ_t | s, a] instead of ∇J(θ); at θ = β it is exact. In exchange its
/// variance stays bounded as the horizon grows. The weights are bounded further by truncation (min(ρ, c)) or
/// self-normalization.
/// <para>It is the gradient of Σ_t c_t · log π_θ(a_t|s_t) with c_t = ρ_t Ĝ_t held constant (equivalently of
/// Σ_t ρ_t(θ) Ĝ_t, since ∇ρ = ρ ∇log π_θ); <see cref="Accumulate"/> computes it that way on the tape. No episode
/// boundaries are needed, so rollout batches cut anywhere can be used as they are.</para>
/// </summary>
public static class PerStepImportanceSampling
{
    const string Who = "PerStepImportanceSampling";

    /// <summary>c_t = ρ̃_t · Ĝ_t, where ρ̃_t is exp(log π_θ − log π_β), truncated to min(ρ, c) if asked and divided by the
    /// batch mean of the ρ if self-normalized. Throws <see cref="OverflowException"/> when a ratio does not fit in
    /// <typeparamref name="T"/>.</summary>
    public static ImportanceStatistics Coefficients<T>(ReadOnlySpan<T> logTarget, ReadOnlySpan<T> logBehaviour, ReadOnlySpan<T> advantages,
        Span<T> coefficients, ImportanceSamplingOptions options = default)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int n = logTarget.Length;
        if (advantages.Length != n || coefficients.Length != n)
            throw new ArgumentException($"{Who}: {n} log π_θ values, {advantages.Length} advantages and {coefficients.Length} outputs; all must be equal.");
        var logRho = ImportanceWeights.Rent(n);
        try
        {
            var span = logRho.AsSpan(0, n);
            int cut = ImportanceWeights.LogRatios(logTarget, logBehaviour, span, options, Who);
            var stats = new ImportanceStatistics(ImportanceWeights.EffectiveSampleSize(span), n, ImportanceWeights.Max(span), (double)cut / Math.Max(n, 1));
            double shift = options.SelfNormalized && n > 0 ? ImportanceWeights.LogSumExp(span) - Math.Log(n) : 0;
            for (int t = 0; t < n; t++)
            {
                double rho = ImportanceWeights.Exp<T>(span[t] - shift, Who, -1, t);
                T c = T.CreateTruncating(rho * double.CreateTruncating(advantages[t]));
                if (!T.IsFinite(c))
                    throw new OverflowException($"{Who}: ρ·Â at step {t} = {rho:G6} × {advantages[t]} overflows {typeof(T).Name}.");
                coefficients[t] = c;
            }
            return stats;
        }
        finally
        {
            ImportanceWeights.Return(logRho);
        }
    }

    /// <summary>Adds <paramref name="scale"/> · Σ_t c_t ∇log π_θ(a_t|s_t) to <paramref name="tape"/>'s parameter
    /// gradients (scale = 1/N for N episodes, or 1/n for the per-step mean): reads log π_θ from
    /// <paramref name="logProb"/> ([n, 1]) and forms the coefficients into <paramref name="coefficients"/> (n values,
    /// caller-owned).</summary>
    public static ImportanceStatistics Accumulate<T>(Tape<T> tape, Var<T> logProb, ReadOnlySpan<T> logBehaviour, ReadOnlySpan<T> advantages,
        Memory<T> coefficients, T scale, ImportanceSamplingOptions options = default)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        var stats = Coefficients(tape.Value(logProb), logBehaviour, advantages, coefficients.Span, options);
        PolicyGradient.Accumulate(tape, logProb, coefficients, scale);
        return stats;
    }
}
