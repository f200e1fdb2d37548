using PurePg.Autodiff;
using PurePg.Autodiff.Modules;
using PurePg.Envs;
using PurePg.Envs.Vector;
using PurePg.Rl.Estimators;
using PurePg.Rl.Optimizers;
using PurePg.Rl.Policies;
using PurePg.Rl.Rollouts;

namespace PurePg.Rl.Algorithms;

/// <summary>
/// Settings of <see cref="Reinforce"/>. Defaults follow Spinning Up's VPG where it has one (γ = 0.99, value-function
/// learning rate 1e-3 with 80 regression steps per batch, 64-64 tanh networks) and are documented where they differ.
/// </summary>
public sealed record ReinforceSettings
{
    /// <summary>N, environment copies stepped together.</summary>
    public int NumEnvs { get; init; } = 8;

    /// <summary>T, steps per copy per update; the batch is N·T steps (4000 in Spinning Up; 8 × 500 here).</summary>
    public int StepsPerEnv { get; init; } = 500;

    /// <summary>γ, the discount of the reward-to-go G_t = Σ_{k≥t} γ^{k−t} r_k.</summary>
    public double Gamma { get; init; } = 0.99;

    /// <summary>Hidden layer widths of the policy and the value network.</summary>
    public int[] HiddenSizes { get; init; } = [64, 64];

    /// <summary>Hidden nonlinearity.</summary>
    public Activation Activation { get; init; } = Activation.Tanh;

    /// <summary>Adam step size of the policy (Spinning Up: 3e-4; 1e-3 here learns CartPole in fewer batches).</summary>
    public double PolicyLearningRate { get; init; } = 1e-3;

    /// <summary>The baseline b subtracted from G_t: a learned V_φ(s_t) (the default), fitted by Monte Carlo regression
    /// on G_t after each policy update and bootstrapping truncated episodes; none; the batch's leave-one-out mean; the
    /// time-dependent leave-one-out mean b_h; or the variance-optimal constant per component of θ from the previous batch
    /// (see <see cref="ReinforceBaseline"/>).</summary>
    public ReinforceBaseline Baseline { get; init; } = ReinforceBaseline.Value;

    /// <summary>Adam step size of V_φ.</summary>
    public double ValueLearningRate { get; init; } = 1e-3;

    /// <summary>Full-batch regression steps of V_φ per update.</summary>
    public int ValueIterations { get; init; } = 80;

    /// <summary>β of the entropy bonus β·H(π(·|s)) added to the objective (0: none).</summary>
    public double EntropyCoefficient { get; init; }

    /// <summary>Global gradient-norm clip of the policy gradient (null: none).</summary>
    public double? MaxGradientNorm { get; init; }

    /// <summary>Standardize the advantages over the batch (mean 0, std 1) before the update.</summary>
    public bool NormalizeAdvantages { get; init; }

    /// <summary>log σ at initialization, for Box action spaces.</summary>
    public double InitialLogStd { get; init; }

    /// <summary>Gain of the orthogonal initialization of the policy's output layer: 0.01 (the anchors', a near-uniform
    /// start), or 1 for weights of the lectures' scale — pg-pong draws W₂ ~ N(0, 1/H), entries ≈ 0.07 for H = 200, so that
    /// with RMSProp's small steps the hidden layer's changes reach the output from the first update.</summary>
    public double PolicyHeadGain { get; init; } = 0.01;

    /// <summary>K, the batches each update learns from: the newest and the K − 1 before it, which earlier policies π_β
    /// collected and which are reweighted by their per-step ratios ρ_t = π_θ(a_t|s_t)/π_β(a_t|s_t) (the lectures' U^IS,
    /// <see cref="PerStepImportanceSampling"/>); 1 for on-policy REINFORCE. Each batch keeps the reward-to-go it was
    /// collected with; its baseline is recomputed (V_φ(s_t) with the current φ, or the leave-one-out means within that
    /// batch).</summary>
    public int ReuseBatches { get; init; } = 1;

    /// <summary>c of the truncation min(ρ_t, c) of the reused batches' ratios (null: none), trading the bias
    /// E_β[(ρ − c)⁺·Â] for bounded weights.</summary>
    public double? Truncation { get; init; }

    /// <summary>The policy's optimizer: Adam (the default) or RMSProp, θ ← θ + α g/(√v + ε), v ← ρv + (1 − ρ)g² with
    /// ρ = <see cref="RmsPropDecay"/>, ε = 1e-5 (the lectures' Pong: ρ = 0.99, α = 1e-4). V_φ always uses Adam.</summary>
    public ReinforceOptimizer Optimizer { get; init; } = ReinforceOptimizer.Adam;

    /// <summary>ρ, RMSProp's decay of the mean squared gradient.</summary>
    public double RmsPropDecay { get; init; } = 0.99;

    /// <summary>Restart the reward-to-go at every nonzero reward: G_t = r_t when r_t ≠ 0, else γ G_{t+1} (a point in Pong
    /// ends a rally, and the lectures credit the actions of that rally only). Steps after a copy's last nonzero reward in
    /// the rollout, whose rally has not ended, get Â = 0 (they take no part in the update or the standardization) — with
    /// <see cref="Baseline"/> = None only.</summary>
    public bool ResetReturnAtReward { get; init; }

