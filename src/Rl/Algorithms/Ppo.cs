using PurePg.Autodiff;
using PurePg.Autodiff.Modules;
using PurePg.Envs.Vector;
using PurePg.Rl.Estimators;
using PurePg.Rl.Optimizers;
using PurePg.Rl.Rollouts;

namespace PurePg.Rl.Algorithms;

/// <summary>Settings of <see cref="Ppo"/>; the defaults are Stable-Baselines3's PPO defaults.</summary>
public sealed record PpoSettings
{
    /// <summary>N, environment copies (SB3 n_envs: 1).</summary>
    public int NumEnvs { get; init; } = 1;

    /// <summary>T, steps per copy per rollout (SB3 n_steps: 2048); the rollout holds N·T samples.</summary>
    public int StepsPerEnv { get; init; } = 2048;

    /// <summary>Minibatch size (SB3 batch_size: 64); N·T must be a multiple of it.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Passes over the rollout per update (SB3 n_epochs: 10).</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Adam step size α (SB3: 3e-4).</summary>
    public double LearningRate { get; init; } = 3e-4;

    /// <summary>Anneal α linearly over the run, once per iteration as CleanRL does: iteration i, starting at step S_i, runs at
    /// α·(1 − S_i/S), where S is <see cref="Ppo.PlannedSteps"/> (initially <see cref="TotalTimesteps"/>); the first iteration
    /// runs at α and the last at about α/iterations, never at 0 (CleanRL: on; SB3: constant unless given a schedule).</summary>
    public bool AnnealLearningRate { get; init; }

    /// <summary>S, the planned training length in environment steps, which the anneal follows; the program sets it from
    /// <c>--steps</c>, and <see cref="Ppo.PlannedSteps"/> changes it for a run that is extended.</summary>
    public long TotalTimesteps { get; init; } = 1_000_000;

    /// <summary>Adam ε (SB3 sets 1e-5).</summary>
    public double AdamEpsilon { get; init; } = 1e-5;

    /// <summary>γ.</summary>
    public double Gamma { get; init; } = 0.99;

    /// <summary>λ of GAE(γ, λ) (SB3 gae_lambda: 0.95).</summary>
    public double GaeLambda { get; init; } = 0.95;

    /// <summary>ε of the clipped surrogate min(r Â, clip(r, 1 − ε, 1 + ε) Â) (SB3 clip_range: 0.2).</summary>
    public double ClipRange { get; init; } = 0.2;

    /// <summary>c, clipping V around its rollout value (default: none). The loss is CleanRL's form,
    /// mean(max((V − R)², (V_old + clip(V − V_old, −c, c) − R)²)); Stable-Baselines3's clip_range_vf differs: it takes only
    /// the clipped prediction's error, mean((V_old + clip(V − V_old, −c, c) − R)²).</summary>
    public double? ClipRangeValue { get; init; }

    /// <summary>Standardize Â per minibatch (SB3: true).</summary>
    public bool NormalizeAdvantages { get; init; } = true;

    /// <summary>β of the entropy bonus (SB3 ent_coef: 0).</summary>
    public double EntropyCoefficient { get; init; }

    /// <summary>c of the value loss c·mean((V − R)²) (SB3 vf_coef: 0.5).</summary>
    public double ValueCoefficient { get; init; } = 0.5;

    /// <summary>Global gradient-norm clip over θ and φ together (SB3 max_grad_norm: 0.5).</summary>
    public double MaxGradientNorm { get; init; } = 0.5;

    /// <summary>Stop the epochs early when the approximate KL exceeds 1.5 × this (SB3 target_kl: none).</summary>
    public double? TargetKl { get; init; }

    /// <summary>Hidden layers of both networks (SB3: 64-64).</summary>
    public int[] HiddenSizes { get; init; } = [64, 64];

    /// <summary>Hidden nonlinearity (SB3: tanh).</summary>
    public Activation Activation { get; init; } = Activation.Tanh;

    /// <summary>log σ at initialization for Box actions (SB3: 0). log σ is clamped to [−20, 2] in every Gaussian policy (SAC's
    /// range; Stable-Baselines3's and CleanRL's PPO do not clamp), so beyond it its gradient is 0.</summary>
    public double InitialLogStd { get; init; }

    /// <summary>The seed: fixes initialization, environments, sampling and minibatch order.</summary>
    public long Seed { get; init; }

