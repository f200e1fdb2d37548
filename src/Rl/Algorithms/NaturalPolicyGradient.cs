using PurePg.Autodiff;
using PurePg.Autodiff.Modules;
using PurePg.Envs.Vector;
using PurePg.Rl.Estimators;
using PurePg.Rl.Optimizers;
using PurePg.Rl.Rollouts;
using PurePg.Rl.SecondOrder;

namespace PurePg.Rl.Algorithms;

/// <summary>
/// The natural policy gradient: θ ← θ + α x with x ≈ (F + λI)⁻¹ g by conjugate gradient, α fixed
/// (<see cref="TrpoSettings.NaturalStepSize"/>) or normalized, α = √(2δ / gᵀx); no line search. Otherwise as
/// <see cref="Trpo"/>.
/// </summary>
public sealed class NaturalPolicyGradient : IOnPolicyAlgorithm
{
    private readonly TrustRegionRunner _runner;

    /// <summary>Builds the agent for <paramref name="env"/> and resets it with the seed.</summary>
    public NaturalPolicyGradient(VectorEnv env, TrpoSettings settings) => _runner = new TrustRegionRunner(env, settings, natural: true);

    /// <inheritdoc/>
    public string Name => "npg";

    /// <inheritdoc/>
    public VectorEnv Env => _runner.Env;

    /// <inheritdoc/>
    public long StepsPerIteration => _runner.StepsPerIteration;

    /// <summary>Not used: the trust region sets the step, no schedule.</summary>
    public long PlannedSteps { get; set; } = 1;

    /// <inheritdoc/>
    public bool ExactResume => true;

    /// <inheritdoc/>
    public IterationMetrics Iterate()
    {
        var u = Update();
        return IterationMetrics.Of(u.TotalSteps, LastEpisodes, ("kl", u.Kl), ("improvement", u.Improvement), ("cg_residual", u.CgResidual),
            ("explained_variance", ExplainedVariance));
    }

    /// <summary>The agent.</summary>
    public ActorCritic Agent => _runner.Agent;

    /// <summary>Environment steps taken.</summary>
    public long TotalSteps => _runner.TotalSteps;

    /// <summary>1 − Var[R − V]/Var[R] over the last rollout; NaN when Var[R] = 0, where it is undefined.</summary>
    public double ExplainedVariance => _runner.ExplainedVariance;

    /// <summary>One iteration.</summary>
    public TrustRegionUpdate Update() => _runner.Update();

    /// <summary>The episodes that finished during the last update.</summary>
    public IReadOnlyList<EpisodeStatistics> LastEpisodes => _runner.LastEpisodes;

    /// <summary>Writes the state needed for an exact resume.</summary>
    public void WriteState(BinaryWriter writer) => _runner.WriteState(writer);

    /// <summary>Restores what <see cref="WriteState"/> wrote.</summary>
    public void ReadState(BinaryReader reader) => _runner.ReadState(reader);
}
