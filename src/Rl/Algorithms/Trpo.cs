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
public sealed class Trpo : IOnPolicyAlgorithm
{
    private readonly TrustRegionRunner _runner;

    /// <summary>The last rollout and its advantages (as the surrogate used them), for tests that check an update from outside.</summary>
    internal OnPolicyRollout Rollout => _runner.Rollout;

    /// <summary>Builds the agent for <paramref name="env"/> and resets it with the seed.</summary>
    public Trpo(VectorEnv env, TrpoSettings settings) => _runner = new TrustRegionRunner(env, settings, natural: false);

    /// <inheritdoc/>
    public string Name => "trpo";

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
        return IterationMetrics.Of(u.TotalSteps, LastEpisodes, ("kl", u.Kl), ("improvement", u.Improvement), ("step_fraction", u.StepFraction),
            ("cg_residual", u.CgResidual), ("explained_variance", ExplainedVariance));
    }

    /// <summary>The agent.</summary>
    public ActorCritic Agent => _runner.Agent;

    /// <summary>Environment steps taken.</summary>
    public long TotalSteps => _runner.TotalSteps;

    /// <summary>g of the last update (for inspection and tests).</summary>
    public ReadOnlySpan<double> LastGradient => _runner.Core.Gradient;

    /// <summary>x ≈ (F + λI)⁻¹ g of the last update.</summary>
    public ReadOnlySpan<double> LastDirection => _runner.Core.Direction;

    /// <summary>One iteration; see the class summary.</summary>
    public TrustRegionUpdate Update() => _runner.Update();

    /// <summary>The Fisher-vector product of the last update's batch (at θ_old).</summary>
    public FisherVectorProduct<float> LastFisher => _runner.Core.Fisher;

    /// <summary>The episodes that finished during the last update.</summary>
    public IReadOnlyList<EpisodeStatistics> LastEpisodes => _runner.LastEpisodes;

    /// <summary>1 − Var[R − V]/Var[R] over the last rollout; NaN when Var[R] = 0, where it is undefined.</summary>
    public double ExplainedVariance => _runner.ExplainedVariance;

    /// <summary>Writes the state needed for an exact resume.</summary>
    public void WriteState(BinaryWriter writer) => _runner.WriteState(writer);

    /// <summary>Restores what <see cref="WriteState"/> wrote.</summary>
    public void ReadState(BinaryReader reader) => _runner.ReadState(reader);
}

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

internal sealed class TrustRegionRunner
{
    private readonly TrpoSettings _settings;
    private readonly bool _natural;
    private readonly OnPolicyRollout _rollout;

    public OnPolicyRollout Rollout => _rollout;

    public VectorEnv Env { get; }

    public long StepsPerIteration => (long)_settings.NumEnvs * _settings.StepsPerEnv;
    private readonly Tape<float> _tape = new();
    private readonly Adam<float> _valueOptimizer;
    private readonly float[] _thetaOld;