    /// <summary>Checks every setting, naming the first bad one.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of its range (the message names it and the rule).</exception>
    public void Validate()
    {
        SettingsChecks.Positive(NumEnvs, nameof(NumEnvs));
        SettingsChecks.Positive(StepsPerEnv, nameof(StepsPerEnv));
        SettingsChecks.Positive(BatchSize, nameof(BatchSize));
        if ((long)NumEnvs * StepsPerEnv % BatchSize != 0)
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, $"BatchSize must divide NumEnvs × StepsPerEnv = {(long)NumEnvs * StepsPerEnv}.");
        SettingsChecks.Positive(Epochs, nameof(Epochs));
        SettingsChecks.Positive(LearningRate, nameof(LearningRate));
        SettingsChecks.Positive(TotalTimesteps, nameof(TotalTimesteps));
        SettingsChecks.Positive(AdamEpsilon, nameof(AdamEpsilon));
        SettingsChecks.Discount(Gamma, nameof(Gamma));
        SettingsChecks.UnitInterval(GaeLambda, nameof(GaeLambda));
        SettingsChecks.Positive(ClipRange, nameof(ClipRange));
        SettingsChecks.Positive(ClipRangeValue, nameof(ClipRangeValue));
        SettingsChecks.NonNegative(EntropyCoefficient, nameof(EntropyCoefficient));
        SettingsChecks.NonNegative(ValueCoefficient, nameof(ValueCoefficient));
        SettingsChecks.Positive(MaxGradientNorm, nameof(MaxGradientNorm));
        SettingsChecks.Positive(TargetKl, nameof(TargetKl));
        SettingsChecks.Network(HiddenSizes, Activation, InitialLogStd);
        SettingsChecks.Seed(Seed);
    }
}

/// <summary>What one <see cref="Ppo.Update"/> did (means over its minibatches).</summary>
public readonly record struct PpoUpdate(long TotalSteps, int EpisodesFinished, double MeanEpisodeReturn, double PolicyLoss, double ValueLoss,
    double Entropy, double ApproxKl, double ClipFraction, int EpochsRun, double LearningRate);

/// <summary>
/// Proximal policy optimization with the clipped surrogate (Schulman et al. 2017), as Stable-Baselines3 and CleanRL run it:
/// <list type="number">
/// <item>collect N·T steps with π_θ_old, recording log π_old(a|s) and V(s);</item>
/// <item>GAE(γ, λ) advantages Â and value targets R = Â + V;</item>
/// <item>for each epoch, for each shuffled minibatch: r = π_θ(a|s)/π_old(a|s),
/// L = −mean min(r Â, clip(r, 1−ε, 1+ε) Â) + c·mean((V_φ(s) − R)²) − β·mean H(π_θ(·|s)); one Adam step on θ and φ
/// with the gradient of −L clipped to a global norm; optionally stop when the approximate KL mean((r − 1) − log r)
/// exceeds 1.5 × target.</item>
/// </list>
/// Deterministic for a seed. Each minibatch allocates nothing.
/// </summary>
public sealed class Ppo : IOnPolicyAlgorithm
{
    private readonly PpoSettings _settings;
    private readonly ActorCritic _agent;
    private readonly Adam<float> _optimizer; // over (θ, φ): one step, one global-norm clip
    private readonly OnPolicyRollout _rollout;
    private readonly Tape<float> _tape = new();
    private readonly int[] _order;
    private readonly float[] _mbObs, _mbContinuous, _mbOldLogProb, _mbAdvantages, _mbReturns, _mbOldValues;
    private readonly int[] _mbDiscrete;
    private readonly IterationRate _rate;
    private readonly IRolloutSource _source;
    private long _plannedSteps;

    /// <summary>Builds the agent for <paramref name="env"/> and resets it with the seed.</summary>
    public Ppo(VectorEnv env, PpoSettings settings)
        : this(OnPolicyRollout.Local(env, settings?.StepsPerEnv ?? 1), settings!)
    {
    }

