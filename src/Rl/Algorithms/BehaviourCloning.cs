using PurePg.Autodiff;
using PurePg.Envs;
using PurePg.Rl.Imitation;
using PurePg.Rl.Normalization;
using PurePg.Rl.Optimizers;

namespace PurePg.Rl.Algorithms;

/// <summary>Settings of <see cref="BehaviourCloning"/>.</summary>
public sealed record BehaviourCloningSettings
{
    /// <summary>Passes over the training split.</summary>
    public int Epochs { get; init; } = 50;

    /// <summary>Minibatch size (the last minibatch of an epoch may be smaller).</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Adam step size α.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>The fraction of the steps held out (chosen by the seed) to report the loss and accuracy on data the fit
    /// did not see; 0 fits on everything and reports no held-out figures.</summary>
    public double HeldOutFraction { get; init; } = 0.1;

    /// <summary>Clip ∇θ to this global norm before each step (default: none).</summary>
    public double? MaxGradientNorm { get; init; }

    /// <summary>Fit a Gaussian policy's log σ too (default). A deterministic expert's actions drive log σ to its lower
    /// clamp (σ ≈ e⁻²⁰, no exploration left for a policy gradient to use); false keeps log σ where it is.</summary>
    public bool FitLogStd { get; init; } = true;

    /// <summary>The seed: fixes the held-out split and the minibatch order.</summary>
    public long Seed { get; init; }

    /// <summary>Checks every setting, naming the first bad one.</summary>
    public void Validate()
    {
        SettingsChecks.Positive(Epochs, nameof(Epochs));
        SettingsChecks.Positive(BatchSize, nameof(BatchSize));
        SettingsChecks.Positive(LearningRate, nameof(LearningRate));
        if (!(HeldOutFraction is >= 0 and < 1))
            throw new ArgumentOutOfRangeException(nameof(HeldOutFraction), HeldOutFraction, "HeldOutFraction must be in [0, 1).");
        SettingsChecks.Positive(MaxGradientNorm, nameof(MaxGradientNorm));
        SettingsChecks.Seed(Seed);
    }
}

/// <summary>What one epoch of <see cref="BehaviourCloning"/> measured: the mean training loss −(1/|B|) Σ log π_θ(a*|s)
/// over its minibatches, and on the held-out split (NaN when there is none) the loss, the log-likelihood
/// (1/n) Σ log π_θ(a*|s) = −loss, and for discrete actions the accuracy (1/n) Σ 1[argmax_a π_θ(a|s) = a*] (NaN for
/// continuous actions).</summary>
public readonly record struct BehaviourCloningEpoch(int Epoch, double TrainLoss, double HeldOutLoss, double HeldOutAccuracy)
{
    /// <summary>(1/n) Σ log π_θ(a*|s) on the held-out split.</summary>
    public double HeldOutLogLikelihood => -HeldOutLoss;
}

/// <summary>
/// Behaviour cloning: supervised learning of π_θ from demonstrations, the lectures' "pretend every action was the correct
/// label" — maximum likelihood, min_θ L(θ) = −(1/N) Σ_i log π_θ(a*_i|s_i), by minibatch Adam on θ (the agent's policy
/// parameters; φ is left alone). Works for the categorical policy (cross-entropy on the expert's action) and the Gaussian
/// one (the expert's action's Gaussian log-density). Behind a <see cref="NormalizedVectorEnv"/> the policy is fitted on
/// z(s) = clip((s − μ)/√(σ² + 10⁻⁸), −c, c) with the normalizer's statistics, so what it learns is what it will see.
/// Deterministic for a seed; each minibatch allocates nothing.
/// </summary>
public sealed class BehaviourCloning
{
    private readonly ActorCritic _agent;
    private readonly BehaviourCloningSettings _settings;
    private readonly float[] _inputs; // the observations as the policy sees them
    private readonly Demonstrations _demonstrations;
    private readonly int[] _train, _heldOut;
    private readonly Adam<float> _optimizer;
    private readonly Tape<float> _tape = new();
    private readonly Rng _rng;
    private readonly float[] _mbObs, _mbContinuous, _gradient;
    private readonly int[] _mbDiscrete, _mode;
    private readonly List<BehaviourCloningEpoch> _history = [];

