using PurePg.Autodiff;
using PurePg.Autodiff.Modules;
using PurePg.Envs;
using System.Collections.Concurrent;
using PurePg.Rl.Optimizers;
using PurePg.Rl.Rollouts;

namespace PurePg.Rl.Algorithms;

/// <summary>Settings of <see cref="A3c"/>; defaults from the A3C paper (Mnih et al. 2016) where it gives them.</summary>
public sealed record A3cSettings
{
    /// <summary>Actor-learner threads (the paper: 16; here the machine's core count is the natural choice).</summary>
    public int Workers { get; init; } = 4;

    /// <summary>t_max, steps per segment before an update (the paper: 5).</summary>
    public int TMax { get; init; } = 5;

    /// <summary>γ.</summary>
    public double Gamma { get; init; } = 0.99;

    /// <summary>η, the shared RMSProp step size.</summary>
    public double LearningRate { get; init; } = 7e-4;

    /// <summary>Anneal η linearly to 0 over the run, as the paper does: an update made when the workers together have
    /// taken T steps uses η·max(0, 1 − T/T_max), T_max = <see cref="A3c.PlannedSteps"/> (initially
    /// <see cref="TotalTimesteps"/>). Default on (the paper).</summary>
    public bool AnnealLearningRate { get; init; } = true;

    /// <summary>T_max, the planned length of the run in environment steps, which the anneal follows; the program sets it
    /// from <c>--steps</c>.</summary>
    public long TotalTimesteps { get; init; } = 1_000_000;

    /// <summary>Shared RMSProp decay α (the paper: 0.99).</summary>
    public double RmsPropRho { get; init; } = 0.99;

    /// <summary>Shared RMSProp ε, inside the root as in the paper's update θ ← θ − η Δθ/√(g + ε) (the paper: 0.1).</summary>
    public double RmsPropEpsilon { get; init; } = 0.1;

    /// <summary>β of the entropy bonus (the paper: 0.01).</summary>
    public double EntropyCoefficient { get; init; } = 0.01;

    /// <summary>c of the value loss.</summary>
    public double ValueCoefficient { get; init; } = 0.5;

    /// <summary>Per-thread gradient-norm clip (not in the paper; 40 as common implementations use).</summary>
    public double MaxGradientNorm { get; init; } = 40;

    /// <summary>Hidden layers.</summary>
    public int[] HiddenSizes { get; init; } = [64, 64];

    /// <summary>Hidden nonlinearity.</summary>
    public Activation Activation { get; init; } = Activation.Tanh;

    /// <summary>log σ at initialization for Box actions.</summary>
    public double InitialLogStd { get; init; }

    /// <summary>The seed of the initialization and of each worker's environment and exploration stream (worker i: seed + i;
    /// a worker's environment is seeded once, at its first episode).
    /// It does not make a run reproducible: the threads interleave differently each time.</summary>
    public long Seed { get; init; }

    /// <summary>Checks every setting, naming the first bad one.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of its range (the message names it and the rule).</exception>
    public void Validate()
    {
        SettingsChecks.Positive(Workers, nameof(Workers));
        SettingsChecks.Positive(TMax, nameof(TMax));
        SettingsChecks.Discount(Gamma, nameof(Gamma));
        SettingsChecks.Positive(LearningRate, nameof(LearningRate));
        SettingsChecks.Positive(TotalTimesteps, nameof(TotalTimesteps));
        SettingsChecks.OpenUnitInterval(RmsPropRho, nameof(RmsPropRho));
        SettingsChecks.Positive(RmsPropEpsilon, nameof(RmsPropEpsilon));
        SettingsChecks.NonNegative(EntropyCoefficient, nameof(EntropyCoefficient));
        SettingsChecks.NonNegative(ValueCoefficient, nameof(ValueCoefficient));
        SettingsChecks.Positive(MaxGradientNorm, nameof(MaxGradientNorm));
        SettingsChecks.Network(HiddenSizes, Activation, InitialLogStd);
        SettingsChecks.Seed(Seed);
    }
}

/// <summary>
/// Asynchronous advantage actor-critic (A3C, the paper's Algorithm S3): several actor-learner threads, each with its own
/// environment copy, exploration stream and tape, repeatedly copy the shared θ, φ, act for up to t_max steps, compute
/// R ← r_i + γR backwards from V(s_t) (0 at a terminal state, V(s_final) on truncation), accumulate
/// dθ = Σ ∇log π(a_i|s_i)(R − V(s_i)) + β∇H and dφ = −Σ ∇(R − V(s_i))², and apply them to the shared parameters through a
/// shared RMSProp without locks (Hogwild). <b>Not deterministic</b>: the seed fixes each worker's streams, but the order in
/// which threads read and write the shared parameters depends on scheduling.
/// </summary>
public sealed class A3c : IOnPolicyAlgorithm
{
    private readonly Func<Env> _makeEnv;
    private readonly A3cSettings _settings;
    private readonly RmsProp<float> _optimizer; // shared, over (θ, φ)
    private readonly Worker[] _workers;
    private readonly ConcurrentQueue<EpisodeStatistics> _finished = new();
    private readonly List<EpisodeStatistics> _lastEpisodes = new();
    private long _totalSteps;

