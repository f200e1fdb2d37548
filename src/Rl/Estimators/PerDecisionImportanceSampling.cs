using System.Numerics;
using PurePg.Autodiff;

namespace PurePg.Rl.Estimators;

/// <summary>
/// The per-decision (causal) off-policy policy gradient: each reward is weighted by the ratio product up to its own time
/// only, since later actions cannot change it:
/// ĝ = (1/N) Σ_i Σ_t ∇θ log π_θ(a_t|s_t) · Σ_{t'≥t} γ^{t'} P_{t'} r_{t'}, with P_{t'} = Π_{k≤t'} ρ_k = exp(Σ_{k≤t'} log ρ_k).
/// Unbiased for ∇J(θ); at θ = β every P = 1 and it is the on-policy reward-to-go estimator Σ_t γ^t ∇log π·G_t, number
/// for number. Its variance still grows with the horizon (a reward at t' carries t' + 1 factors) but slower than the
/// full ratio's.
/// <para>It is the gradient of Σ_t c_t · log π_θ(a_t|s_t) with c_t = γ^t Σ_{t'≥t} γ^{t'−t} P_{t'} r_{t'} held constant
/// (equivalently of (1/N) Σ_i Σ_{t'} γ^{t'} P_{t'}(θ) r_{t'}); <see cref="Accumulate"/> computes it that way on the tape.
/// Episodes lie back to back in every array.</para>
/// </summary>
public static class PerDecisionImportanceSampling
{
    const string Who = "PerDecisionImportanceSampling";

    /// <summary>c_t = γ^t Σ_{t'≥t} γ^{t'−t} P̃_{t'} r_{t'} for every step, where P̃ is P with each factor truncated to
    /// min(ρ, c) if asked and, if self-normalized, divided by the mean of P_{t'} over the episodes that reach step t'.
    /// Throws <see cref="OverflowException"/> when a product does not fit in <typeparamref name="T"/>.</summary>
    public static ImportanceStatistics Coefficients<T>(ReadOnlySpan<T> logTarget, ReadOnlySpan<T> logBehaviour, ReadOnlySpan<T> rewards,
        ReadOnlySpan<int> episodeLengths, double gamma, Span<T> coefficients, ImportanceSamplingOptions options = default)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int n = logTarget.Length, episodes = episodeLengths.Length;
        ImportanceWeights.CheckEpisodeBatch(n, rewards.Length, coefficients.Length, episodeLengths, gamma, Who);
        int longest = 0;
        foreach (int length in episodeLengths) longest = Math.Max(longest, length);
        var logP = ImportanceWeights.Rent(n);
        var shift = ImportanceWeights.Rent(longest);
        var sum = ImportanceWeights.Rent(longest);
        try
        {
            int cut = ImportanceWeights.LogRatios(logTarget, logBehaviour, logP.AsSpan(0, n), options, Who);
            for (int i = 0, start = 0; i < episodes; start += episodeLengths[i++])
                for (int t = start + 1; t < start + episodeLengths[i]; t++) logP[t] += logP[t - 1]; // log P_t = Σ_{k≤t} log ρ_k
            var stats = new ImportanceStatistics(ImportanceWeights.EffectiveSampleSize(logP.AsSpan(0, n)), n,
                ImportanceWeights.Max(logP.AsSpan(0, n)), (double)cut / Math.Max(n, 1));
            if (options.SelfNormalized) Normalizers(logP, episodeLengths, shift.AsSpan(0, longest), sum.AsSpan(0, longest));
            double limit = ImportanceWeights.LogLimit<T>();
            for (int i = 0, start = 0; i < episodes; start += episodeLengths[i++])
                for (int t = 0; t < episodeLengths[i]; t++)
                {
                    double lp = logP[start + t] - (options.SelfNormalized ? shift[t] : 0);
                    if (lp > limit) throw ImportanceWeights.Overflow<T>(lp, limit, Who, i, t); // the first product past the range
                }
            for (int i = 0, start = 0; i < episodes; start += episodeLengths[i++])
            {
                int length = episodeLengths[i];
                double g = 0;
                for (int t = length - 1; t >= 0; t--)
                {
                    double lp = logP[start + t] - (options.SelfNormalized ? shift[t] : 0);
                    double p = Math.Exp(lp);
                    g = p * double.CreateTruncating(rewards[start + t]) + gamma * g;
                    T c = T.CreateTruncating(Math.Pow(gamma, t) * g);
                    if (!T.IsFinite(c))
                        throw new OverflowException($"{Who}: the weighted reward-to-go of episode {i} at step {t} is {g:G6} and overflows {typeof(T).Name}.");
                    coefficients[start + t] = c;
                }
            }
            return stats;
        }
        finally
        {
            ImportanceWeights.Return(logP);
            ImportanceWeights.Return(shift);
            ImportanceWeights.Return(sum);
        }
    }

    /// <summary>shift[t] = log((1/n_t) Σ_{i: length_i > t} P_{i,t}), the log of the mean product at step t.</summary>
    static void Normalizers(double[] logP, ReadOnlySpan<int> episodeLengths, Span<double> shift, Span<double> sum)
    {
        shift.Fill(double.NegativeInfinity); // first the running max per step, then the log of the mean
        for (int i = 0, start = 0; i < episodeLengths.Length; start += episodeLengths[i++])
            for (int t = 0; t < episodeLengths[i]; t++) shift[t] = Math.Max(shift[t], logP[start + t]);
        sum.Clear();
        for (int i = 0, start = 0; i < episodeLengths.Length; start += episodeLengths[i++])
            for (int t = 0; t < episodeLengths[i]; t++) sum[t] += Math.Exp(logP[start + t] - shift[t]);
        for (int t = 0; t < shift.Length; t++)
        {
            int alive = 0;
            foreach (int length in episodeLengths) if (length > t) alive++;
            shift[t] += Math.Log(sum[t]) - Math.Log(alive);
        }
    }

    /// <summary>Adds ĝ to <paramref name="tape"/>'s parameter gradients: reads log π_θ(a_t|s_t) from
    /// <paramref name="logProb"/> ([n, 1]), forms the coefficients into <paramref name="coefficients"/> (n values,
    /// caller-owned) and back-propagates (1/N) Σ_t c_t log π_θ(a_t|s_t).</summary>
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
