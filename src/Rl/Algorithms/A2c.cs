using PurePg.Autodiff;
using PurePg.Autodiff.Modules;
using PurePg.Envs.Vector;
using PurePg.Rl.Estimators;
using PurePg.Rl.Optimizers;
using PurePg.Rl.Rollouts;

namespace PurePg.Rl.Algorithms;

/// <summary>Settings of <see cref="A2c"/>; the defaults are Stable-Baselines3's A2C defaults.</summary>
public sealed record A2cSettings
{
    /// <summary>N, environment copies stepped synchronously.</summary>
    public int NumEnvs { get; init; } = 8;

    /// <summary>T, steps per copy per update (SB3 n_steps: 5).</summary>
    public int StepsPerEnv { get; init; } = 5;

    /// <summary>RMSProp step size (SB3: 7e-4).</summary>
    public double LearningRate { get; init; } = 7e-4;

    /// <summary>Anneal α linearly, as rl-baselines3-zoo's <c>lin_α</c> schedules do: the update after a rollout that brought
    /// the step count to S uses α·max(0, 1 − S/S_max), S_max = <see cref="A2c.PlannedSteps"/> (the program sets it from
    /// <c>--steps</c>). Off by default (SB3's A2C: constant).</summary>
    public bool AnnealLearningRate { get; init; }

    /// <summary>RMSProp ρ (SB3 alpha: 0.99) and ε (1e-5).</summary>
    public double RmsPropRho { get; init; } = 0.99;

    /// <summary>RMSProp ε.</summary>
    public double RmsPropEpsilon { get; init; } = 1e-5;

    /// <summary>γ.</summary>
    public double Gamma { get; init; } = 0.99;

    /// <summary>λ of GAE (SB3: 1.0, the n-step return).</summary>
    public double GaeLambda { get; init; } = 1.0;

    /// <summary>β of the entropy bonus (SB3: 0).</summary>
    public double EntropyCoefficient { get; init; }

    /// <summary>c of the value loss (SB3: 0.5).</summary>
    public double ValueCoefficient { get; init; } = 0.5;

    /// <summary>Global gradient-norm clip (SB3: 0.5).</summary>
    public double MaxGradientNorm { get; init; } = 0.5;

    /// <summary>Standardize Â over the batch (SB3: false).</summary>
    public bool NormalizeAdvantages { get; init; }

    /// <summary>Hidden layers (SB3: 64-64) and nonlinearity (tanh).</summary>
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
        SettingsChecks.Positive(LearningRate, nameof(LearningRate));
        SettingsChecks.OpenUnitInterval(RmsPropRho, nameof(RmsPropRho));
        SettingsChecks.Positive(RmsPropEpsilon, nameof(RmsPropEpsilon));
        SettingsChecks.Discount(Gamma, nameof(Gamma));
        SettingsChecks.UnitInterval(GaeLambda, nameof(GaeLambda));
        SettingsChecks.NonNegative(EntropyCoefficient, nameof(EntropyCoefficient));
        SettingsChecks.NonNegative(ValueCoefficient, nameof(ValueCoefficient));
        SettingsChecks.Positive(MaxGradientNorm, nameof(MaxGradientNorm));
        SettingsChecks.Network(HiddenSizes, Activation, InitialLogStd);
        SettingsChecks.Seed(Seed);
    }
}

/// <summary>
/// Synchronous advantage actor-critic (A2C): N copies step together for T steps; Â from GAE (λ = 1: the n-step return
/// bootstrapped from V(s_T)); one RMSProp step on θ and φ with the gradient of
/// −[−mean(Â·log π_θ(a|s)) + c·mean((V_φ(s) − R)²) − β·mean H(π_θ)], clipped to a global norm. Deterministic for a seed.
/// </summary>
public sealed class A2c : IOnPolicyAlgorithm
{
    private readonly A2cSettings _settings;
    private readonly ActorCritic _agent;
    private readonly RmsProp<float> _optimizer; // over (θ, φ): one step, one global-norm clip
    private readonly OnPolicyRollout _rollout;
    private readonly Tape<float> _tape = new();
    private readonly IRolloutSource _source;

    /// <summary>Builds the agent for <paramref name="env"/> and resets it with the seed.</summary>
    public A2c(VectorEnv env, A2cSettings settings)
        : this(OnPolicyRollout.Local(env, settings?.StepsPerEnv ?? 1), settings!)
    {
    }

    /// <summary>Builds the agent for <paramref name="source"/>'s spaces and resets the source with the seed: the same
    /// algorithm whether the copies are stepped here (<see cref="VectorEnvRolloutSource"/>) or by a cluster's workers.</summary>
    public A2c(IRolloutSource source, A2cSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        OnPolicyRollout.CheckSource(source, settings.NumEnvs, settings.StepsPerEnv);
        _settings = settings;
        _source = source;
        var init = new Rng((ulong)settings.Seed);
        _agent = new ActorCritic(source.SingleObservationSpace, source.SingleActionSpace, settings.HiddenSizes, settings.Activation, settings.InitialLogStd, init);
        var rate = settings.AnnealLearningRate ? new AnnealedRate(this, settings.LearningRate) : LearningRateSchedule.Constant(settings.LearningRate);
        _optimizer = new RmsProp<float>(_agent.Theta.Count + _agent.Phi.Count, rate, settings.RmsPropRho, settings.RmsPropEpsilon, settings.MaxGradientNorm);
        _rollout = new OnPolicyRollout(source, _agent, init.Split());
        source.Reset(settings.Seed);
    }

