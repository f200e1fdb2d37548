using PurePg.Autodiff;
using PurePg.Autodiff.Modules;
using PurePg.Envs.Vector;
using PurePg.Rl.Estimators;
using PurePg.Rl.Optimizers;
using PurePg.Rl.Rollouts;
using PurePg.Rl.SecondOrder;

namespace PurePg.Rl.Algorithms;

/// <summary>Settings of <see cref="Trpo"/> and <see cref="NaturalPolicyGradient"/>; defaults from Spinning Up's TRPO
/// (δ = 0.01, damping 0.1, 10 CG iterations, backtracking 0.8 × 10, γ = 0.99, λ = 0.97, 80 value steps at 1e-3) and
/// Stable-Baselines3's (advantage normalization).</summary>
public sealed record TrpoSettings
{
    /// <summary>N, environment copies.</summary>
    public int NumEnvs { get; init; } = 8;

    /// <summary>T, steps per copy per update (8 × 500 = Spinning Up's 4000 steps per epoch).</summary>
    public int StepsPerEnv { get; init; } = 500;

    /// <summary>γ.</summary>
    public double Gamma { get; init; } = 0.99;

    /// <summary>λ of GAE.</summary>
    public double GaeLambda { get; init; } = 0.97;

    /// <summary>δ, the trust region: mean KL(π_old ‖ π_new) ≤ δ.</summary>
    public double MaxKl { get; init; } = 0.01;

    /// <summary>λ of the damped Fisher F + λI.</summary>
    public double Damping { get; init; } = 0.1;

    /// <summary>Conjugate-gradient iterations.</summary>
    public int CgIterations { get; init; } = 10;

    /// <summary>Backtracking coefficient: step j tries 0.8^j of the full step.</summary>
    public double BacktrackCoefficient { get; init; } = 0.8;

    /// <summary>Backtracking steps before giving up (θ restored). A step is accepted when KL ≤ δ and the surrogate strictly
    /// improved, L(θ) − L(θ_old) &gt; 0; Spinning Up accepts a surrogate that did not fall (≥ 0), so it also takes steps
    /// that change nothing.</summary>
    public int BacktrackIterations { get; init; } = 10;

    /// <summary>Natural policy gradient only: a fixed step size α (θ ← θ + α x); null for the normalized step √(2δ / gᵀx).</summary>
    public double? NaturalStepSize { get; init; }

    /// <summary>What V_φ is regressed on: the GAE targets Â + V (default, as sb3-contrib's TRPO), Monte Carlo returns
    /// (λ = 1: the reward-to-go, bootstrapped only where an episode was cut — what Spinning Up's TRPO regresses on), or TD
    /// targets r + γ V_old(s') (λ = 0: fitted V iteration).</summary>
    public ValueTargets ValueTargets { get; init; } = ValueTargets.Gae;

    /// <summary>Adam step size of V_φ.</summary>
    public double ValueLearningRate { get; init; } = 1e-3;

    /// <summary>Full-batch value-regression steps per update.</summary>
    public int ValueIterations { get; init; } = 80;

    /// <summary>Standardize Â over the batch (SB3: true).</summary>
    public bool NormalizeAdvantages { get; init; } = true;

    /// <summary>Hidden layers.</summary>
    public int[] HiddenSizes { get; init; } = [64, 64];

    /// <summary>Hidden nonlinearity.</summary>
    public Activation Activation { get; init; } = Activation.Tanh;

    /// <summary>log σ at initialization for Box actions.</summary>
    public double InitialLogStd { get; init; }

    /// <summary>The seed.</summary>
    public long Seed { get; init; }

