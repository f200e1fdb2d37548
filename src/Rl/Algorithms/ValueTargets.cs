namespace PurePg.Rl.Algorithms;

/// <summary>The regression targets of the value function.</summary>
public enum ValueTargets
{
    /// <summary>R_t = Â_t + V_old(s_t) with the advantages' λ.</summary>
    Gae,

    /// <summary>Monte Carlo regression on the discounted return (λ = 1).</summary>
    MonteCarlo,

    /// <summary>Fitted V iteration: r_t + γ V_old(s_{t+1}) (λ = 0).</summary>
    TemporalDifference,
}