    /// <summary>The agent.</summary>
    public ActorCritic Agent => _agent;

    /// <inheritdoc/>
    public string Name => "a2c";

    /// <inheritdoc/>
    public VectorEnv? Env => (_source as VectorEnvRolloutSource)?.Env;

    /// <summary>Where the rollouts come from.</summary>
    public IRolloutSource Source => _source;

    /// <inheritdoc/>
    public long StepsPerIteration => (long)_settings.NumEnvs * _settings.StepsPerEnv;

    /// <summary>S_max, the planned length of the run that <see cref="A2cSettings.AnnealLearningRate"/> follows (unused when
    /// the step size is constant, Stable-Baselines3's default). Set it when a run is extended.</summary>
    public long PlannedSteps
    {
        get => _plannedSteps;
        set => _plannedSteps = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "PlannedSteps must be positive.");
    }

    private long _plannedSteps = 1;

    /// <summary>The step size the next update uses, given the steps taken so far.</summary>
    public double CurrentLearningRate => _optimizer.LearningRate.At(_optimizer.Updates);

    /// <summary>α·max(0, 1 − S/S_max) at each update, S the steps taken (its rollout included).</summary>
    private sealed record AnnealedRate(A2c Owner, double Alpha) : LearningRateSchedule
    {
        public override double At(long update) => Alpha * Math.Max(0.0, 1.0 - (double)Owner.TotalSteps / Owner.PlannedSteps);
    }

    /// <inheritdoc/>
    public bool ExactResume => true;

    /// <inheritdoc/>
    public IterationMetrics Iterate()
    {
        var u = Update();
        return IterationMetrics.Of(u.TotalSteps, LastEpisodes, ("policy_loss", u.PolicyLoss), ("value_loss", u.ValueLoss), ("entropy", u.Entropy),
            ("grad_norm", u.GradientNorm), ("explained_variance", ExplainedVariance), ("learning_rate", u.LearningRate));
    }

    /// <summary>1 − Var[R − V]/Var[R] over the last rollout (computed before the update); NaN when Var[R] = 0, where it is
    /// undefined (Stable-Baselines3 returns NaN too; the program writes an empty cell).</summary>
    public double ExplainedVariance => _rollout.ExplainedVariance;

    /// <summary>The episodes that finished during the last update.</summary>
    public IReadOnlyList<EpisodeStatistics> LastEpisodes => _rollout.Buffer.Episodes;

    /// <summary>Environment steps taken.</summary>
    public long TotalSteps => _rollout.TotalSteps;

    /// <summary>Writes the state needed for an exact resume.</summary>
    public void WriteState(BinaryWriter w)
    {
        _agent.WriteParameters(w);
        _optimizer.WriteState(w);
        _rollout.WriteState(w);
    }

    /// <summary>Restores what <see cref="WriteState"/> wrote.</summary>
    public void ReadState(BinaryReader r)
    {
        _agent.ReadParameters(r);
        _optimizer.ReadState(r);
        _rollout.ReadState(r);
    }

    /// <summary>One rollout of N·T steps and one gradient step.</summary>
    public A2cUpdate Update()
    {
        _rollout.CollectAndEstimate(_settings.Gamma, _settings.GaeLambda);
        var buffer = _rollout.Buffer;
        if (_settings.NormalizeAdvantages) AdvantageEstimation.Normalize(_rollout.Advantages);

        int n = _rollout.Size;
        _tape.Reset();
        _tape.ZeroGradients();
        var states = _tape.Borrow(buffer.Observations, n, _agent.ObservationSize);
        var (logProb, entropy) = _agent.Evaluate(_tape, states, buffer.DiscreteActions, buffer.ContinuousActions);
        var policyLoss = -_tape.Mean(logProb * _tape.Borrow(_rollout.Advantages, n, 1));
        var valueLoss = _tape.Mean(_tape.Square(_agent.Value.Forward(_tape, states) - _tape.Borrow(_rollout.Returns, n, 1)));
        var loss = policyLoss + valueLoss * (float)_settings.ValueCoefficient - entropy * (float)_settings.EntropyCoefficient;
        var result = new A2cUpdate(TotalSteps, _rollout.MeanEpisodeReturn, _tape.Scalar(policyLoss), _tape.Scalar(valueLoss), _tape.Scalar(entropy), 0,
            CurrentLearningRate);
        _tape.Backward(-loss);
        _optimizer.Ascend(_agent.Theta.Values, _tape.GradientOf(_agent.Theta), _agent.Phi.Values, _tape.GradientOf(_agent.Phi));
        double norm = _optimizer.LastGradientNorm;
        return result with { GradientNorm = norm };
    }
}

/// <summary>What one <see cref="A2c.Update"/> did.</summary>
public readonly record struct A2cUpdate(long TotalSteps, double MeanEpisodeReturn, double PolicyLoss, double ValueLoss, double Entropy, double GradientNorm,
    double LearningRate = 0);