    /// <summary>Builds the agent for <paramref name="source"/>'s spaces and resets the source with the seed: the same
    /// algorithm whether the copies are stepped here (<see cref="VectorEnvRolloutSource"/>) or by a cluster's workers.</summary>
    public Ppo(IRolloutSource source, PpoSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        OnPolicyRollout.CheckSource(source, settings.NumEnvs, settings.StepsPerEnv);
        _settings = settings;
        _source = source;
        var init = new Rng((ulong)settings.Seed);
        _agent = new ActorCritic(source.SingleObservationSpace, source.SingleActionSpace, settings.HiddenSizes, settings.Activation, settings.InitialLogStd, init);
        int n = settings.NumEnvs * settings.StepsPerEnv;
        PlannedSteps = settings.TotalTimesteps;
        _rate = new IterationRate(settings.LearningRate);
        _optimizer = new Adam<float>(_agent.Theta.Count + _agent.Phi.Count, _rate, epsilon: settings.AdamEpsilon, maxGradientNorm: settings.MaxGradientNorm);
        _order = Enumerable.Range(0, n).ToArray();
        int b = settings.BatchSize, o = _agent.ObservationSize;
        _mbObs = new float[b * o];
        _mbDiscrete = new int[b];
        _mbContinuous = new float[b * Math.Max(1, _agent.ActionSize)];
        _mbOldLogProb = new float[b];
        _mbAdvantages = new float[b];
        _mbReturns = new float[b];
        _mbOldValues = new float[b];
        _rollout = new OnPolicyRollout(source, _agent, init.Split());
        source.Reset(settings.Seed);
    }

    /// <summary>The agent (θ, φ and the networks).</summary>
    public ActorCritic Agent => _agent;

    /// <inheritdoc/>
    public string Name => "ppo";

    /// <inheritdoc/>
    public VectorEnv? Env => (_source as VectorEnvRolloutSource)?.Env;

    /// <summary>Where the rollouts come from.</summary>
    public IRolloutSource Source => _source;

    /// <inheritdoc/>
    public long StepsPerIteration => (long)_settings.NumEnvs * _settings.StepsPerEnv;

    /// <inheritdoc/>
    public bool ExactResume => true;

    /// <inheritdoc/>
    public IterationMetrics Iterate()
    {
        double rate = CurrentLearningRate;
        var u = Update();
        return IterationMetrics.Of(u.TotalSteps, LastEpisodes, ("policy_loss", u.PolicyLoss), ("value_loss", u.ValueLoss), ("entropy", u.Entropy),
            ("approx_kl", u.ApproxKl), ("clip_fraction", u.ClipFraction), ("explained_variance", ExplainedVariance), ("learning_rate", rate));
    }

