using PurePg.Rl.Rollouts;

namespace PurePg.Rl.Estimators;

/// <summary>
/// Generalized advantage estimation over a rollout [T, N]: with δ_t = r_t + γ V(s_{t+1}) − V(s_t),
/// Â_t = δ_t + γλ Â_{t+1} within an episode, and the value targets R_t = Â_t + V(s_t).
/// λ = 0 gives the TD(0) advantage r + γV(s') − V(s) and the fitted-V-iteration targets r + γ V_old(s');
/// λ = 1 gives A3C's n-step return R ← r_t + γR bootstrapped from V(s_T) at the rollout's end, minus V(s_t).
/// V(s_{t+1}) is 0 after a terminated step, V(s_final) after a truncated one (the episode was cut, not ended), and
/// V(s_T) after the rollout's last step.
/// </summary>
public static class AdvantageEstimation
{
    /// <summary>Writes Â_t and R_t = Â_t + V(s_t); <paramref name="truncatedValues"/>[t, n] holds V(s_final) for truncated
    /// steps (ignored elsewhere) and <paramref name="lastValues"/>[n] holds V(s_T).</summary>
    public static void Gae(RolloutBuffer buffer, double gamma, double lambda, ReadOnlySpan<float> truncatedValues, ReadOnlySpan<float> lastValues,
        Span<float> advantages, Span<float> returns)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        Returns.CheckGamma(gamma);
        if (!(lambda >= 0 && lambda <= 1)) throw new ArgumentOutOfRangeException(nameof(lambda), lambda, "λ must be in [0, 1].");
        int t0 = buffer.Steps, n = buffer.NumEnvs, size = t0 * n;
        if (advantages.Length != size || returns.Length != size || truncatedValues.Length != size || lastValues.Length != n)
            throw new ArgumentException($"GAE: need [T, N] = [{t0}, {n}] advantages, returns and truncated values, and {n} last values.");
        ReadOnlySpan<float> values = buffer.Values, rewards = buffer.Rewards;
        ReadOnlySpan<bool> terminated = buffer.Terminated, truncated = buffer.Truncated;
        for (int i = 0; i < n; i++)
        {
            double next = 0;
            for (int t = t0 - 1; t >= 0; t--)
            {
                int k = t * n + i;
                double nextValue;
                bool continues;
                if (terminated[k]) (nextValue, continues) = (0, false);
                else if (truncated[k]) (nextValue, continues) = (truncatedValues[k], false);
                else if (t == t0 - 1) (nextValue, continues) = (lastValues[i], false);
                else (nextValue, continues) = (values[k + n], true);
                double delta = rewards[k] + gamma * nextValue - values[k];
                double a = delta + (continues ? gamma * lambda * next : 0);
                advantages[k] = (float)a;
                returns[k] = (float)(a + values[k]);
                next = a;
            }
        }
    }

    /// <summary>Â ← (Â − mean) / (std + 1e-8) over the batch (advantage normalization).</summary>
    public static void Normalize(Span<float> advantages)
    {
        double mean = 0, squares = 0;
        foreach (float a in advantages) mean += a;
        mean /= advantages.Length;
        foreach (float a in advantages) squares += (a - mean) * (a - mean);
        double std = Math.Sqrt(squares / Math.Max(1, advantages.Length - 1)) + 1e-8;
        for (int k = 0; k < advantages.Length; k++) advantages[k] = (float)((advantages[k] - mean) / std);
    }
}
