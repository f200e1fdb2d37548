using System.Numerics;
using PurePg.Autodiff;

namespace PurePg.Rl.Estimators;

/// <summary>
/// The off-policy policy gradient with the full trajectory ratio, from N episodes collected by a behaviour policy π_β:
/// ĝ = (1/N) Σ_i W_i · Σ_t ∇θ log π_θ(a_t|s_t) · R(τ_i), with W_i = Π_t π_θ(a_t|s_t)/π_β(a_t|s_t) = exp(Σ_t log ρ_t) and
/// R(τ_i) = Σ_t γ^t r_t. Unbiased for ∇J(θ) (E_β[W·f(τ)] = E_θ[f(τ)]); at θ = β every W_i = 1 and it is the on-policy
/// total-return estimator, number for number. Its variance grows exponentially with the horizon — the lectures' "these
/// terms can explode or vanish" — which is why the per-decision and per-step forms exist.
/// <para>It is the gradient of the surrogate Σ_t c_t · log π_θ(a_t|s_t) with c_t = W_i R(τ_i) held constant, and
/// <see cref="Accumulate"/> computes it that way on the tape (∇W = W ∇Σ log π_θ, so differentiating (1/N) Σ W_i R_i
/// gives the same vector). Episodes lie back to back in every array; they must be complete (R(τ) needs the whole
/// episode).</para>
/// </summary>
public static class TrajectoryImportanceSampling
{
    const string Who = "TrajectoryImportanceSampling";

    /// <summary>c_t = W̃_i · R(τ_i) for each step t of episode i, where W̃_i is W_i (each factor truncated to min(ρ, c)
    /// if asked, and divided by the batch mean of the W if self-normalized). Throws <see cref="OverflowException"/> when a
    /// W_i does not fit in <typeparamref name="T"/>.</summary>
    public static ImportanceStatistics Coefficients<T>(ReadOnlySpan<T> logTarget, ReadOnlySpan<T> logBehaviour, ReadOnlySpan<T> rewards,
        ReadOnlySpan<int> episodeLengths, double gamma, Span<T> coefficients, ImportanceSamplingOptions options = default)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int n = logTarget.Length, episodes = episodeLengths.Length;
        ImportanceWeights.CheckEpisodeBatch(n, rewards.Length, coefficients.Length, episodeLengths, gamma, Who);
        var logRatio = ImportanceWeights.Rent(n);
        var logW = ImportanceWeights.Rent(episodes);
        try
        {
            int cut = ImportanceWeights.LogRatios(logTarget, logBehaviour, logRatio.AsSpan(0, n), options, Who);
            for (int i = 0, start = 0; i < episodes; start += episodeLengths[i++])
            {
                double sum = 0;
                for (int t = start; t < start + episodeLengths[i]; t++) sum += logRatio[t];
                logW[i] = sum;
            }
            var logWeights = logW.AsSpan(0, episodes);
            var stats = new ImportanceStatistics(ImportanceWeights.EffectiveSampleSize(logWeights), episodes,
                ImportanceWeights.Max(logWeights), (double)cut / Math.Max(n, 1));
            double shift = options.SelfNormalized ? ImportanceWeights.LogSumExp(logWeights) - Math.Log(episodes) : 0;
            for (int i = 0, start = 0; i < episodes; start += episodeLengths[i++])
            {
                int length = episodeLengths[i];
                double w = ImportanceWeights.Exp<T>(logW[i] - shift, Who, i, -1);
                double total = 0, discount = 1;
                for (int t = start; t < start + length; t++)
                {
                    total += discount * double.CreateTruncating(rewards[t]);
                    discount *= gamma;
                }
                T c = T.CreateTruncating(w * total);
                if (!T.IsFinite(c))
                    throw new OverflowException($"{Who}: W·R(τ) of episode {i} = {w:G6} × {total:G6} overflows {typeof(T).Name}.");
                coefficients.Slice(start, length).Fill(c);
            }
            return stats;
        }
        finally
        {
            ImportanceWeights.Return(logRatio);
            ImportanceWeights.Return(logW);
        }
    }

    /// <summary>Adds ĝ to <paramref name="tape"/>'s parameter gradients: reads log π_θ(a_t|s_t) from
    /// <paramref name="logProb"/> ([n, 1], recorded on the tape), forms the coefficients into
    /// <paramref name="coefficients"/> (n values, caller-owned so that nothing is allocated) and back-propagates
    /// (1/N) Σ_t c_t log π_θ(a_t|s_t).</summary>
    public static ImportanceStatistics Accumulate<T>(Tape<T> tape, Var<T> logProb, ReadOnlySpan<T> logBehaviour, ReadOnlySpan<T> rewards,
        ReadOnlySpan<int> episodeLengths, double gamma, Memory<T> coefficients, ImportanceSamplingOptions options = default)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        var stats = Coefficients(tape.Value(logProb), logBehaviour, rewards, episodeLengths, gamma, coefficients.Span, options);
        PolicyGradient.Accumulate(tape, logProb, coefficients, T.One / T.CreateChecked(episodeLengths.Length));
        return stats;
    }
}