    /// <summary>Checks every setting, naming the first bad one.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of its range (the message names it and the rule).</exception>
    public void Validate()
    {
        SettingsChecks.Positive(NumEnvs, nameof(NumEnvs));
        SettingsChecks.Positive(StepsPerEnv, nameof(StepsPerEnv));
        SettingsChecks.Discount(Gamma, nameof(Gamma));
        SettingsChecks.UnitInterval(GaeLambda, nameof(GaeLambda));
        SettingsChecks.Positive(MaxKl, nameof(MaxKl));
        SettingsChecks.NonNegative(Damping, nameof(Damping));
        SettingsChecks.Positive(CgIterations, nameof(CgIterations));
        SettingsChecks.OpenUnitInterval(BacktrackCoefficient, nameof(BacktrackCoefficient));
        SettingsChecks.Positive(BacktrackIterations, nameof(BacktrackIterations));
        SettingsChecks.Positive(NaturalStepSize, nameof(NaturalStepSize));
        SettingsChecks.Defined(ValueTargets, nameof(ValueTargets));
        SettingsChecks.Positive(ValueLearningRate, nameof(ValueLearningRate));
        SettingsChecks.NonNegative(ValueIterations, nameof(ValueIterations));
        SettingsChecks.Network(HiddenSizes, Activation, InitialLogStd);
        SettingsChecks.Seed(Seed);
    }
}

/// <summary>One TRPO (or NPG) iteration's log: the KL and surrogate improvement of the accepted step (0 when none was),
/// the fraction of the full step taken, and the CG result.</summary>
public readonly record struct TrustRegionUpdate(long TotalSteps, double MeanEpisodeReturn, double Kl, double Improvement, double StepFraction,
    bool Accepted, int CgIterations, double CgResidual);

/// <summary>
/// Trust-region policy optimization (Schulman et al. 2015) as Spinning Up writes it:
/// <list type="number">
/// <item>collect N·T steps; Â by GAE(γ, λ), normalized;</item>
/// <item>g = ∇θ L(θ_old) with L(θ) = mean(π_θ(a|s)/π_old(a|s) · Â);</item>
/// <item>x ≈ (F + λI)⁻¹ g by 10 CG steps on exact Fisher-vector products; full step Δ = √(2δ / xᵀFx) · x;</item>
/// <item>backtracking: θ = θ_old + 0.8^j Δ for j = 0 … 9, accepting the first with mean KL(π_old ‖ π_θ) ≤ δ and
/// L(θ) − L(θ_old) &gt; 0; if none qualifies θ is restored to θ_old;</item>
/// <item>V_φ fitted by regression on the GAE targets (Spinning Up: on the reward-to-go; see
/// <see cref="TrpoSettings.ValueTargets"/>).</item>
/// </list>
/// Deterministic for a seed.
/// </summary>
public sealed class Trpo : TrustRegionAlgorithm
{
    /// <summary>Builds the agent for <paramref name="env"/> and resets it with the seed.</summary>
    public Trpo(VectorEnv env, TrpoSettings settings) : base(OnPolicyRollout.Local(env, settings?.StepsPerEnv ?? 1), settings!, natural: false) { }

    /// <summary>Builds the agent for <paramref name="source"/>'s spaces (local copies or a cluster's) and resets it with the seed.</summary>
    public Trpo(IRolloutSource source, TrpoSettings settings) : base(source, settings, natural: false) { }

    /// <inheritdoc/>
    public override string Name => "trpo";

    /// <inheritdoc/>
    public override IterationMetrics Iterate()
    {
        var u = Update();
        return IterationMetrics.Of(u.TotalSteps, LastEpisodes, ("kl", u.Kl), ("improvement", u.Improvement), ("step_fraction", u.StepFraction),
            ("cg_residual", u.CgResidual), ("explained_variance", ExplainedVariance));
    }

    /// <summary>g of the last update (for inspection and tests).</summary>
    public ReadOnlySpan<double> LastGradient => Runner.Core.Gradient;

    /// <summary>x ≈ (F + λI)⁻¹ g of the last update.</summary>
    public ReadOnlySpan<double> LastDirection => Runner.Core.Direction;

    /// <summary>The Fisher-vector product of the last update's batch (at θ_old).</summary>
    public FisherVectorProduct<float> LastFisher => Runner.Core.Fisher;
}