    /// <summary>S, the planned length of the run in environment steps, which the learning-rate anneal follows (see
    /// <see cref="PpoSettings.AnnealLearningRate"/>); starts at <see cref="PpoSettings.TotalTimesteps"/>. Set it when a run is
    /// extended: from S_i steps to a new plan S′ the rate continues as α·(1 − S_i/S′), as Stable-Baselines3's
    /// <c>learn(reset_num_timesteps=False)</c> does. Not part of the saved state: the caller that plans the run sets it.</summary>
    public long PlannedSteps
    {
        get => _plannedSteps;
        set => _plannedSteps = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "PlannedSteps must be positive.");
    }

    /// <summary>The step size the next update's minibatches use: α, or α·(1 − S_i/S) when annealing.</summary>
    public double CurrentLearningRate => _settings.AnnealLearningRate ? _settings.LearningRate * (1 - (double)TotalSteps / _plannedSteps) : _settings.LearningRate;

    /// <summary>1 − Var[R − V]/Var[R] over the last rollout (computed before the update); NaN when Var[R] = 0, where it is
    /// undefined (Stable-Baselines3 returns NaN too; the program writes an empty cell).</summary>
    public double ExplainedVariance => _rollout.ExplainedVariance;

    /// <summary>The episodes that finished during the last update.</summary>
    public IReadOnlyList<EpisodeStatistics> LastEpisodes => _rollout.Buffer.Episodes;

    /// <summary>Environment steps taken.</summary>
    public long TotalSteps => _rollout.TotalSteps;

    /// <summary>Writes everything that determines the rest of the run (θ, φ, optimizer moments, generator states, the
    /// minibatch order, running episode statistics, the environments), for an exact resume.</summary>
    public void WriteState(BinaryWriter w)
    {
        _agent.WriteParameters(w);
        _optimizer.WriteState(w);
        Training.StateIo.WriteInts(w, _order);
        _rollout.WriteState(w);
    }

    /// <summary>Restores what <see cref="WriteState"/> wrote.</summary>
    public void ReadState(BinaryReader r)
    {
        _agent.ReadParameters(r);
        _optimizer.ReadState(r);
        Training.StateIo.ReadInts(r, _order, "minibatch order");
        _rollout.ReadState(r);
    }

    /// <summary>One rollout and its epochs of minibatch updates.</summary>
    /// <exception cref="InvalidOperationException">The anneal is on and the run is at or past <see cref="PlannedSteps"/>
    /// (the rate would be 0: raise PlannedSteps to train further).</exception>
    public PpoUpdate Update()
    {
        if (_settings.AnnealLearningRate && TotalSteps >= _plannedSteps)
            throw new InvalidOperationException($"PPO's learning rate anneals to 0 at the planned {_plannedSteps:N0} steps and the run is at {TotalSteps:N0}: raise PlannedSteps to train further.");
        _rate.Alpha = CurrentLearningRate;
        // collect, then GAE(γ, λ) advantages bootstrapping truncated episodes and the rollout's end from V
        _rollout.CollectAndEstimate(_settings.Gamma, _settings.GaeLambda);

        // epochs of minibatches
        var totals = new EpochTotals();
        for (int epoch = 0; epoch < _settings.Epochs; epoch++)
            if (!Epoch(ref totals)) break;
        int steps = Math.Max(1, totals.Steps);
        return new PpoUpdate(TotalSteps, _rollout.Buffer.Episodes.Count, _rollout.MeanEpisodeReturn, totals.Policy / steps, totals.Value / steps, totals.Entropy / steps,
            totals.ApproxKl / steps, totals.ClipFraction / steps, totals.Epochs, _rate.Alpha);
    }

    internal struct EpochTotals
    {
        public double Policy, Value, Entropy, ApproxKl, ClipFraction;
        public int Steps, Epochs;
    }

    /// <summary>One pass of shuffled minibatches over the collected rollout; false if the approximate KL stopped it early.</summary>
    internal bool Epoch(ref EpochTotals totals, Adam<float>? valueOnly = null)
    {
        int n = _order.Length, b = _settings.BatchSize, o = _agent.ObservationSize, act = _agent.ActionSize;
        var buffer = _rollout.Buffer;
        totals.Epochs++;
        Shuffle(_order);
        for (int start = 0; start < n; start += b)
        {
            for (int j = 0; j < b; j++)
            {
                int k = _order[start + j];
                buffer.Observations.AsSpan(k * o, o).CopyTo(_mbObs.AsSpan(j * o, o));
                if (act == 0) _mbDiscrete[j] = buffer.DiscreteActions[k];
                else buffer.ContinuousActions.AsSpan(k * act, act).CopyTo(_mbContinuous.AsSpan(j * act, act));
                _mbOldLogProb[j] = buffer.LogProbs[k];
                _mbAdvantages[j] = _rollout.Advantages[k];
                _mbReturns[j] = _rollout.Returns[k];
                _mbOldValues[j] = buffer.Values[k];
            }
            if (_settings.NormalizeAdvantages && b > 1) AdvantageEstimation.Normalize(_mbAdvantages);
            bool earlyStop = false;
            var (pl, vl, ent, kl, cf) = valueOnly is null ? MinibatchStep(b, out earlyStop) : (0, ValueStep(b, valueOnly), 0, 0, 0);
            totals.Policy += pl;
            totals.Value += vl;
            totals.Entropy += ent;
            totals.ApproxKl += kl;
            totals.ClipFraction += cf;
            totals.Steps++;
            if (earlyStop) return false;
        }
        return true;
    }

    /// <summary>
    /// Fits V_φ alone to the current policy's returns before any policy update — what a run started from behaviour
    /// cloning needs, since a fresh V makes Â = R − V mostly noise and the first clipped updates would move the cloned π
    /// at random. Each of <paramref name="iterations"/> iterations collects a rollout with π_θ (held fixed), computes the
    /// GAE(γ, λ) targets R = Â + V as an update would, moves the value head's bias to its least-squares value given the
    /// rest of the network, b ← b + mean(R − V_φ(s)) (one closed-form step; returns far from 0, such as MountainCar's
    /// −1 per step, would take Adam at PPO's α thousands of steps to reach), and runs the settings' epochs of minibatch
    /// steps on c·mean((V_φ(s) − R)²) only, with an Adam of its own on φ (PPO's optimizer state is untouched). The steps
    /// count towards <see cref="TotalSteps"/>. Returns each iteration's mean value loss.
    /// </summary>
    public double[] WarmUpValue(int iterations)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(iterations);
        var optimizer = new Adam<float>(_agent.Phi.Count, LearningRateSchedule.Constant(_settings.LearningRate), epsilon: _settings.AdamEpsilon,
            maxGradientNorm: _settings.MaxGradientNorm);
        var losses = new double[iterations];
        for (int i = 0; i < iterations; i++)
        {
            _rollout.CollectAndEstimate(_settings.Gamma, _settings.GaeLambda);
            double shift = 0; // mean(R − V) = mean(Â) over the rollout
            foreach (float advantage in _rollout.Advantages) shift += advantage;
            _agent.Phi.Slice(_agent.Value.Network.Layers[^1].Bias)[0] += (float)(shift / _rollout.Advantages.Length);
            var totals = new EpochTotals();
            for (int epoch = 0; epoch < _settings.Epochs; epoch++) Epoch(ref totals, optimizer);
            losses[i] = totals.Value / Math.Max(1, totals.Steps);
        }
        return losses;
    }

    /// <summary>One minibatch step on φ alone: descends c·mean((V_φ(s) − R)²) with <paramref name="optimizer"/>.</summary>
    private double ValueStep(int b, Adam<float> optimizer)
    {
        _tape.Reset();
        _tape.ZeroGradients();
        var states = _tape.Borrow(_mbObs.AsMemory(0, b * _agent.ObservationSize), b, _agent.ObservationSize);
        var valueLoss = Losses.ValueLoss(_tape, _agent.Value.Forward(_tape, states), _mbReturns, _mbOldValues, _settings.ClipRangeValue is double cv ? (float)cv : null);
        _tape.Backward(-(valueLoss * (float)_settings.ValueCoefficient));
        optimizer.Ascend(_agent.Phi.Values, _tape.GradientOf(_agent.Phi));
        return _tape.Scalar(valueLoss);
    }

    private (double Policy, double Value, double Entropy, double ApproxKl, double ClipFraction) MinibatchStep(int b, out bool earlyStop)
    {
        int o = _agent.ObservationSize, act = _agent.ActionSize;
        float eps = (float)_settings.ClipRange;
        _tape.Reset();
        _tape.ZeroGradients();
        var states = _tape.Borrow(_mbObs, b, o);
        var (logProb, entropy) = _agent.Evaluate(_tape, states, _mbDiscrete, act == 0 ? default : _mbContinuous.AsSpan(0, b * act));
        var logRatio = logProb - _tape.Borrow(_mbOldLogProb, b, 1);
        var policyLoss = -Losses.ClippedSurrogate(_tape, _tape.Exp(logRatio), _mbAdvantages, eps); // log r kept for the KL below
        var value = _agent.Value.Forward(_tape, states);
        var valueLoss = Losses.ValueLoss(_tape, value, _mbReturns, _mbOldValues, _settings.ClipRangeValue is double cv ? (float)cv : null);
        var loss = policyLoss + valueLoss * (float)_settings.ValueCoefficient - entropy * (float)_settings.EntropyCoefficient;

        // diagnostics from the recorded values: approximate KL mean((r − 1) − log r) and the clipped fraction
        ReadOnlySpan<float> lr = _tape.Value(logRatio);
        double kl = 0;
        int clippedCount = 0;
        for (int j = 0; j < b; j++)
        {
            double r = Math.Exp(lr[j]);
            kl += r - 1 - lr[j];
            if (Math.Abs(r - 1) > eps) clippedCount++;
        }
        kl /= b;
        earlyStop = _settings.TargetKl is double target && kl > 1.5 * target;
        var result = (_tape.Scalar(policyLoss), _tape.Scalar(valueLoss), _tape.Scalar(entropy), kl, (double)clippedCount / b);
        if (earlyStop) return result;

        _tape.Backward(-loss); // ascend on −L
        ApplyClippedStep();
        return result;
    }

    /// <summary>Scales ∇θ and ∇φ together to a global norm ≤ c, then one Adam step on each.</summary>
    private void ApplyClippedStep()
    {
        _optimizer.Ascend(_agent.Theta.Values, _tape.GradientOf(_agent.Theta), _agent.Phi.Values, _tape.GradientOf(_agent.Phi));
    }

    /// <summary>The step size of the current iteration, set once per iteration (the optimizers' update count does not enter).</summary>
    private sealed record IterationRate(double Initial) : Optimizers.LearningRateSchedule
    {
        public double Alpha { get; set; } = Initial;
        public override double At(long update) => Alpha;
    }

    private void Shuffle(int[] order)
    {
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = _rollout.Rng.NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
    }
}
