namespace PurePg.Rl.Estimators;

/// <summary>
/// Baselines b subtracted from the returns: none; the batch mean of the returns (constant); a per-step mean b_h
/// (time-dependent); a learned V(s_h) (state-dependent: see <c>Reinforce</c>, whose <c>ReinforceBaseline</c> selects
/// among these); and the variance-optimal constant
/// b_k = E[g_k² R] / E[g_k²] per parameter component. None of them depends on the action taken at the step it is
/// subtracted from, which is what keeps E[∇log π(a|s)·(G − b)] = E[∇log π(a|s)·G].
/// <para>The batch means here leave the episode's own return out (b_i = mean over j ≠ i): the plain mean includes
/// R(τ_i) and so correlates with τ_i's score, biasing the estimate by a factor (1 − 1/M); leaving it out is exactly
/// unbiased at the same variance.</para>
/// </summary>
public static class Baselines
{
    /// <summary>b_i = (1/(M−1)) Σ_{j≠i} R_j for each of the M returns (M ≥ 2).</summary>
    public static void LeaveOneOutMean(ReadOnlySpan<double> returns, Span<double> baseline)
    {
        int m = returns.Length;
        if (m < 2) throw new ArgumentException($"A leave-one-out mean needs at least 2 episodes, got {m}.");
        if (baseline.Length != m) throw new ArgumentException($"{m} returns but {baseline.Length} outputs.");
        double total = 0;
        foreach (double r in returns) total += r;
        for (int i = 0; i < m; i++) baseline[i] = (total - returns[i]) / (m - 1);
    }

    /// <summary>The time-dependent baseline b_h for every episode and step: for episode i, the mean of G_h over the other
    /// episodes; <paramref name="rewardToGo"/> is [M, H] row-major (episodes of equal length H).</summary>
    public static void TimeDependent(ReadOnlySpan<double> rewardToGo, int episodes, Span<double> baseline)
    {
        if (episodes < 2 || rewardToGo.Length % episodes != 0)
            throw new ArgumentException($"{rewardToGo.Length} values do not make {episodes} (≥ 2) equal-length episodes.");
        if (baseline.Length != rewardToGo.Length) throw new ArgumentException("The baseline needs one value per step.");
        int h = rewardToGo.Length / episodes;
        for (int t = 0; t < h; t++)
        {
            double total = 0;
            for (int i = 0; i < episodes; i++) total += rewardToGo[i * h + t];
            for (int i = 0; i < episodes; i++) baseline[i * h + t] = (total - rewardToGo[i * h + t]) / (episodes - 1);
        }
    }

    /// <summary>For each value, the mean of the other values in its group: b_k = (1/(n_g − 1)) Σ_{j≠k, group_j = group_k} x_j
    /// (0 for a value alone in its group). With the step's time h within its episode as the group, it is the
    /// time-dependent baseline b_h for episodes of any length (each episode has one step per h, so the others at h come from
    /// other, independent episodes and the estimate stays exactly unbiased); with one group for all it is the batch's
    /// leave-one-out constant. <paramref name="sums"/> and <paramref name="counts"/> are scratch with one entry per group
    /// (groups are 0 … sums.Length − 1).</summary>
    public static void LeaveOneOutMeanByGroup(ReadOnlySpan<float> values, ReadOnlySpan<int> groups, Span<float> baseline, Span<double> sums, Span<int> counts)
    {
        if (groups.Length != values.Length || baseline.Length != values.Length)
            throw new ArgumentException($"{values.Length} values, {groups.Length} groups and {baseline.Length} outputs; all must be equal.");
        sums.Clear();
        counts.Clear();
        for (int k = 0; k < values.Length; k++)
        {
            int g = groups[k];
            if ((uint)g >= (uint)sums.Length) throw new ArgumentException($"Value {k} is in group {g}; the scratch has {sums.Length} groups.");
            sums[g] += values[k];
            counts[g]++;
        }
        for (int k = 0; k < values.Length; k++)
        {
            int g = groups[k];
            baseline[k] = counts[g] > 1 ? (float)((sums[g] - values[k]) / (counts[g] - 1)) : 0f;
        }
    }

    /// <summary>The variance-optimal constant baseline per component, b_k = Σ_i g_ik² R_i / Σ_i g_ik², from M episodes'
    /// score vectors g_i = Σ_h ∇log π(a_h|s_h) ([M, K] row-major) and returns R_i. Estimate it on episodes other than
    /// the ones it is applied to (the previous batch) to keep the estimate unbiased. Components with Σ g² = 0 get 0.</summary>
    public static double[] VarianceOptimalConstant(ReadOnlySpan<double> scores, ReadOnlySpan<double> returns)
    {
        int m = returns.Length;
        if (m == 0 || scores.Length % m != 0) throw new ArgumentException($"{scores.Length} score values do not make {m} rows.");
        int k = scores.Length / m;
        var numerator = new double[k];
        var denominator = new double[k];
        for (int i = 0; i < m; i++)
            for (int c = 0; c < k; c++)
            {
                double g2 = scores[i * k + c] * scores[i * k + c];
                numerator[c] += g2 * returns[i];
                denominator[c] += g2;
            }
        for (int c = 0; c < k; c++) numerator[c] = denominator[c] > 0 ? numerator[c] / denominator[c] : 0;
        return numerator;
    }
}
