using PurePg.Autodiff;
using PurePg.Autodiff.Modules;
using PurePg.Envs.Vector;
using PurePg.Rl.Estimators;
using PurePg.Rl.Optimizers;
using PurePg.Rl.Rollouts;

namespace PurePg.Rl.Algorithms;

/// <summary>Settings of <see cref="Impala"/>. The defaults are the IMPALA paper's where they carry over (ρ̄ = c̄ = 1,
/// value coefficient 0.5, entropy 0.01, unrolls of 20) with Adam for the optimizer.</summary>
public sealed record ImpalaSettings
{
    /// <summary>N, environment copies, split into <see cref="Blocks"/> actors.</summary>
    public int NumEnvs { get; init; } = 8;

    /// <summary>T, the unroll length: steps per copy per rollout (IMPALA: 20).</summary>
    public int StepsPerEnv { get; init; } = 20;

    /// <summary>W, the actors (blocks of copies) acting while the learner learns; in steady state a rollout is W − 1
    /// versions old when it is used (with <see cref="LaggedRolloutSource"/> exactly).</summary>
    public int Blocks { get; init; } = 4;

    /// <summary>Adam step size α.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Adam ε.</summary>
    public double AdamEpsilon { get; init; } = 1e-5;

    /// <summary>γ.</summary>
    public double Gamma { get; init; } = 0.99;

    /// <summary>ρ̄, where the importance weights ρ_t = min(ρ̄, π/μ) of δ_t and of the policy gradient are cut (IMPALA: 1).</summary>
    public double RhoBar { get; init; } = 1.0;

    /// <summary>c̄, where the trace weights c_t = min(c̄, π/μ) are cut (IMPALA: 1).</summary>
    public double CBar { get; init; } = 1.0;

    /// <summary>Correct the lag with V-trace (default). False is the IMPALA paper's "no correction" ablation: every rollout
    /// is treated as on-policy (ρ = c = 1), so the targets are n-step returns of whatever policy acted.</summary>
    public bool VTraceCorrection { get; init; } = true;

    /// <summary>c of the value loss c·mean((v_s − V_φ(x_s))²) (IMPALA: 0.5).</summary>
    public double ValueCoefficient { get; init; } = 0.5;

    /// <summary>β of the entropy bonus (IMPALA: 0.01).</summary>
    public double EntropyCoefficient { get; init; } = 0.01;

    /// <summary>Global gradient-norm clip over θ and φ (IMPALA: 40).</summary>
    public double MaxGradientNorm { get; init; } = 40;

    /// <summary>Hidden layers of both networks.</summary>
    public int[] HiddenSizes { get; init; } = [64, 64];

    /// <summary>Hidden nonlinearity.</summary>
    public Activation Activation { get; init; } = Activation.Tanh;

    /// <summary>log σ at initialization for Box actions.</summary>
    public double InitialLogStd { get; init; }

    /// <summary>The seed: fixes initialization and the environments (and, with <see cref="LaggedRolloutSource"/>, the run).</summary>
    public long Seed { get; init; }

    /// <summary>Checks every setting, naming the first bad one.</summary>
    public void Validate()
    {
        SettingsChecks.Positive(NumEnvs, nameof(NumEnvs));
        SettingsChecks.Positive(StepsPerEnv, nameof(StepsPerEnv));
        SettingsChecks.Positive(Blocks, nameof(Blocks));
        if (Blocks > NumEnvs) throw new ArgumentOutOfRangeException(nameof(Blocks), Blocks, $"Blocks must be at most NumEnvs = {NumEnvs}: each block steps at least one copy.");
        SettingsChecks.Positive(LearningRate, nameof(LearningRate));
        SettingsChecks.Positive(AdamEpsilon, nameof(AdamEpsilon));
        SettingsChecks.Discount(Gamma, nameof(Gamma));
        SettingsChecks.Positive(RhoBar, nameof(RhoBar));
        SettingsChecks.Positive(CBar, nameof(CBar));
        SettingsChecks.NonNegative(ValueCoefficient, nameof(ValueCoefficient));
        SettingsChecks.NonNegative(EntropyCoefficient, nameof(EntropyCoefficient));
        SettingsChecks.Positive(MaxGradientNorm, nameof(MaxGradientNorm));
        SettingsChecks.Network(HiddenSizes, Activation, InitialLogStd);
        SettingsChecks.Seed(Seed);
    }
}

