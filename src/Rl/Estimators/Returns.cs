namespace PurePg.Rl.Estimators;

/// <summary>
/// The return estimators of the lectures for one episode r_0 … r_{H−1}: the total return R(τ) = Σ_t γ^t r_t given to
/// every step (the first form of the policy gradient), and the reward-to-go G_h = Σ_{t≥h} γ^{t−h} r_t (causality: an
/// action cannot change rewards that came before it).
/// </summary>
public static class Returns
{
    /// <summary>R(τ) = Σ_t γ^t r_t.</summary>
    public static double TotalReturn(ReadOnlySpan<double> rewards, double gamma = 1.0)
    {
        CheckGamma(gamma);
        double total = 0, discount = 1;
        foreach (double r in rewards)
        {
            total += discount * r;
            discount *= gamma;
        }
        return total;
    }

    /// <summary>G_h = r_h + γ G_{h+1}, G_H = <paramref name="bootstrap"/> (0 for an episode that terminated; V(s_H) for
    /// one cut short), written into <paramref name="rewardToGo"/> (may alias <paramref name="rewards"/>).</summary>
    public static void RewardToGo(ReadOnlySpan<double> rewards, Span<double> rewardToGo, double gamma = 1.0, double bootstrap = 0)
    {
        CheckGamma(gamma);
        if (rewardToGo.Length != rewards.Length) throw new ArgumentException($"{rewards.Length} rewards but {rewardToGo.Length} outputs.");
        double g = bootstrap;
        for (int h = rewards.Length - 1; h >= 0; h--)
        {
            g = rewards[h] + gamma * g;
            rewardToGo[h] = g;
        }
    }

    internal static void CheckGamma(double gamma)
    {
        if (!(gamma > 0 && gamma <= 1)) throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "γ must be in (0, 1].");
    }
}