    /// <summary>Builds the shared agent and one worker per thread, each with an environment from <paramref name="makeEnv"/>.</summary>
    public A3c(Func<Env> makeEnv, A3cSettings settings)
    {
        ArgumentNullException.ThrowIfNull(makeEnv);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        _makeEnv = makeEnv;
        _settings = settings;
        var probe = makeEnv();
        var init = new Rng((ulong)settings.Seed);
        Agent = new ActorCritic(probe.ObservationSpace, probe.ActionSpace, settings.HiddenSizes, settings.Activation, settings.InitialLogStd, init);
        PlannedSteps = settings.TotalTimesteps;
        LearningRateSchedule rate = settings.AnnealLearningRate ? new AnnealedRate(this, settings.LearningRate) : LearningRateSchedule.Constant(settings.LearningRate);
        _optimizer = new RmsProp<float>(Agent.Theta.Count + Agent.Phi.Count, rate, settings.RmsPropRho, settings.RmsPropEpsilon, settings.MaxGradientNorm,
            epsilonInsideRoot: true);
        _workers = Enumerable.Range(0, settings.Workers).Select(i => new Worker(this, i)).ToArray();
    }

    /// <summary>The shared agent (θ, φ).</summary>
    public ActorCritic Agent { get; }

    /// <inheritdoc/>
    public string Name => "a3c";

    /// <summary>Null: each worker thread owns its environment.</summary>
    public Envs.Vector.VectorEnv? Env => null;

    /// <summary>The steps <see cref="Iterate"/> has the workers take (2,000; they finish their current segments).</summary>
    public long StepsPerIteration => 2_000;

    /// <summary>False: the threads interleave freely, so a resumed run differs from one that never stopped, as two runs
    /// with the same seed differ.</summary>
    public bool ExactResume => false;

    /// <summary>Runs the workers for <see cref="StepsPerIteration"/> steps (see <see cref="Train"/>).</summary>
    public IterationMetrics Iterate()
    {
        Train(StepsPerIteration);
        return IterationMetrics.Of(TotalSteps, LastEpisodes);
    }

