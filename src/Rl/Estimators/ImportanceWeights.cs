using System.Buffers;
using System.Numerics;

namespace PurePg.Rl.Estimators;

/// <summary>
/// How the importance ratios ρ_t = π_θ(a_t|s_t) / π_β(a_t|s_t) of off-policy data are tamed. Both options trade bias for
/// variance; with neither, the full-trajectory and per-decision estimators are unbiased.
/// </summary>
public readonly record struct ImportanceSamplingOptions
{
    /// <summary>c of the truncation ρ̄_k = min(ρ_k, c) applied to every per-step factor before products are formed (as
    /// Retrace and V-trace do); null for none. Bias: E_β[ρ̄·X] = E_θ[X] − E_β[(ρ − c)⁺·X], so the estimate leans toward
    /// π_β's view wherever π_θ puts more than c times π_β's probability on an action; none when every ρ_k ≤ c. Must be
    /// positive.</summary>
    public double? Truncation { get; init; }

    /// <summary>Weighted (self-normalized) importance sampling: the weights are divided by their batch mean (for the
    /// per-decision form, by their mean over the episodes still running at each step), so that they average 1. Bias: the
    /// estimate is a ratio of two unbiased means, E[Σ w X / Σ w] ≠ E[w X], biased by O(1/N) for N samples but consistent
    /// and bounded by the largest |X|; at θ = β it is exactly the on-policy estimate. It also cannot overflow: the weights
    /// are formed as exp(log w − log Σ w).</summary>
    public bool SelfNormalized { get; init; }

    internal void Validate()
    {
        if (Truncation is double c && !(c > 0 && double.IsFinite(c)))
            throw new ArgumentOutOfRangeException(nameof(Truncation), c, "The truncation level c of min(ρ, c) must be positive and finite.");
    }
}

/// <summary>What the importance weights of one batch looked like.</summary>
/// <param name="EffectiveSampleSize">(Σ w)² / Σ w² over the weights the estimator applies (trajectory weights W_i, the
/// per-decision products, or the per-step ratios): the number of on-policy samples the batch is worth; equal to the
/// count when every w is equal.</param>
/// <param name="Count">How many weights that is.</param>
/// <param name="MaxLogWeight">The largest log w (before self-normalization): how far the worst sample is from π_β.</param>
/// <param name="TruncatedFraction">The fraction of per-step factors ρ_k that the truncation cut to c.</param>
public readonly record struct ImportanceStatistics(double EffectiveSampleSize, int Count, double MaxLogWeight, double TruncatedFraction);

/// <summary>The pieces the three importance-sampling estimators share: per-step log-ratios log ρ_t = log π_θ − log π_β
/// (never a quotient of probabilities), truncation in log space, exp with an overflow report, and the effective sample
/// size computed stably from log-weights.</summary>
internal static class ImportanceWeights
{
    /// <summary>log w above this does not fit in a double (exp(709.78) ≈ 1.8e308).</summary>
    const double MaxLogDouble = 709.78;

