using PurePg.Envs.Vector;
using PurePg.Rl.Rollouts;

namespace PurePg.Rl.Algorithms;

/// <summary>
/// The natural policy gradient: θ ← θ + α x with x ≈ (F + λI)⁻¹ g by conjugate gradient, α fixed
/// (<see cref="TrpoSettings.NaturalStepSize"/>) or normalized, α = √(2δ / gᵀx); no line search. Otherwise as
/// <see cref="Trpo"/>.
/// </summary>
public sealed class NaturalPolicyGradient : TrustRegionAlgorithm
{
    /// <summary>Builds the agent for <paramref name="env"/> and resets it with the seed.</summary>
    public NaturalPolicyGradient(VectorEnv env, TrpoSettings settings) : base(OnPolicyRollout.Local(env, settings?.StepsPerEnv ?? 1), settings!, natural: true) { }

    /// <summary>Builds the agent for <paramref name="source"/>'s spaces (local copies or a cluster's) and resets it with the seed.</summary>
    public NaturalPolicyGradient(IRolloutSource source, TrpoSettings settings) : base(source, settings, natural: true) { }

    /// <inheritdoc/>
    public override string Name => "npg";

    /// <inheritdoc/>
    public override IterationMetrics Iterate()
    {
        var u = Update();
        return IterationMetrics.Of(u.TotalSteps, LastEpisodes, ("kl", u.Kl), ("improvement", u.Improvement), ("cg_residual", u.CgResidual),
            ("explained_variance", ExplainedVariance));
    }
}