    /// <summary>ĝ as the sum over the batch's steps, Σ_t ∇log π(a_t|s_t) Â_t, as pg-pong accumulates it, instead of the
    /// mean (1/NT)Σ_t: the direction is the same, and with Adam or RMSProp the size too except through ε. The entropy
    /// bonus stays β ∇θ mean H.</summary>
    public bool GradientSum { get; init; }

    /// <summary>Rows per chunk of the policy-gradient pass (0: the whole batch at once). Each chunk runs forward and
    /// backward on a tape of its own and the chunks' gradients are added in chunk order, so the result depends on this
    /// size, never on <see cref="Threads"/>; bounds the memory of a pass over large inputs (Pong: 6,400 per row).
    /// With ReuseBatches = 1 and a baseline other than VarianceOptimal.</summary>
    public int GradientChunkRows { get; init; }

    /// <summary>W, threads: the program steps the N copies in W blocks at once (<see cref="ParallelRolloutSource"/>), and
    /// with <see cref="GradientChunkRows"/> &gt; 0 the chunks' gradients are computed W at a time. The result is the same
    /// bits for any W.</summary>
    public int Threads { get; init; } = 1;

    /// <summary>The seed: fixes initialization, the environments' streams and every sampled action.</summary>
    public long Seed { get; init; }

    /// <summary>Checks every setting, naming the first bad one.</summary>
    public void Validate()
    {
        SettingsChecks.Positive(NumEnvs, nameof(NumEnvs));
        SettingsChecks.Positive(StepsPerEnv, nameof(StepsPerEnv));
        SettingsChecks.Discount(Gamma, nameof(Gamma));
        SettingsChecks.Positive(PolicyLearningRate, nameof(PolicyLearningRate));
        SettingsChecks.Positive(ValueLearningRate, nameof(ValueLearningRate));
        SettingsChecks.NonNegative(ValueIterations, nameof(ValueIterations));
        SettingsChecks.NonNegative(EntropyCoefficient, nameof(EntropyCoefficient));
        SettingsChecks.Positive(MaxGradientNorm, nameof(MaxGradientNorm));
        SettingsChecks.Defined(Baseline, nameof(Baseline));
        if (Baseline == ReinforceBaseline.VarianceOptimal && (ReuseBatches > 1 || NormalizeAdvantages))
            throw new ArgumentOutOfRangeException(nameof(Baseline), Baseline,
                "Baseline = VarianceOptimal gives each step one advantage per component of θ: it works with ReuseBatches = 1 and NormalizeAdvantages = false.");
        SettingsChecks.Positive(ReuseBatches, nameof(ReuseBatches));
        SettingsChecks.Positive(Truncation, nameof(Truncation));
        SettingsChecks.Network(HiddenSizes, Activation, InitialLogStd);
        SettingsChecks.Defined(Optimizer, nameof(Optimizer));
        if (!(PolicyHeadGain > 0) || !double.IsFinite(PolicyHeadGain))
            throw new ArgumentOutOfRangeException(nameof(PolicyHeadGain), PolicyHeadGain, "PolicyHeadGain must be positive and finite.");
        if (!(RmsPropDecay >= 0 && RmsPropDecay < 1))
            throw new ArgumentOutOfRangeException(nameof(RmsPropDecay), RmsPropDecay, "RmsPropDecay must be in [0, 1).");
        if (ResetReturnAtReward && Baseline != ReinforceBaseline.None)
            throw new ArgumentOutOfRangeException(nameof(ResetReturnAtReward), ResetReturnAtReward,
                $"ResetReturnAtReward works with Baseline = None (a rally's return has no state-value baseline here), not {Baseline}.");
        SettingsChecks.NonNegative(GradientChunkRows, nameof(GradientChunkRows));
        if (GradientChunkRows > 0 && (ReuseBatches > 1 || Baseline == ReinforceBaseline.VarianceOptimal))
            throw new ArgumentOutOfRangeException(nameof(GradientChunkRows), GradientChunkRows,
                "GradientChunkRows works with ReuseBatches = 1 and a baseline other than VarianceOptimal.");
        SettingsChecks.Positive(Threads, nameof(Threads));
        if (Threads > NumEnvs) throw new ArgumentOutOfRangeException(nameof(Threads), Threads, $"Threads ({Threads}) > NumEnvs ({NumEnvs}): each acting thread steps at least one copy.");
        SettingsChecks.Seed(Seed);
    }
}

/// <summary>The optimizers REINFORCE's policy can use.</summary>
public enum ReinforceOptimizer
{
    /// <summary>Adam (Kingma and Ba), β = (0.9, 0.999), ε = 1e-8.</summary>
    Adam,

    /// <summary>RMSProp with ε = 1e-5 outside the root.</summary>
    RmsProp,
}