    /// <summary>log ρ̄_t = min(log π_θ(a_t|s_t) − log π_β(a_t|s_t), log c) into <paramref name="logRatios"/>; counts the
    /// cut factors.</summary>
    public static int LogRatios<T>(ReadOnlySpan<T> logTarget, ReadOnlySpan<T> logBehaviour, Span<double> logRatios, in ImportanceSamplingOptions options, string who)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        options.Validate();
        if (logTarget.Length != logBehaviour.Length)
            throw new ArgumentException($"{who}: {logTarget.Length} log π_θ values but {logBehaviour.Length} log π_β values.");
        double logC = options.Truncation is double c ? Math.Log(c) : double.PositiveInfinity;
        int cut = 0;
        for (int t = 0; t < logTarget.Length; t++)
        {
            double lt = double.CreateTruncating(logTarget[t]), lb = double.CreateTruncating(logBehaviour[t]);
            if (!double.IsFinite(lb))
                throw new ArgumentException($"{who}: log π_β(a|s) at step {t} is {lb}; the behaviour policy must give every recorded action positive probability.");
            if (double.IsNaN(lt) || double.IsPositiveInfinity(lt))
                throw new ArgumentException($"{who}: log π_θ(a|s) at step {t} is {lt}.");
            double r = lt - lb;
            if (r > logC) { r = logC; cut++; }
            logRatios[t] = r;
        }
        return cut;
    }

    /// <summary>The largest log w whose exp fits in <typeparamref name="T"/>.</summary>
    public static double LogLimit<T>() where T : unmanaged, IBinaryFloatingPointIeee754<T> =>
        Math.Min(MaxLogDouble, Math.Log(double.CreateTruncating(T.BitDecrement(T.PositiveInfinity))));

    /// <summary>exp(log w), or an <see cref="OverflowException"/> naming the weight (episode and step; −1 for none)
    /// when it does not fit in <typeparamref name="T"/>.</summary>
    public static double Exp<T>(double logWeight, string who, int episode, int step)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        double limit = LogLimit<T>();
        if (logWeight > limit) throw Overflow<T>(logWeight, limit, who, episode, step);
        return Math.Exp(logWeight);
    }

    public static OverflowException Overflow<T>(double logWeight, double limit, string who, int episode, int step)
    {
        string what = episode < 0 ? $"step {step}" : step < 0 ? $"episode {episode}" : $"episode {episode} at step {step}";
        return new OverflowException($"{who}: the importance weight exp({logWeight:G6}) of {what} overflows {typeof(T).Name} (largest exp({limit:F2})): use per-step ratios, a truncation c, or self-normalization.");
    }

    /// <summary>(Σ w)² / Σ w² from log-weights, scaled by the largest so that nothing overflows.</summary>
    public static double EffectiveSampleSize(ReadOnlySpan<double> logWeights)
    {
        if (logWeights.IsEmpty) return 0;
        double max = double.NegativeInfinity;
        foreach (double l in logWeights) max = Math.Max(max, l);
        if (double.IsNegativeInfinity(max)) return 0;
        double sum = 0, sumSq = 0;
        foreach (double l in logWeights)
        {
            double w = Math.Exp(l - max);
            sum += w;
            sumSq += w * w;
        }
        return sum * sum / sumSq;
    }

    /// <summary>log(Σ exp(l)) over <paramref name="logWeights"/>.</summary>
    public static double LogSumExp(ReadOnlySpan<double> logWeights)
    {
        double max = double.NegativeInfinity;
        foreach (double l in logWeights) max = Math.Max(max, l);
        if (double.IsNegativeInfinity(max)) return max;
        double sum = 0;
        foreach (double l in logWeights) sum += Math.Exp(l - max);
        return max + Math.Log(sum);
    }

    public static double Max(ReadOnlySpan<double> values)
    {
        double max = double.NegativeInfinity;
        foreach (double v in values) max = Math.Max(max, v);
        return max;
    }

    /// <summary>The checks of the episode-based estimators: γ in (0, 1], one reward and one output per step, and episode
    /// lengths that are positive and cover the batch.</summary>
    public static void CheckEpisodeBatch(int steps, int rewards, int outputs, ReadOnlySpan<int> episodeLengths, double gamma, string who)
    {
        Returns.CheckGamma(gamma);
        if (rewards != steps || outputs != steps)
            throw new ArgumentException($"{who}: {steps} log π_θ values, {rewards} rewards and {outputs} outputs; all must be equal.");
        CheckEpisodes(episodeLengths, steps, who);
    }

    /// <summary>Checks that <paramref name="episodeLengths"/> are positive and cover <paramref name="steps"/> steps.</summary>
    public static void CheckEpisodes(ReadOnlySpan<int> episodeLengths, int steps, string who)
    {
        long total = 0;
        for (int i = 0; i < episodeLengths.Length; i++)
        {
            if (episodeLengths[i] <= 0) throw new ArgumentException($"{who}: episode {i} has length {episodeLengths[i]}.");
            total += episodeLengths[i];
        }
        if (total != steps) throw new ArgumentException($"{who}: the episode lengths add up to {total} steps but the batch has {steps}.");
    }

    public static double[] Rent(int n) => ArrayPool<double>.Shared.Rent(Math.Max(n, 1));

    public static void Return(double[] a) => ArrayPool<double>.Shared.Return(a);
}