    public TrustRegionRunner(VectorEnv env, TrpoSettings settings, bool natural)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        if (env.NumEnvs != settings.NumEnvs) throw new ArgumentException($"The environment has {env.NumEnvs} copies but NumEnvs = {settings.NumEnvs}.");
        _settings = settings;
        Env = env;
        _natural = natural;
        var init = new Rng((ulong)settings.Seed);
        Agent = new ActorCritic(env.SingleObservationSpace, env.SingleActionSpace, settings.HiddenSizes, settings.Activation, settings.InitialLogStd, init);
        Core = new SecondOrderCore(Agent, settings.Damping);
        _valueOptimizer = new Adam<float>(Agent.Phi.Count, LearningRate.Constant(settings.ValueLearningRate));
        _thetaOld = new float[Agent.Theta.Count];
        _rollout = new OnPolicyRollout(env, Agent, settings.StepsPerEnv, init.Split());
        env.Reset(settings.Seed);
    }

    public ActorCritic Agent { get; }

    public SecondOrderCore Core { get; }

    public IReadOnlyList<EpisodeStatistics> LastEpisodes => _rollout.Buffer.Episodes;

    public double ExplainedVariance => _rollout.ExplainedVariance;

    public long TotalSteps => _rollout.TotalSteps;

    public void WriteState(BinaryWriter w)
    {
        Training.StateIo.WriteFloats(w, Agent.Theta.Values);
        Training.StateIo.WriteFloats(w, Agent.Phi.Values);
        _valueOptimizer.WriteState(w);
        _rollout.WriteState(w);
    }

    public void ReadState(BinaryReader r)
    {
        Training.StateIo.ReadFloats(r, Agent.Theta.Values, "θ");
        Training.StateIo.ReadFloats(r, Agent.Phi.Values, "φ");
        _valueOptimizer.ReadState(r);
        _rollout.ReadState(r);
    }

    public TrustRegionUpdate Update()
    {
        // collect and estimate
        _rollout.CollectAndEstimate(_settings.Gamma, _settings.GaeLambda);
        if (_settings.ValueTargets != ValueTargets.Gae) // the value targets with their own λ (the advantages keep theirs)
            _rollout.RecomputeTargets(_settings.Gamma, _settings.ValueTargets == ValueTargets.MonteCarlo ? 1.0 : 0.0);
        if (_settings.NormalizeAdvantages) Advantages.Normalize(_rollout.Advantages);
        var buffer = _rollout.Buffer;

        // g and x ≈ (F + λI)⁻¹ g at θ_old
        Core.Begin(buffer.Observations, buffer.DiscreteActions, buffer.ContinuousActions, _rollout.Advantages);
        var cg = Core.Solve(_settings.CgIterations);
        Agent.Theta.Values.CopyTo(_thetaOld);
        var (surrogateOld, _) = Core.Evaluate();

        double kl = 0, improvement = 0, fraction = 0;
        bool accepted = false;
        if (_natural)
        {
            double gx = 0;
            for (int i = 0; i < Core.Gradient.Length; i++) gx += Core.Gradient[i] * Core.Direction[i];
            double alpha = _settings.NaturalStepSize ?? Math.Sqrt(2 * _settings.MaxKl / Math.Max(gx, 1e-12));
            SetTheta(alpha);
            (double surrogate, kl) = Core.Evaluate();
            (improvement, fraction, accepted) = (surrogate - surrogateOld, 1, true);
        }
        else
        {
            double scale = Math.Sqrt(2 * _settings.MaxKl / Math.Max(Core.DirectionQuadraticForm(), 1e-12));
            double coefficient = 1;
            for (int j = 0; j < _settings.BacktrackIterations; j++, coefficient *= _settings.BacktrackCoefficient)
            {
                SetTheta(scale * coefficient);
                var (surrogate, k) = Core.Evaluate();
                if (k <= _settings.MaxKl && surrogate - surrogateOld > 0)
                {
                    (kl, improvement, fraction, accepted) = (k, surrogate - surrogateOld, coefficient, true);
                    break;
                }
            }
            if (!accepted) _thetaOld.CopyTo(Agent.Theta.Values); // restore θ_old
        }

        FitValue();
        return new TrustRegionUpdate(TotalSteps, _rollout.MeanEpisodeReturn, kl, improvement, fraction, accepted, cg.Iterations, cg.ResidualNorm);
    }

    private void SetTheta(double step)
    {
        var theta = Agent.Theta.Values;
        for (int i = 0; i < theta.Length; i++) theta[i] = (float)(_thetaOld[i] + step * Core.Direction[i]);
    }

    private void FitValue()
    {
        int n = _rollout.Size;
        for (int it = 0; it < _settings.ValueIterations; it++)
        {
            _tape.Reset();
            _tape.ZeroGradients();
            var v = Agent.Value.Forward(_tape, _tape.Borrow(_rollout.Buffer.Observations, n, Agent.ObservationSize));
            var loss = _tape.Mean(_tape.Square(v - _tape.Borrow(_rollout.Returns, n, 1)));
            _tape.Backward(-loss);
            _valueOptimizer.Ascend(Agent.Phi.Values, _tape.GradientOf(Agent.Phi));
        }
    }
}