    /// <summary>T_max, the planned length of the run that the annealed step size follows (see
    /// <see cref="A3cSettings.AnnealLearningRate"/>); starts at <see cref="A3cSettings.TotalTimesteps"/>. Set it when a run
    /// is extended.</summary>
    public long PlannedSteps
    {
        get => Interlocked.Read(ref _plannedSteps);
        set => Interlocked.Exchange(ref _plannedSteps, value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "PlannedSteps must be positive."));
    }

    private long _plannedSteps;

    /// <summary>η·max(0, 1 − T/T_max) at the moment of each update, T the workers' shared step count.</summary>
    private sealed record AnnealedRate(A3c Owner, double Eta) : LearningRateSchedule
    {
        public override double At(long update) => Eta * Math.Max(0.0, 1.0 - (double)Owner.TotalSteps / Owner.PlannedSteps);
    }

    /// <summary>Environment steps taken by all workers together.</summary>
    public long TotalSteps => Interlocked.Read(ref _totalSteps);

    /// <summary>The episodes that finished during the last <see cref="Train"/> call, in the order the workers finished them
    /// (an episode cut by the end of a call finishes in a later call).</summary>
    public IReadOnlyList<EpisodeStatistics> LastEpisodes => _lastEpisodes;

    /// <summary>Runs every worker on its own thread until the workers together have taken <paramref name="steps"/> more
    /// environment steps, then returns (the workers finish their current segment).</summary>
    public void Train(long steps)
    {
        long target = TotalSteps + steps;
        var threads = _workers.Select(w => new Thread(() => w.Run(target)) { IsBackground = true, Name = $"A3C worker {w.Index}" }).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        _lastEpisodes.Clear();
        while (_finished.TryDequeue(out var episode)) _lastEpisodes.Add(episode);
        foreach (var w in _workers) w.Failure?.Throw();
    }

    /// <summary>Writes the step count, θ, φ and both shared optimizers' moments (not the workers' environments and
    /// streams: an A3C run does not resume exactly, as it does not run exactly).</summary>
    public void WriteState(BinaryWriter w)
    {
        ArgumentNullException.ThrowIfNull(w);
        w.Write(TotalSteps);
        Agent.WriteParameters(w);
        _optimizer.WriteState(w);
    }

    /// <summary>Restores what <see cref="WriteState"/> wrote; the step count continues from the saved one.</summary>
    public void ReadState(BinaryReader r)
    {
        ArgumentNullException.ThrowIfNull(r);
        long steps = r.ReadInt64();
        if (steps < 0) throw new InvalidDataException($"The checkpoint's A3C step count is {steps}.");
        Agent.ReadParameters(r);
        _optimizer.ReadState(r);
        Interlocked.Exchange(ref _totalSteps, steps);
    }

    private sealed class Worker
    {
        private readonly A3c _owner;
        private readonly ActorCritic _local;
        private readonly Env _env;
        private readonly Tape<float> _tape = new();
        private readonly Rng _rng;
        private readonly float[] _observations, _rewards, _returns, _values, _continuous, _obs;
        private readonly int[] _discrete;
        private readonly float[] _one = new float[1];
        private bool _needsReset = true;
        private double _episodeReturn;
        private int _episodeLength;

        public Worker(A3c owner, int index)
        {
            _owner = owner;
            Index = index;
            var s = owner._settings;
            _env = owner._makeEnv();
            var rng = new Rng((ulong)(s.Seed + index) * 0x9E3779B97F4A7C15UL + 1);
            _local = new ActorCritic(_env.ObservationSpace, _env.ActionSpace, s.HiddenSizes, s.Activation, s.InitialLogStd, rng);
            _rng = rng.Split();
            int o = _local.ObservationSize, a = Math.Max(1, _local.ActionSize);
            _observations = new float[s.TMax * o];
            _rewards = new float[s.TMax];
            _returns = new float[s.TMax];
            _values = new float[s.TMax];
            _discrete = new int[s.TMax];
            _continuous = new float[s.TMax * a];
            _obs = new float[o];
        }

        public int Index { get; }

        public System.Runtime.ExceptionServices.ExceptionDispatchInfo? Failure { get; private set; }

        public void Run(long target)
        {
            try
            {
                while (Interlocked.Read(ref _owner._totalSteps) < target) Segment();
            }
            catch (Exception e)
            {
                Failure = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e);
            }
        }

        private void Segment()
        {
            var s = _owner._settings;
            int o = _local.ObservationSize, act = _local.ActionSize;
            // θ' ← θ, φ' ← φ
            _owner.Agent.Theta.Values.CopyTo(_local.Theta.Values);
            _owner.Agent.Phi.Values.CopyTo(_local.Phi.Values);
            if (_needsReset) // once: later episodes continue the environment's stream, as Gymnasium's autoreset does
            {
                _env.Reset(_owner._settings.Seed + Index).CopyTo(_obs);
                _needsReset = false;
            }
            int t = 0;
            double bootstrap = 0;
            bool ended = false;
            for (; t < s.TMax; t++)
            {
                _obs.CopyTo(_observations.AsSpan(t * o, o));
                var input = _observations.AsMemory(t * o, o);
                StepResult r;
                if (act == 0)
                {
                    _local.Act(input, _rng, _discrete.AsSpan(t, 1), default, _one, _values.AsSpan(t, 1));
                    r = _env.Step(_discrete[t]);
                }
                else
                {
                    _local.Act(input, _rng, default, _continuous.AsSpan(t * act, act), _one, _values.AsSpan(t, 1));
                    r = _env.Step(_continuous.AsSpan(t * act, act));
                }
                _rewards[t] = (float)r.Reward;
                r.Observation.CopyTo(_obs);
                Interlocked.Increment(ref _owner._totalSteps);
                _episodeReturn += r.Reward;
                _episodeLength++;
                if (r.Terminated || r.Truncated)
                {
                    if (!r.Terminated) bootstrap = PredictValue(_obs); // truncated: bootstrap from V(s_final)
                    ended = true;
                    _owner._finished.Enqueue(new EpisodeStatistics(_episodeReturn, _episodeLength));
                    (_episodeReturn, _episodeLength) = (0, 0);
                    _env.Reset().CopyTo(_obs);
                    t++;
                    break;
                }
            }
            if (!ended) bootstrap = PredictValue(_obs);
            // R ← r_i + γR, backwards
            double R = bootstrap;
            for (int i = t - 1; i >= 0; i--)
            {
                R = _rewards[i] + s.Gamma * R;
                _returns[i] = (float)R;
            }
            // dθ, dφ on the local copy
            _tape.Reset();
            _tape.ZeroGradients();
            var states = _tape.Borrow(_observations.AsMemory(0, t * o), t, o);
            var (logProb, entropy) = _local.Evaluate(_tape, states, _discrete.AsSpan(0, t), act == 0 ? default : _continuous.AsSpan(0, t * act));
            var advantages = _tape.Borrow(_returns.AsMemory(0, t), t, 1) - _tape.Borrow(_values.AsMemory(0, t), t, 1);
            var value = _local.Value.Forward(_tape, states);
            var objective = _tape.Sum(logProb * advantages) + entropy * (float)(s.EntropyCoefficient * t)
                - _tape.Sum(_tape.Square(value - _tape.Borrow(_returns.AsMemory(0, t), t, 1))) * (float)s.ValueCoefficient;
            _tape.Backward(objective);
            // asynchronous, lock-free update of the shared θ and φ, clipped to a global norm per worker gradient
            _owner._optimizer.Ascend(_owner.Agent.Theta.Values, _tape.GradientOf(_local.Theta), _owner.Agent.Phi.Values, _tape.GradientOf(_local.Phi));
        }

        private float PredictValue(float[] observation)
        {
            Span<float> v = stackalloc float[1];
            _local.PredictValues(observation, v);
            return v[0];
        }
    }
}