    /// <summary>Prepares to fit <paramref name="agent"/>'s policy to <paramref name="demonstrations"/>; with a
    /// <paramref name="normalizer"/> that normalizes observations, on z(s) under its current statistics.</summary>
    /// <exception cref="ArgumentException">The demonstrations' spaces are not the agent's.</exception>
    public BehaviourCloning(ActorCritic agent, Demonstrations demonstrations, BehaviourCloningSettings settings, NormalizedVectorEnv? normalizer = null)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(demonstrations);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        demonstrations.CheckMatches(demonstrations.EnvId, agent.ObservationSize, agent.ActionSpace);
        (_agent, _demonstrations, _settings) = (agent, demonstrations, settings);
        _inputs = demonstrations.Observations.ToArray();
        if (normalizer is { NormalizeObservations: true }) normalizer.NormalizeObservation(demonstrations.Observations, _inputs);
        _rng = new Rng((ulong)settings.Seed);
        int n = demonstrations.Steps, held = (int)(n * settings.HeldOutFraction);
        var order = Enumerable.Range(0, n).ToArray();
        Shuffle(order);
        _heldOut = order[..held];
        _train = order[held..]; // never empty: held = ⌊N·f⌋ < N for f < 1
        int b = settings.BatchSize, o = agent.ObservationSize;
        _mbObs = new float[b * o];
        _mbDiscrete = new int[b];
        _mode = new int[b];
        _mbContinuous = new float[b * Math.Max(1, agent.ActionSize)];
        _gradient = new float[agent.Theta.Count];
        _optimizer = new Adam<float>(agent.Theta.Count, LearningRateSchedule.Constant(settings.LearningRate), maxGradientNorm: settings.MaxGradientNorm);
    }

    /// <summary>Steps fitted on.</summary>
    public int TrainingSteps => _train.Length;

    /// <summary>Steps held out.</summary>
    public int HeldOutSteps => _heldOut.Length;

    /// <summary>The indices of the held-out steps (for tests that recompute the held-out figures).</summary>
    internal ReadOnlySpan<int> HeldOutIndices => _heldOut;

    /// <summary>Every epoch so far.</summary>
    public IReadOnlyList<BehaviourCloningEpoch> History => _history;

    /// <summary>Runs the settings' epochs (stopping between minibatches when cancelled) and returns the history.</summary>
    /// <exception cref="OperationCanceledException">Cancelled; θ holds the last completed minibatch step.</exception>
    public IReadOnlyList<BehaviourCloningEpoch> Fit(CancellationToken cancellationToken = default)
    {
        for (int e = 0; e < _settings.Epochs; e++) Epoch(cancellationToken);
        return _history;
    }

    /// <summary>One shuffled pass over the training split, then the held-out figures.</summary>
    public BehaviourCloningEpoch Epoch(CancellationToken cancellationToken = default)
    {
        Shuffle(_train);
        double total = 0;
        for (int start = 0; start < _train.Length; start += _settings.BatchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int b = Math.Min(_settings.BatchSize, _train.Length - start);
            Gather(_train.AsSpan(start, b));
            _tape.Reset();
            _tape.ZeroGradients();
            var logLikelihood = _tape.Mean(LogProb(b));
            total += -(double)_tape.Scalar(logLikelihood) * b;
            _tape.Backward(logLikelihood); // ascend on (1/|B|) Σ log π_θ(a*|s), i.e. descend on L
            _tape.GradientOf(_agent.Theta).CopyTo(_gradient);
            if (!_settings.FitLogStd && _agent.Gaussian is { } g) _gradient.AsSpan(g.LogStd.Offset, g.LogStd.Length).Clear();
            _optimizer.Ascend(_agent.Theta.Values, _gradient);
        }
        var (loss, accuracy) = HeldOut();
        var epoch = new BehaviourCloningEpoch(_history.Count + 1, total / _train.Length, loss, accuracy);
        _history.Add(epoch);
        return epoch;
    }

    /// <summary>The loss −(1/n) Σ log π_θ(a*|s) and (discrete) the accuracy of the mode on the held-out split.</summary>
    private (double Loss, double Accuracy) HeldOut()
    {
        if (_heldOut.Length == 0) return (double.NaN, double.NaN);
        double loss = 0;
        int correct = 0;
        using var _ = _tape.NoGrad();
        for (int start = 0; start < _heldOut.Length; start += _settings.BatchSize)
        {
            int b = Math.Min(_settings.BatchSize, _heldOut.Length - start);
            Gather(_heldOut.AsSpan(start, b));
            _tape.Reset();
            loss -= (double)_tape.Scalar(_tape.Sum(LogProb(b)));
            if (_agent.Categorical is { } c)
            {
                c.Distribution(_tape, _tape.Borrow(_mbObs.AsMemory(0, b * _agent.ObservationSize), b, _agent.ObservationSize)).Mode(_mode.AsSpan(0, b));
                for (int j = 0; j < b; j++) if (_mode[j] == _mbDiscrete[j]) correct++;
            }
        }
        return (loss / _heldOut.Length, _agent.Categorical is null ? double.NaN : (double)correct / _heldOut.Length);
    }

    private Var<float> LogProb(int b)
    {
        int o = _agent.ObservationSize, d = _agent.ActionSize;
        var states = _tape.Borrow(_mbObs.AsMemory(0, b * o), b, o);
        return _agent.Evaluate(_tape, states, _mbDiscrete.AsSpan(0, b), d == 0 ? default : _mbContinuous.AsSpan(0, b * d)).LogProb;
    }

    private void Gather(ReadOnlySpan<int> steps)
    {
        int o = _agent.ObservationSize, d = _agent.ActionSize;
        for (int j = 0; j < steps.Length; j++)
        {
            int k = steps[j];
            _inputs.AsSpan(k * o, o).CopyTo(_mbObs.AsSpan(j * o, o));
            if (d == 0) _mbDiscrete[j] = _demonstrations.DiscreteActions[k];
            else _demonstrations.ContinuousActions.Slice(k * d, d).CopyTo(_mbContinuous.AsSpan(j * d, d));
        }
    }

    private void Shuffle(int[] order)
    {
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = _rng.NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
    }

    /// <summary>
    /// BC → PG: fits the policy of <paramref name="algorithm"/>, before its first iteration, to
    /// <paramref name="demonstrations"/>, so that the policy gradient starts from the cloned policy (θ replaced in place;
    /// φ untouched — warm it up with the algorithm's own rollouts, e.g. <see cref="Ppo.WarmUpValue"/>). When the algorithm
    /// trains behind a <see cref="NormalizedVectorEnv"/>, the normalizer's observation statistics first become the
    /// demonstrations' mean and variance (weighted by their N steps), and the policy is fitted on z(s) under them.
    /// </summary>
    /// <exception cref="InvalidOperationException">The algorithm has already taken steps.</exception>
    /// <exception cref="ArgumentException">The demonstrations were recorded on another environment or other spaces.</exception>
    public static BehaviourCloning Pretrain(IOnPolicyAlgorithm algorithm, Demonstrations demonstrations, BehaviourCloningSettings settings,
        string? envId = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(algorithm);
        ArgumentNullException.ThrowIfNull(demonstrations);
        if (algorithm.TotalSteps != 0)
            throw new InvalidOperationException($"Behaviour cloning initializes a run before its first step; this {algorithm.Name} run is at step {algorithm.TotalSteps:N0}.");
        demonstrations.CheckMatches(envId ?? demonstrations.EnvId, algorithm.Agent.ObservationSize, algorithm.Agent.ActionSpace);
        var normalizer = algorithm.Env as NormalizedVectorEnv;
        if (normalizer is { NormalizeObservations: true }) normalizer.StartObservationStatistics(demonstrations.Observations, demonstrations.Steps);
        var bc = new BehaviourCloning(algorithm.Agent, demonstrations, settings, normalizer);
        bc.Fit(cancellationToken);
        return bc;
    }
}