/// <summary>The baselines REINFORCE can subtract from the reward-to-go, Â_t = G_t − b; none depends on the action a_t,
/// which keeps E[∇log π(a_t|s_t)·Â_t] = E[∇log π(a_t|s_t)·G_t] (tests/Rl/EstimatorProofTests for the proofs).</summary>
public enum ReinforceBaseline
{
    /// <summary>b = 0: the plain reward-to-go estimator.</summary>
    None,

    /// <summary>b = the mean of G over the batch's other steps (<see cref="Baselines.LeaveOneOutMeanByGroup"/> with one
    /// group). Other steps of the same episode are in that mean, so it is unbiased only up to a term of order 1/NT.</summary>
    Constant,

    /// <summary>A baseline per component k of θ, b_k = Σ_t s_tk² G_t / Σ_t s_tk² with s_t = ∇θ log π_θ(a_t|s_t): the
    /// minimizer of Σ_t s_tk² (G_t − b_k)², the per-step second moment of component k of ĝ (cross terms between steps
    /// ignored) — the lectures' variance-optimal constant baseline, <see cref="Baselines.VarianceOptimalConstant"/>,
    /// with the steps as its rows. It is estimated on the previous batch (per-step scores by one backward pass per step)
    /// and applied to the current one, so it is independent of the steps it multiplies and the estimate stays exactly
    /// unbiased; the first update uses b = 0. Not with <see cref="ReinforceSettings.ReuseBatches"/> &gt; 1 or
    /// <see cref="ReinforceSettings.NormalizeAdvantages"/> (Â is not one number per step).</summary>
    VarianceOptimal,

    /// <summary>b_h = the mean of G over the batch's other steps at the same time h of their episodes
    /// (<see cref="Baselines.LeaveOneOutMeanByGroup"/> grouped by h): those come from other, independent episodes, so the
    /// estimate stays exactly unbiased; 0 where a step is alone at its h.</summary>
    TimeDependent,

    /// <summary>b = V_φ(s_t), a learned state-value function (also bootstraps G at truncations and at the rollout's end).</summary>
    Value,
}

/// <summary>What one <see cref="Reinforce.Update"/> did.</summary>
/// <param name="TotalSteps">Environment steps taken so far.</param>
/// <param name="EpisodesFinished">Episodes that ended during this update's collection.</param>
/// <param name="MeanEpisodeReturn">Their mean return (NaN if none).</param>
/// <param name="GradientNorm">‖ĝ‖ before clipping.</param>
/// <param name="ValueLoss">½ mean (V_φ(s_t) − G_t)² before the baseline's fit.</param>
/// <param name="Entropy">Mean entropy of π_θ over the batches learned from.</param>
/// <param name="EffectiveSampleFraction">The mean over the batches learned from of each one's effective sample size
/// (Σρ)²/Σρ² as a fraction of its NT steps: 1 for the newest batch (and whenever π_θ = π_β), smaller the further the
/// policy has moved since an older batch was collected.</param>
/// <param name="TruncatedFraction">The fraction of the steps learned from whose ratio was cut to c.</param>
public readonly record struct ReinforceUpdate(long TotalSteps, int EpisodesFinished, double MeanEpisodeReturn, double GradientNorm, double ValueLoss, double Entropy,
    double EffectiveSampleFraction = 1, double TruncatedFraction = 0);

/// <summary>
/// REINFORCE (Monte Carlo policy gradient) with reward-to-go and an optional learned state-value baseline:
/// <list type="number">
/// <item>collect N·T steps with π_θ from N copies of the environment;</item>
/// <item>G_t = r_t + γ G_{t+1} within each episode (0 after termination; V_φ(s_final) after truncation, and V_φ(s_T)
/// after the rollout's last step when a baseline is learned), or restarted at every nonzero reward
/// (<see cref="ReinforceSettings.ResetReturnAtReward"/>, the lectures' Pong);</item>
/// <item>Â_t = G_t − b: b = V_φ(s_t) by default, or 0, a leave-one-out batch mean, a time-dependent one, or the
/// variance-optimal b_k per component of θ (<see cref="ReinforceSettings.Baseline"/>);</item>
/// <item>θ ← θ + α·Adam(ĝ) (or RMSProp), ĝ = (1/NT) Σ_t ∇θ log π_θ(a_t|s_t) Â_t + β ∇θ mean H(π_θ(·|s_t)) (without the
/// 1/NT under <see cref="ReinforceSettings.GradientSum"/>); with
/// <see cref="ReinforceSettings.ReuseBatches"/> = K > 1, ĝ = (1/(K′NT)) Σ_t w_t ∇θ log π_θ(a_t|s_t) Â_t over the newest
/// K′ ≤ K batches, w_t = 1 on the newest and min(π_θ(a_t|s_t)/π_β(a_t|s_t), c) on the older ones (off-policy
/// REINFORCE with per-step importance weights);</item>
/// <item>φ ← fit of V_φ(s_t) to G_t by full-batch regression.</item>
/// </list>
/// Discrete (categorical) or Box (diagonal Gaussian) actions, from the environment's action space. Deterministic for a
/// seed.
/// </summary>
public sealed class Reinforce : IOnPolicyAlgorithm
{
    private readonly IRolloutSource _source;
    private readonly ReinforceSettings _settings;
    private readonly ActorCritic _agent;
    private readonly Optimizer<float> _policyOptimizer;
    private readonly Adam<float> _valueOptimizer;
    private readonly ChunkedPolicyGradient? _chunked; // GradientChunkRows > 0
    private readonly RolloutBuffer _buffer;
    private readonly Tape<float> _tape = new();
    private readonly float[] _rewardToGo, _advantages, _truncatedValues, _lastValues, _valueScratch, _gradient;
    // the last K batches, slot j at rows [j·NT, (j+1)·NT): what acted (π_β's log-probabilities), where, and G_t
    private readonly float[] _pastObservations, _pastContinuous, _pastLogProbs, _pastRewardToGo, _pastAdvantages, _weights;
    private readonly int[] _pastDiscrete, _pastTimeSteps, _oneGroup;
    // VarianceOptimal: Σ_t s_t², Σ_t G_t s_t² of the previous batch (b = their ratio) and of the current one, Σ_t s_t, Σ_t G_t s_t
    private readonly double[] _squares = [], _weightedSquares = [], _previousSquares = [], _previousWeightedSquares = [], _scoreSum = [], _weightedScoreSum = [], _baseline = [];
    private readonly Tape<float> _stepTape = new();
    private bool _hasPreviousMoments;
    private double[] _groupSums = new double[1];
    private int[] _groupCounts = new int[1];
    private int _filled, _next;
    private long _totalSteps;