/// <summary>
/// IMPALA's learner (Espeholt et al. 2018): actors step blocks of copies with whatever policy version μ they were last
/// given; the learner takes each finished rollout as it comes and takes one gradient step on it, correcting the lag with
/// V-trace (<see cref="VTrace"/>): with v_s the V-trace targets and Â_s = ρ_s (r_s + γ v_{s+1} − V_φ(x_s)),
/// <code>L = −mean(Â_s log π_θ(a_s|x_s)) + c·mean((v_s − V_φ(x_s))²) − β·mean H(π_θ(·|x_s))</code>
/// (v_s and Â_s held constant), one Adam step on θ and φ with the gradient of −L clipped to a global norm. Each iteration
/// records the lag (the learner's version minus the version that acted), the mean ρ and the fraction cut by ρ̄.
/// Deterministic for a seed with <see cref="LaggedRolloutSource"/>; with a cluster's asynchronous workers the order in
/// which rollouts arrive, and so the run, depends on timing (as IMPALA's does): not reproducible, said so by
/// <see cref="ExactResume"/> = false.
/// </summary>
public sealed class Impala : IOnPolicyAlgorithm
{
    private readonly ImpalaSettings _settings;
    private readonly IAsyncRolloutSource _source;
    private readonly Adam<float> _optimizer;
    private readonly Tape<float> _tape = new();
    private float[] _logTarget = [], _values = [], _truncated = [], _last = [], _scratch = [], _targets = [], _advantages = [];
    private long _version, _steps;
    private IReadOnlyList<EpisodeStatistics> _episodes = [];

    /// <summary>IMPALA on N copies made by <paramref name="makeEnv"/> (given a block's copies), in W blocks of this process
    /// with a fixed lag of W − 1 versions (<see cref="LaggedRolloutSource"/>).</summary>
    public Impala(Func<int, VectorEnv> makeEnv, ImpalaSettings settings)
        : this(new LaggedRolloutSource(makeEnv, settings?.NumEnvs ?? 1, settings?.StepsPerEnv ?? 1, settings?.Blocks ?? 1, settings?.HiddenSizes ?? [1],
            settings?.Activation ?? Activation.Tanh), settings!)
    {
    }

