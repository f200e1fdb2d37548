using PurePg.Rl.Rollouts;

namespace PurePg.Rl.Estimators;

/// <summary>What one V-trace computation saw: the mean of the truncated weights ρ_t = min(ρ̄, π/μ), and the fractions of
/// steps whose ρ and c were cut by ρ̄ and c̄.</summary>
public readonly record struct VTraceStatistics(double MeanRho, double RhoClippedFraction, double CClippedFraction);

/// <summary>
/// V-trace (Espeholt et al. 2018, IMPALA): value targets and policy-gradient advantages for a rollout acted by a
/// behaviour policy μ (an older θ) while the learner's policy is π. With ρ_t = min(ρ̄, π(a_t|x_t)/μ(a_t|x_t)),
/// c_t = min(c̄, π(a_t|x_t)/μ(a_t|x_t)) and δ_t = ρ_t (r_t + γ V(x_{t+1}) − V(x_t)):
/// <code>
/// v_s = V(x_s) + Σ_{t=s}^{s+n−1} γ^{t−s} (Π_{i=s}^{t−1} c_i) δ_t        (the definition, n steps to the rollout's end)
///     = V(x_s) + δ_s + γ c_s (v_{s+1} − V(x_{s+1}))                      (the recursion computed here)
/// Â_s = ρ_s (r_s + γ v_{s+1} − V(x_s))                                    (the policy-gradient advantage)
/// </code>
/// An episode's end cuts the sums: after a terminated step V(x_{t+1}) = 0 and nothing flows back across it; after a
/// truncated step V(x_{t+1}) is V of the final observation and nothing flows back either; after the rollout's last step,
/// v_T = V(x_T). On-policy (π = μ) with ρ̄, c̄ ≥ 1 every ρ = c = 1 and v_s is the n-step bootstrapped return
/// Σ γ^{t−s} r_t + γ^n V(x_{s+n}) — GAE(γ, λ = 1)'s target. The ratios come from the importance-sampling code's
/// truncated log-ratios (<see cref="ImportanceSamplingOptions.Truncation"/>), computed in log space.
/// </summary>
public static class VTrace
{
    /// <summary>V-trace targets v_s and advantages Â_s for the [T, N] rollout <paramref name="buffer"/> (rewards, flags
    /// and the behaviour's log μ(a|x) as recorded), given the learner's log π(a_t|x_t) [T, N], V(x_t) [T, N], V of the final
    /// observation where a step was truncated [T, N] (read only there) and V(x_T) [N].</summary>
    public static VTraceStatistics Compute(RolloutBuffer buffer, ReadOnlySpan<float> logTarget, ReadOnlySpan<float> values, ReadOnlySpan<float> truncatedValues,
        ReadOnlySpan<float> lastValues, double gamma, double rhoBar, double cBar, Span<float> targets, Span<float> advantages)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        return Compute(buffer.Steps, buffer.NumEnvs, buffer.Rewards, buffer.Terminated, buffer.Truncated, buffer.LogProbs, logTarget, values, truncatedValues,
            lastValues, gamma, rhoBar, cBar, targets, advantages);
    }

    /// <summary>The same on plain [T, N] step-major arrays: r_t, terminated, truncated, log μ(a_t|x_t), log π(a_t|x_t),
    /// V(x_t), V(final observation) where truncated, and V(x_T) [N].</summary>
    /// <exception cref="ArgumentException">A length that is not T·N (or N), ρ̄ or c̄ not positive, γ outside [0, 1], or a log μ
    /// that is not finite (named by step).</exception>
    public static VTraceStatistics Compute(int steps, int copies, ReadOnlySpan<float> rewards, ReadOnlySpan<bool> terminated, ReadOnlySpan<bool> truncated,
        ReadOnlySpan<float> logBehaviour, ReadOnlySpan<float> logTarget, ReadOnlySpan<float> values, ReadOnlySpan<float> truncatedValues,
        ReadOnlySpan<float> lastValues, double gamma, double rhoBar, double cBar, Span<float> targets, Span<float> advantages)
    {
        Returns.CheckGamma(gamma);
        if (!(rhoBar > 0) || !(cBar > 0)) throw new ArgumentOutOfRangeException(nameof(rhoBar), $"V-trace: ρ̄ = {rhoBar} and c̄ = {cBar} must be positive.");
        int n = steps * copies;
        foreach (var (length, name) in new[] { (rewards.Length, "rewards"), (terminated.Length, "terminated"), (truncated.Length, "truncated"),
                     (logBehaviour.Length, "log μ"), (logTarget.Length, "log π"), (values.Length, "V"), (truncatedValues.Length, "truncated V"),
                     (targets.Length, "targets"), (advantages.Length, "advantages") })
            if (length != n) throw new ArgumentException($"V-trace: {name} holds {length} values for [T, N] = [{steps}, {copies}].");
        if (lastValues.Length != copies) throw new ArgumentException($"V-trace: {lastValues.Length} last values for {copies} copies.");
        // ρ_t and c_t from the importance-sampling code's truncated log-ratios (log space; log μ checked finite there)
        Span<double> logRho = n <= 4096 ? stackalloc double[n] : new double[n];
        Span<double> logC = n <= 4096 ? stackalloc double[n] : new double[n];
        int rhoCut = ImportanceWeights.LogRatios(logTarget, logBehaviour, logRho, new ImportanceSamplingOptions { Truncation = rhoBar }, "V-trace");
        int cCut = ImportanceWeights.LogRatios(logTarget, logBehaviour, logC, new ImportanceSamplingOptions { Truncation = cBar }, "V-trace");
        double rhoSum = 0;
        for (int i = 0; i < copies; i++)
        {
            double nextValue = lastValues[i], nextCorrection = 0; // V(x_{t+1}) and v_{t+1} − V(x_{t+1})
            for (int t = steps - 1; t >= 0; t--)
            {
                int k = t * copies + i;
                if (terminated[k]) (nextValue, nextCorrection) = (0, 0);
                else if (truncated[k]) (nextValue, nextCorrection) = (truncatedValues[k], 0);
                double rho = Math.Exp(logRho[k]), c = Math.Exp(logC[k]);
                rhoSum += rho;
                double v = values[k];
                double q = rewards[k] + gamma * (nextValue + nextCorrection); // r_t + γ v_{t+1}
                double delta = rho * (rewards[k] + gamma * nextValue - v);
                double correction = delta + gamma * c * nextCorrection;       // v_t − V(x_t)
                targets[k] = (float)(v + correction);
                advantages[k] = (float)(rho * (q - v));
                (nextValue, nextCorrection) = (v, correction);
            }
        }
        return new VTraceStatistics(n == 0 ? double.NaN : rhoSum / n, n == 0 ? 0 : (double)rhoCut / n, n == 0 ? 0 : (double)cCut / n);
    }
}