    /// <summary>Builds the policy (and critic) for <paramref name="env"/>'s spaces and resets it with the seed; the copies
    /// are stepped in this thread (<see cref="VectorEnvRolloutSource"/>).</summary>
    public Reinforce(VectorEnv env, ReinforceSettings settings)
        : this(new VectorEnvRolloutSource(env ?? throw new ArgumentNullException(nameof(env)), Validated(settings).StepsPerEnv), settings)
    {
    }

    /// <summary>The settings, checked (before a source is built from them, so a bad StepsPerEnv is named as a setting).</summary>
    private static ReinforceSettings Validated(ReinforceSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        return settings;
    }

    /// <summary>As the other constructor, with the rollouts from <paramref name="source"/> — e.g. a
    /// <see cref="ParallelRolloutSource"/> stepping blocks of copies on several threads, the same bits as one.</summary>
    public Reinforce(IRolloutSource source, ReinforceSettings settings)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        if (source.NumEnvs != settings.NumEnvs)
            throw new ArgumentException($"The environment has {source.NumEnvs} copies but the settings say NumEnvs = {settings.NumEnvs}.");
        if (source.StepsPerEnv != settings.StepsPerEnv)
            throw new ArgumentException($"The rollout source steps {source.StepsPerEnv} per copy but the settings say StepsPerEnv = {settings.StepsPerEnv}.");
        _source = source;
        var env = source;
        _settings = settings;
        var init = new Rng((ulong)settings.Seed);
        _agent = new ActorCritic(env.SingleObservationSpace, env.SingleActionSpace, settings.HiddenSizes, settings.Activation, settings.InitialLogStd, init, settings.PolicyHeadGain);
        _policyOptimizer = settings.Optimizer == ReinforceOptimizer.RmsProp
            ? new RmsProp<float>(_agent.Theta.Count, LearningRateSchedule.Constant(settings.PolicyLearningRate), settings.RmsPropDecay, maxGradientNorm: settings.MaxGradientNorm)
            : new Adam<float>(_agent.Theta.Count, LearningRateSchedule.Constant(settings.PolicyLearningRate), maxGradientNorm: settings.MaxGradientNorm);
        _valueOptimizer = new Adam<float>(_agent.Phi.Count, LearningRateSchedule.Constant(settings.ValueLearningRate));
        _buffer = source.Buffer;
        int n = settings.StepsPerEnv * settings.NumEnvs;
        _rewardToGo = new float[n];
        _advantages = new float[n];
        _truncatedValues = new float[n];
        _lastValues = new float[settings.NumEnvs];
        _valueScratch = new float[n];
        _gradient = new float[_agent.Theta.Count];
        int k = settings.ReuseBatches;
        // K = 1: the one slot is the newest batch itself, so the slots are the rollout's own arrays and nothing is copied
        // (Pong: 5,000 × 6,400 floats a batch)
        _pastObservations = k == 1 ? _buffer.Observations : new float[k * n * _agent.ObservationSize];
        _pastContinuous = k == 1 ? _buffer.ContinuousActions : new float[k * n * _agent.ActionSize];
        _pastDiscrete = k == 1 ? _buffer.DiscreteActions : new int[k * n];
        _pastTimeSteps = k == 1 ? _buffer.TimeSteps : new int[k * n];
        _oneGroup = new int[n];
        _pastLogProbs = k == 1 ? _buffer.LogProbs : new float[k * n];
        _pastRewardToGo = k == 1 ? _rewardToGo : new float[k * n];
        _pastAdvantages = new float[k * n];
        _weights = new float[k * n];
        if (settings.GradientChunkRows > 0) _chunked = new ChunkedPolicyGradient(_agent, settings.GradientChunkRows, settings.Threads);
        if (settings.Baseline == ReinforceBaseline.VarianceOptimal)
        {
            int d = _agent.Theta.Count;
            (_squares, _weightedSquares, _previousSquares, _previousWeightedSquares) = (new double[d], new double[d], new double[d], new double[d]);
            (_scoreSum, _weightedScoreSum, _baseline) = (new double[d], new double[d], new double[d]);
        }
        source.Reset(settings.Seed);
    }

    /// <summary>b_k of the last update (Baseline = VarianceOptimal), for tests.</summary>
    internal ReadOnlySpan<double> LastComponentBaseline => _baseline;

    /// <summary>ĝ of the last update before the optimizer, for tests.</summary>
    internal ReadOnlySpan<float> LastGradient => _gradient;

    /// <summary>The last batch and its G_t, for tests.</summary>
    internal (RolloutBuffer Buffer, float[] RewardToGo) LastBatch => (_buffer, _rewardToGo);

    /// <summary>The policy and value networks.</summary>
    public ActorCritic Agent => _agent;

    /// <inheritdoc/>
    public string Name => "reinforce";

    /// <inheritdoc/>
    public VectorEnv? Env => (_source as VectorEnvRolloutSource)?.Env;

    /// <summary>Where the rollouts come from.</summary>
    public IRolloutSource Source => _source;

    /// <inheritdoc/>
    public long StepsPerIteration => (long)_buffer.Steps * _buffer.NumEnvs;

    /// <summary>Not used: REINFORCE's step sizes are constant.</summary>
    public long PlannedSteps { get; set; } = 1;

    /// <inheritdoc/>
    public bool ExactResume => true;

    /// <inheritdoc/>
    public IterationMetrics Iterate()
    {
        var u = Update();
        return _settings.ReuseBatches == 1
            ? IterationMetrics.Of(u.TotalSteps, LastEpisodes, ("grad_norm", u.GradientNorm), ("value_loss", u.ValueLoss), ("entropy", u.Entropy))
            : IterationMetrics.Of(u.TotalSteps, LastEpisodes, ("grad_norm", u.GradientNorm), ("value_loss", u.ValueLoss), ("entropy", u.Entropy),
                ("is_ess_fraction", u.EffectiveSampleFraction), ("is_truncated", u.TruncatedFraction));
    }

    /// <summary>θ, the policy's parameters.</summary>
    public ParameterSet<float> PolicyParameters => _agent.Theta;

    /// <summary>φ, the value function's parameters.</summary>
    public ParameterSet<float> ValueParameters => _agent.Phi;

    /// <summary>The categorical policy, for discrete action spaces.</summary>
    public CategoricalMlpPolicy<float>? CategoricalPolicy => _agent.Categorical;

    /// <summary>The Gaussian policy, for Box action spaces.</summary>
    public GaussianMlpPolicy<float>? GaussianPolicy => _agent.Gaussian;

    /// <summary>The episodes that finished during the last update.</summary>
    public IReadOnlyList<EpisodeStatistics> LastEpisodes => _buffer.Episodes;

    /// <summary>Environment steps taken so far.</summary>
    public long TotalSteps => _totalSteps;

    /// <summary>Writes the state needed for an exact resume.</summary>
    public void WriteState(BinaryWriter w)
    {
        w.Write(_totalSteps);
        _agent.WriteParameters(w);
        _policyOptimizer.WriteState(w);
        _valueOptimizer.WriteState(w);
        _source.WriteState(w);
        if (_settings.Baseline == ReinforceBaseline.VarianceOptimal)
        {
            w.Write(_hasPreviousMoments);
            foreach (double v in _previousSquares) w.Write(v);
            foreach (double v in _previousWeightedSquares) w.Write(v);
        }
        if (_settings.ReuseBatches == 1) return; // the one batch is the newest: nothing kept between updates
        w.Write(_filled);
        w.Write(_next);
        int m = _filled * StepsPerIterationInt;
        Training.StateIo.WriteFloats(w, _pastObservations.AsSpan(0, m * _agent.ObservationSize));
        Training.StateIo.WriteFloats(w, _pastContinuous.AsSpan(0, m * _agent.ActionSize));
        for (int k = 0; k < m; k++) w.Write(_pastDiscrete[k]);
        for (int k = 0; k < m; k++) w.Write(_pastTimeSteps[k]);
        Training.StateIo.WriteFloats(w, _pastLogProbs.AsSpan(0, m));
        Training.StateIo.WriteFloats(w, _pastRewardToGo.AsSpan(0, m));
    }

    private int StepsPerIterationInt => _buffer.Steps * _buffer.NumEnvs;

    /// <summary>Restores what <see cref="WriteState"/> wrote.</summary>
    public void ReadState(BinaryReader r)
    {
        _totalSteps = r.ReadInt64();
        _agent.ReadParameters(r);
        _policyOptimizer.ReadState(r);
        _valueOptimizer.ReadState(r);
        _source.ReadState(r);
        if (_settings.Baseline == ReinforceBaseline.VarianceOptimal)
        {
            _hasPreviousMoments = r.ReadBoolean();
            for (int k = 0; k < _previousSquares.Length; k++) _previousSquares[k] = r.ReadDouble();
            for (int k = 0; k < _previousWeightedSquares.Length; k++) _previousWeightedSquares[k] = r.ReadDouble();
        }
        if (_settings.ReuseBatches == 1) return;
        _filled = r.ReadInt32();
        _next = r.ReadInt32();
        if (_filled < 0 || _filled > _settings.ReuseBatches || _next < 0 || _next >= _settings.ReuseBatches)
            throw new InvalidDataException($"The checkpoint holds {_filled} reused batches (next slot {_next}) for ReuseBatches = {_settings.ReuseBatches}.");
        int m = _filled * StepsPerIterationInt;
        Training.StateIo.ReadFloats(r, _pastObservations.AsSpan(0, m * _agent.ObservationSize), "reused observations");
        Training.StateIo.ReadFloats(r, _pastContinuous.AsSpan(0, m * _agent.ActionSize), "reused actions");
        for (int k = 0; k < m; k++) _pastDiscrete[k] = r.ReadInt32();
        for (int k = 0; k < m; k++) _pastTimeSteps[k] = r.ReadInt32();
        Training.StateIo.ReadFloats(r, _pastLogProbs.AsSpan(0, m), "reused log-probabilities");
        Training.StateIo.ReadFloats(r, _pastRewardToGo.AsSpan(0, m), "reused returns");
    }

    /// <summary>One iteration: collect, estimate, update the policy, fit the baseline.</summary>
    public ReinforceUpdate Update()
    {
        // collect
        _source.Collect(_agent, values: _settings.Baseline == ReinforceBaseline.Value);
        _totalSteps += (long)_buffer.Steps * _buffer.NumEnvs;

        // estimate: G_t with bootstraps, then Â_t
        int n = _buffer.Steps * _buffer.NumEnvs, obs = _buffer.ObservationSize;
        Array.Clear(_truncatedValues);
        Array.Clear(_lastValues);
        bool learnsValue = _settings.Baseline == ReinforceBaseline.Value;
        if (learnsValue)
        {
            _agent.PredictValues(_buffer.FinalObservations, _valueScratch);
            for (int k = 0; k < n; k++) if (_buffer.Truncated[k] && !_buffer.Terminated[k]) _truncatedValues[k] = _valueScratch[k];
            _agent.PredictValues(_buffer.LastObservations, _lastValues);
        }
        int pending = 0; // steps of unfinished rallies (ResetReturnAtReward): Â = 0 below
        if (_settings.ResetReturnAtReward) pending = RallyReturns();
        else _buffer.RewardToGo(_settings.Gamma, _truncatedValues, _lastValues, _rewardToGo);
        if (learnsValue) _buffer.Values.AsSpan(0, n).CopyTo(_advantages);
        else GroupBaseline(_rewardToGo, _buffer.TimeSteps, _advantages); // VarianceOptimal: Â = G here, b per component below
        for (int k = 0; k < n; k++) _advantages[k] = _rewardToGo[k] - _advantages[k];

        // keep the batch in slot `newest` of the last K; the older slots get Â = G − b afresh (V_φ with the current φ, or
        // the leave-one-out means within that batch)
        int newest = Remember(n, obs);
        int m = _filled * n, act = _agent.ActionSize;
        for (int j = 0; j < _filled; j++)
        {
            var advantages = _pastAdvantages.AsSpan(j * n, n);
            if (j == newest) { _advantages.CopyTo(advantages); continue; }
            var g = _pastRewardToGo.AsSpan(j * n, n);
            if (learnsValue) _agent.PredictValues(_pastObservations.AsMemory(j * n * obs, n * obs), advantages);
            else GroupBaseline(g, _pastTimeSteps.AsSpan(j * n, n), advantages);
            for (int k = 0; k < n; k++) advantages[k] = g[k] - advantages[k];
        }
        if (_settings.NormalizeAdvantages) Normalize(_pastAdvantages.AsSpan(0, m));
        if (pending > 0) foreach (ref float a in _pastAdvantages.AsSpan(0, m)) if (float.IsNaN(a)) a = 0;
        float scale = _settings.GradientSum ? 1f : 1f / m;
        if (_settings.GradientChunkRows > 0)
        {
            double chunkedEntropy = _chunked!.Compute(_pastObservations, _pastDiscrete, _pastContinuous, _pastAdvantages, m, scale, _settings.EntropyCoefficient, _gradient);
            _policyOptimizer.Ascend(_agent.Theta.Values, _gradient);
            return FitAndReport(n, obs, learnsValue, chunkedEntropy, 1, 0, m);
        }

        // update the policy: ĝ = (1/m) Σ w·∇log π(a|s)·Â + β ∇ mean H, w = 1 on the newest batch, min(ρ, c) on older ones
        _tape.Reset();
        _tape.ZeroGradients();
        var states = _tape.Borrow(_pastObservations.AsMemory(0, m * obs), m, obs);
        var (logProb, entropy) = _agent.Evaluate(_tape, states, _pastDiscrete.AsSpan(0, m), _pastContinuous.AsSpan(0, m * act));
        double meanEntropy = _tape.Scalar(entropy);
        double ess = 1, cut = 0; // the newest batch: ρ = 1, its ESS fraction 1
        for (int j = 0; j < _filled; j++)
        {
            if (j == newest) { _pastAdvantages.AsSpan(j * n, n).CopyTo(_weights.AsSpan(j * n, n)); continue; }
            var stats = PerStepImportanceSampling.Coefficients<float>(_tape.Value(logProb).Slice(j * n, n), _pastLogProbs.AsSpan(j * n, n),
                _pastAdvantages.AsSpan(j * n, n), _weights.AsSpan(j * n, n), new ImportanceSamplingOptions { Truncation = _settings.Truncation });
            (ess, cut) = (ess + stats.EffectiveSampleSize / n, cut + stats.TruncatedFraction * n);
        }
        if (_settings.Baseline == ReinforceBaseline.VarianceOptimal)
        {
            // ĝ_k = (1/m) Σ_t s_tk (G_t − b_k) = (1/m)(Σ_t G_t s_tk − b_k Σ_t s_tk), b from the previous batch's moments
            ScoreMoments(n, obs);
            for (int k = 0; k < _baseline.Length; k++)
            {
                _baseline[k] = _hasPreviousMoments && _previousSquares[k] > 0 ? _previousWeightedSquares[k] / _previousSquares[k] : 0;
                _gradient[k] = (float)((_weightedScoreSum[k] - _baseline[k] * _scoreSum[k]) / (_settings.GradientSum ? 1 : m));
            }
            _squares.AsSpan().CopyTo(_previousSquares);
            _weightedSquares.AsSpan().CopyTo(_previousWeightedSquares);
            _hasPreviousMoments = true;
            if (_settings.EntropyCoefficient > 0)
            {
                _tape.Backward(entropy * (float)_settings.EntropyCoefficient);
                var entropyGradient = _tape.GradientOf(_agent.Theta);
                for (int k = 0; k < _gradient.Length; k++) _gradient[k] += entropyGradient[k];
            }
        }
        else
        {
            PolicyGradient.Accumulate(_tape, logProb, _weights.AsMemory(0, m), scale);
            if (_settings.EntropyCoefficient > 0) _tape.Backward(entropy * (float)_settings.EntropyCoefficient);
            _tape.GradientOf(_agent.Theta).CopyTo(_gradient);
        }
        _policyOptimizer.Ascend(_agent.Theta.Values, _gradient);
        return FitAndReport(n, obs, learnsValue, meanEntropy, ess, cut, m);
    }

    /// <summary>G_t restarted at every nonzero reward (G_t = r_t there, γ G_{t+1} otherwise, 0 at a termination); NaN for
    /// the steps after a copy's last nonzero reward in the rollout or before a truncation, whose rally is unfinished.
    /// Returns how many steps are NaN.</summary>
    private int RallyReturns()
    {
        int copies = _buffer.NumEnvs, steps = _buffer.Steps, pending = 0;
        double gamma = _settings.Gamma;
        for (int i = 0; i < copies; i++)
        {
            double g = double.NaN;
            for (int t = steps - 1; t >= 0; t--)
            {
                int k = t * copies + i;
                double r = _buffer.Rewards[k];
                if (r != 0) g = r;
                else if (_buffer.Terminated[k]) g = 0;
                else if (_buffer.Truncated[k]) g = double.NaN; // cut at the time limit mid-rally: its return is unknown
                else g = gamma * g;
                _rewardToGo[k] = (float)g;
                if (double.IsNaN(g)) pending++;
            }
        }
        return pending;
    }

    private ReinforceUpdate FitAndReport(int n, int obs, bool learnsValue, double meanEntropy, double ess, double cut, int m)
    {
        // fit the baseline: minimize ½ mean (V(s_t) − G_t)² (ascend on its negative)
        double valueLoss = 0;
        if (learnsValue)
            for (int it = 0; it < _settings.ValueIterations; it++)
            {
                _tape.Reset();
                _tape.ZeroGradients();
                var v = _agent.Value.Forward(_tape, _tape.Borrow(_buffer.Observations, n, obs));
                var error = v - _tape.Borrow(_rewardToGo, n, 1);
                var loss = _tape.Mean(_tape.Square(error)) * 0.5f;
                if (it == 0) valueLoss = _tape.Scalar(loss);
                _tape.Backward(-loss);
                _valueOptimizer.Ascend(_agent.Phi.Values, _tape.GradientOf(_agent.Phi));
            }

        double meanReturn = _buffer.Episodes.Count > 0 ? _buffer.Episodes.Average(e => e.Return) : double.NaN;
        return new ReinforceUpdate(_totalSteps, _buffer.Episodes.Count, meanReturn, _policyOptimizer.LastGradientNorm, valueLoss, meanEntropy,
            ess / _filled, cut / m);
    }

    /// <summary>The per-step scores s_t = ∇θ log π_θ(a_t|s_t) of the newest batch, one backward pass per step, summed into
    /// Σ_t s_t, Σ_t G_t s_t, Σ_t s_t² and Σ_t G_t s_t² (in double).</summary>
    private void ScoreMoments(int n, int obs)
    {
        Array.Clear(_scoreSum);
        Array.Clear(_weightedScoreSum);
        Array.Clear(_squares);
        Array.Clear(_weightedSquares);
        int act = _agent.ActionSize;
        for (int t = 0; t < n; t++)
        {
            _stepTape.Reset();
            _stepTape.ZeroGradients();
            var state = _stepTape.Borrow(_buffer.Observations.AsMemory(t * obs, obs), 1, obs);
            var (logProb, _) = _agent.Evaluate(_stepTape, state, _buffer.DiscreteActions.AsSpan(t, 1), act == 0 ? default : _buffer.ContinuousActions.AsSpan(t * act, act));
            _stepTape.Backward(logProb);
            ReadOnlySpan<float> score = _stepTape.GradientOf(_agent.Theta);
            double g = _rewardToGo[t];
            for (int k = 0; k < score.Length; k++)
            {
                double s = score[k], s2 = s * s;
                _scoreSum[k] += s;
                _weightedScoreSum[k] += g * s;
                _squares[k] += s2;
                _weightedSquares[k] += g * s2;
            }
        }
    }

    /// <summary>Copies the collected batch (states, actions, π_β's log-probabilities, G_t) into the next of the K slots;
    /// returns that slot.</summary>
    private int Remember(int n, int obs)
    {
        int slot = _next, act = _agent.ActionSize;
        if (_settings.ReuseBatches == 1)
        {
            _filled = 1;
            return 0; // the slot is the rollout's own arrays (see the constructor)
        }
        _buffer.Observations.AsSpan(0, n * obs).CopyTo(_pastObservations.AsSpan(slot * n * obs));
        _buffer.ContinuousActions.AsSpan(0, n * act).CopyTo(_pastContinuous.AsSpan(slot * n * act));
        _buffer.DiscreteActions.AsSpan(0, n).CopyTo(_pastDiscrete.AsSpan(slot * n));
        _buffer.TimeSteps.AsSpan(0, n).CopyTo(_pastTimeSteps.AsSpan(slot * n));
        _buffer.LogProbs.AsSpan(0, n).CopyTo(_pastLogProbs.AsSpan(slot * n));
        _rewardToGo.AsSpan(0, n).CopyTo(_pastRewardToGo.AsSpan(slot * n));
        _filled = Math.Min(_filled + 1, _settings.ReuseBatches);
        _next = (_next + 1) % _settings.ReuseBatches;
        return slot;
    }

    /// <summary>b for one batch of G without a learned V: 0, the leave-one-out mean, or the leave-one-out mean at each
    /// time h (scratch grows to the longest episode seen, then stays).</summary>
    private void GroupBaseline(ReadOnlySpan<float> g, ReadOnlySpan<int> time, Span<float> baseline)
    {
        if (_settings.Baseline is ReinforceBaseline.None or ReinforceBaseline.VarianceOptimal) { baseline.Clear(); return; }
        var groups = _settings.Baseline == ReinforceBaseline.Constant ? _oneGroup.AsSpan(0, g.Length) : time;
        int longest = 0;
        foreach (int h in groups) longest = Math.Max(longest, h);
        if (longest >= _groupSums.Length)
        {
            _groupSums = new double[Math.Max(longest + 1, 2 * _groupSums.Length)];
            _groupCounts = new int[_groupSums.Length];
        }
        Baselines.LeaveOneOutMeanByGroup(g, groups, baseline, _groupSums, _groupCounts);
    }

    /// <summary>Standardizes x to mean 0, std 1 over its entries that are not NaN (the unfinished rallies', which stay NaN).</summary>
    private static void Normalize(Span<float> x)
    {
        double mean = 0, sq = 0;
        int count = 0;
        foreach (float v in x) if (!float.IsNaN(v)) { mean += v; count++; }
        if (count == 0) return;
        mean /= count;
        foreach (float v in x) if (!float.IsNaN(v)) sq += (v - mean) * (v - mean);
        double std = Math.Sqrt(sq / count) + 1e-8;
        for (int i = 0; i < x.Length; i++) x[i] = (float)((x[i] - mean) / std);
    }

    /// <summary>Mean and standard deviation of the undiscounted return over <paramref name="episodes"/> episodes of
    /// <paramref name="env"/> (reset with <paramref name="seed"/>), taking the policy's mode (deterministic) or sampling.</summary>
    public (double Mean, double Std) Evaluate(Env env, int episodes, long seed, bool deterministic = true) =>
        _agent.EvaluateReturn(env, episodes, seed, deterministic);
}