    /// <summary>IMPALA on <paramref name="source"/>'s actors (in this process, or a cluster's workers).</summary>
    public Impala(IAsyncRolloutSource source, ImpalaSettings settings)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        if (source.NumEnvs != settings.NumEnvs || source.StepsPerEnv != settings.StepsPerEnv || source.Blocks != settings.Blocks)
            throw new ArgumentException($"The rollout source has {source.NumEnvs} copies × {source.StepsPerEnv} steps in {source.Blocks} blocks; the settings say {settings.NumEnvs} × {settings.StepsPerEnv} in {settings.Blocks}.");
        (_settings, _source) = (settings, source);
        Agent = new ActorCritic(source.SingleObservationSpace, source.SingleActionSpace, settings.HiddenSizes, settings.Activation, settings.InitialLogStd, new Rng((ulong)settings.Seed));
        _optimizer = new Adam<float>(Agent.Theta.Count + Agent.Phi.Count, LearningRateSchedule.Constant(settings.LearningRate), epsilon: settings.AdamEpsilon,
            maxGradientNorm: settings.MaxGradientNorm);
        source.Reset(settings.Seed);
    }

    /// <inheritdoc/>
    public string Name => "impala";

    /// <inheritdoc/>
    public ActorCritic Agent { get; }

    /// <summary>None: the actors own the environments.</summary>
    public VectorEnv? Env => null;

    /// <inheritdoc/>
    public long TotalSteps => _steps;

    /// <summary>One block's rollout, M·T steps (N·T/W on average).</summary>
    public long StepsPerIteration => (long)_settings.NumEnvs * _settings.StepsPerEnv / _settings.Blocks;

    /// <summary>Not used: the step size is constant.</summary>
    public long PlannedSteps { get; set; } = 1;

    /// <summary>False: a resumed run continues from θ, φ and the optimizer, with the actors restarted (fresh episodes); with
    /// a cluster's workers the arrival order is not reproducible anyway.</summary>
    public bool ExactResume => false;

    /// <summary>The learner's policy version: the number of updates so far.</summary>
    public long Version => _version;

    /// <inheritdoc/>
    public IterationMetrics Iterate()
    {
        var rollout = _source.Next(Agent, _version);
        var b = rollout.Buffer;
        int n = b.Steps * b.NumEnvs, m = b.NumEnvs;
        if (_targets.Length != n)
        {
            (_logTarget, _values, _truncated, _scratch, _targets, _advantages) = (new float[n], new float[n], new float[n], new float[n], new float[n], new float[n]);
        }
        if (_last.Length != m) _last = new float[m];
        long lag = _version - rollout.Version;

        // V-trace needs π's log-probabilities and V under the learner's current θ, φ (as constants)
        Agent.PredictValues(b.FinalObservations, _scratch);
        for (int k = 0; k < n; k++) _truncated[k] = b.Truncated[k] && !b.Terminated[k] ? _scratch[k] : 0f;
        Agent.PredictValues(b.LastObservations, _last);

        _tape.Reset();
        _tape.ZeroGradients();
        var states = _tape.Borrow(b.Observations, n, Agent.ObservationSize);
        var (logProb, entropy) = Agent.Evaluate(_tape, states, b.DiscreteActions, b.ContinuousActions);
        var value = Agent.Value.Forward(_tape, states);
        _tape.Value(logProb).CopyTo(_logTarget);
        _tape.Value(value).CopyTo(_values);
        // without the correction, μ is taken to be π: every ρ = c = 1
        ReadOnlySpan<float> logBehaviour = _settings.VTraceCorrection ? b.LogProbs : _logTarget;
        var stats = VTrace.Compute(b.Steps, b.NumEnvs, b.Rewards, b.Terminated, b.Truncated, logBehaviour, _logTarget, _values, _truncated, _last, _settings.Gamma,
            _settings.RhoBar, _settings.CBar, _targets, _advantages);

        var policyLoss = -_tape.Mean(logProb * _tape.Borrow(_advantages, n, 1));
        var valueLoss = _tape.Mean(_tape.Square(value - _tape.Borrow(_targets, n, 1)));
        var loss = policyLoss + valueLoss * (float)_settings.ValueCoefficient - entropy * (float)_settings.EntropyCoefficient;
        double p = _tape.Scalar(policyLoss), v = _tape.Scalar(valueLoss), h = _tape.Scalar(entropy);
        _tape.Backward(-loss);
        _optimizer.Ascend(Agent.Theta.Values, _tape.GradientOf(Agent.Theta), Agent.Phi.Values, _tape.GradientOf(Agent.Phi));
        _version++;
        _steps += n;
        _episodes = b.Episodes.ToArray();
        return IterationMetrics.Of(_steps, _episodes, ("policy_loss", p), ("value_loss", v), ("entropy", h), ("lag", lag), ("mean_rho", stats.MeanRho),
            ("rho_clipped", stats.RhoClippedFraction), ("grad_norm", _optimizer.LastGradientNorm));
    }

    /// <summary>Writes θ, φ, the optimizer's moments, the version and the step count.</summary>
    public void WriteState(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        Agent.WriteParameters(writer);
        _optimizer.WriteState(writer);
        writer.Write(_version);
        writer.Write(_steps);
    }

    /// <summary>Restores what <see cref="WriteState"/> wrote; the actors start their next rollouts with the restored version.</summary>
    public void ReadState(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        Agent.ReadParameters(reader);
        _optimizer.ReadState(reader);
        _version = reader.ReadInt64();
        _steps = reader.ReadInt64();
    }
}
