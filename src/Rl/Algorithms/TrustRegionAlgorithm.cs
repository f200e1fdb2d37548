using PurePg.Envs.Vector;
using PurePg.Rl.Rollouts;

namespace PurePg.Rl.Algorithms;

/// <summary>What <see cref="Trpo"/> and <see cref="NaturalPolicyGradient"/> share: collect, GAE, g and x ≈ (F + λI)⁻¹ g
/// by conjugate gradient at θ_old, a step along x, V_φ regression (<see cref="TrustRegionRunner"/>); the two differ in how
/// far they step.</summary>
public abstract class TrustRegionAlgorithm : IOnPolicyAlgorithm
{
    private protected TrustRegionAlgorithm(IRolloutSource source, TrpoSettings settings, bool natural) => Runner = new TrustRegionRunner(source, settings, natural);

    private protected TrustRegionRunner Runner { get; }

    /// <summary>The last rollout and its advantages (as the surrogate used them), for tests that check an update from outside.</summary>
    internal OnPolicyRollout Rollout => Runner.Rollout;

    /// <inheritdoc/>
    public abstract string Name { get; }

    /// <inheritdoc/>
    public VectorEnv? Env => Runner.Env;

    /// <summary>Where the rollouts come from.</summary>
    public IRolloutSource Source => Runner.Source;

    /// <inheritdoc/>
    public long StepsPerIteration => Runner.StepsPerIteration;

    /// <summary>Not used: the trust region (or the normalized step) sets the step size, no schedule.</summary>
    public long PlannedSteps { get; set; } = 1;

    /// <inheritdoc/>
    public bool ExactResume => true;

    /// <summary>The agent.</summary>
    public ActorCritic Agent => Runner.Agent;

    /// <summary>Environment steps taken.</summary>
    public long TotalSteps => Runner.TotalSteps;

    /// <summary>1 − Var[R − V]/Var[R] over the last rollout; NaN when Var[R] = 0, where it is undefined.</summary>
    public double ExplainedVariance => Runner.ExplainedVariance;

    /// <summary>The episodes that finished during the last update.</summary>
    public IReadOnlyList<EpisodeStatistics> LastEpisodes => Runner.LastEpisodes;

    /// <summary>One iteration; see the class summary.</summary>
    public TrustRegionUpdate Update() => Runner.Update();

    /// <inheritdoc/>
    public abstract IterationMetrics Iterate();

    /// <summary>Writes the state needed for an exact resume.</summary>
    public void WriteState(BinaryWriter writer) => Runner.WriteState(writer);

    /// <summary>Restores what <see cref="WriteState"/> wrote.</summary>
    public void ReadState(BinaryReader reader) => Runner.ReadState(reader);
}
