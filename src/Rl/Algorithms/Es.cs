using PurePg.Autodiff;
using PurePg.Autodiff.Modules;
using PurePg.Envs;
using PurePg.Envs.Vector;
using PurePg.Rl.Estimators;
using PurePg.Rl.Optimizers;
using PurePg.Rl.Rollouts;

namespace PurePg.Rl.Algorithms;

/// <summary>Settings of <see cref="Es"/>; defaults from Salimans et al. (2017) where the paper gives them.</summary>
public sealed record EsSettings
{
    /// <summary>n, antithetic pairs per generation: 2n episodes, each of a perturbed policy μ ± σε_j.</summary>
    public int Pairs { get; init; } = 32;

    /// <summary>σ, the perturbations' standard deviation (the paper: 0.02).</summary>
    public double Sigma { get; init; } = 0.02;

    /// <summary>Adam step size on μ (the paper: 0.01).</summary>
    public double LearningRate { get; init; } = 0.01;

    /// <summary>λ of the L2 weight decay, ĝ − λμ (the paper: 0.005).</summary>
    public double WeightDecay { get; init; } = 0.005;

    /// <summary>Shape fitness by centered ranks (the paper: yes); false uses the raw returns.</summary>
    public bool CenteredRanks { get; init; } = true;

    /// <summary>Normalize observations, z = clip((s − m)/√(v + 10⁻⁸), ±10), with the running mean m and variance v of
    /// every observation the evaluation episodes acted on (the paper: on for MuJoCo). Every candidate of a generation
    /// sees the statistics as they stood at its start; each candidate's own statistics are merged after the generation in
    /// candidate order, so the run stays the same for any number of workers. A policy file of the run replays them.</summary>
    public bool NormalizeObservations { get; init; }

    /// <summary>Act with the policy's mode during evaluation (the paper: deterministic); false samples.</summary>
    public bool Deterministic { get; init; } = true;

    /// <summary>Evaluation threads; the update is the same for any number (results are gathered by candidate index).</summary>
    public int Workers { get; init; } = Environment.ProcessorCount;

    /// <summary>Hidden layers of the policy (the paper's MuJoCo policies: 64-64).</summary>
    public int[] HiddenSizes { get; init; } = [64, 64];

    /// <summary>Hidden nonlinearity (the paper: tanh).</summary>
    public Activation Activation { get; init; } = Activation.Tanh;

    /// <summary>The seed: fixes μ's initialization, every perturbation and every episode's environment seed.</summary>
    public long Seed { get; init; }

    /// <summary>Checks every setting, naming the first bad one.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A setting is out of its range (the message names it and the rule).</exception>
    public void Validate()
    {
        SettingsChecks.Positive(Pairs, nameof(Pairs));
        SettingsChecks.Positive(Sigma, nameof(Sigma));
        SettingsChecks.Positive(LearningRate, nameof(LearningRate));
        SettingsChecks.NonNegative(WeightDecay, nameof(WeightDecay));
        SettingsChecks.Positive(Workers, nameof(Workers));
        SettingsChecks.Network(HiddenSizes, Activation, 0);
        SettingsChecks.Seed(Seed);
    }
}

/// <summary>
/// Evolution strategies (Salimans et al. 2017, Algorithm 2), sampling in parameter space where policy gradient samples in
/// action space: for generation k, ε_j ~ N(0, I) regenerated from (seed, k, j); 2n episodes of the policies μ ± σε_j (a
/// pair shares its environment seed), in parallel on <see cref="EsSettings.Workers"/> threads; fitness F = the returns,
/// centered-ranked; ĝ = (1/(2nσ)) Σ_j (F⁺_j − F⁻_j) ε_j (<see cref="EvolutionStrategyGradient"/>); one Adam step on μ
/// along ĝ − λμ; optionally observations normalized by running statistics of the evaluation episodes. Deterministic for a
/// seed whatever the number of workers. The agent's θ is μ; its value network is unused.
/// </summary>
public sealed class Es : IOnPolicyAlgorithm
{
    private readonly EsSettings _settings;
    private readonly IEsGenerationSource? _source;
    private readonly Func<Env> _makeEnv;
    private readonly Adam<float> _optimizer;
    private readonly Worker[] _workers;
    private readonly double[] _returns, _shaped, _gradient, _weights;
    private readonly double[][] _noise; // ε_j of this generation, kept by the evaluators so the update need not regenerate it
    private readonly int[] _lengths;
    private readonly float[] _step;
    private readonly Normalization.RunningMeanStd? _statistics;
    private readonly double[][] _candidateMean = [], _candidateSquares = []; // per candidate: mean and Σ(x − mean)² (Welford)
    private readonly long[] _candidateCount = [];
    private long _generation, _totalSteps;

    /// <summary>The bound c of normalized observations, clip(z, −c, c) (Stable-Baselines3's VecNormalize default).</summary>
    public const double ObservationClip = 10;

    /// <summary>Builds μ for the environments <paramref name="makeEnv"/> makes; the candidates are evaluated on
    /// <see cref="EsSettings.Workers"/> local threads.</summary>
    public Es(Func<Env> makeEnv, EsSettings settings) : this(makeEnv, settings, null) { }

    /// <summary>Builds μ and evaluates each generation's candidates with <paramref name="source"/> (e.g. evaluator grains on
    /// a cluster; null: local threads). Each candidate's result is a pure function of (settings, μ, statistics,
    /// generation, index), so a run is the same, bit for bit, whoever evaluates it; the local threads then only
    /// regenerate the noise and split the update.</summary>
    public Es(Func<Env> makeEnv, EsSettings settings, IEsGenerationSource? source)
    {
        _source = source;
        ArgumentNullException.ThrowIfNull(makeEnv);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        (_makeEnv, _settings) = (makeEnv, settings);
        var probe = makeEnv();
        Agent = new ActorCritic(probe.ObservationSpace, probe.ActionSpace, settings.HiddenSizes, settings.Activation, 0, new Rng((ulong)settings.Seed));
        _optimizer = new Adam<float>(Agent.Theta.Count, LearningRateSchedule.Constant(settings.LearningRate));
        _workers = Enumerable.Range(0, settings.Workers).Select(_ => new Worker(this)).ToArray();
        int candidates = 2 * settings.Pairs;
        (_returns, _shaped, _lengths) = (new double[candidates], new double[candidates], new int[candidates]);
        _gradient = new double[Agent.Theta.Count];
        _weights = new double[settings.Pairs];
        _noise = Enumerable.Range(0, settings.Pairs).Select(_ => new double[Agent.Theta.Count]).ToArray();
        _step = new float[Agent.Theta.Count];
        if (settings.NormalizeObservations)
        {
            int o = Agent.ObservationSize;
            _statistics = new Normalization.RunningMeanStd(o);
            _candidateMean = Enumerable.Range(0, candidates).Select(_ => new double[o]).ToArray();
            _candidateSquares = Enumerable.Range(0, candidates).Select(_ => new double[o]).ToArray();
            _candidateCount = new long[candidates];
        }
    }

    /// <summary>The running observation statistics when <see cref="EsSettings.NormalizeObservations"/> is on, else null.</summary>
    public Normalization.RunningMeanStd? ObservationStatistics => _statistics;

    /// <inheritdoc/>
    public string Name => "es";

    /// <summary>μ as the agent's θ (the value network is not used).</summary>
    public ActorCritic Agent { get; }

    /// <summary>Null: each worker owns its environment.</summary>
    public VectorEnv? Env => null;

    /// <summary>Environment steps of all the episodes so far.</summary>
    public long TotalSteps => _totalSteps;

    /// <summary>2n: a generation is 2n whole episodes, so at least 2n steps (the true count is their total length).</summary>
    public long StepsPerIteration => 2L * _settings.Pairs;

    /// <summary>Not used: ES's step size is constant.</summary>
    public long PlannedSteps { get; set; } = 1;

    /// <inheritdoc/>
    public bool ExactResume => true;

    /// <summary>Generations done.</summary>
    public long Generation => _generation;

    /// <summary>ĝ of the last generation (before weight decay), for inspection and tests.</summary>
    public ReadOnlySpan<double> LastGradient => _gradient;

    /// <summary>One generation: 2n episodes, fitness shaping, one step on μ.</summary>
    public IterationMetrics Iterate()
    {
        int candidates = 2 * _settings.Pairs, pairs = _settings.Pairs;
        if (_source is null)
        {
            foreach (var w in _workers) w.Failure = null;
            Parallel((worker, j) => _workers[worker].Evaluate(_generation, j), candidates);
            foreach (var w in _workers) w.Failure?.Throw();
        }
        else EvaluateRemotely(candidates, pairs);

        if (_settings.CenteredRanks) EvolutionStrategyGradient.CenteredRanks(_returns, _shaped);
        else _returns.CopyTo(_shaped, 0);
        // ĝ = (1/(2nσ)) Σ_j (F⁺_j − F⁻_j) ε_j, the dimensions split across the workers, each summed over j in order: the
        // same bits as EvolutionStrategyGradient.Estimate, for any number of workers
        for (int j = 0; j < pairs; j++) _weights[j] = (_shaped[2 * j] - _shaped[2 * j + 1]) / (2 * pairs * _settings.Sigma);
        int d = _gradient.Length, slice = (d + _workers.Length - 1) / _workers.Length;
        Parallel((_, part) =>
        {
            for (int i = part * slice; i < Math.Min(d, (part + 1) * slice); i++)
            {
                double sum = 0;
                for (int j = 0; j < pairs; j++) sum += _weights[j] * _noise[j][i];
                _gradient[i] = sum;
            }
        }, _workers.Length);
        var mu = Agent.Theta.Values;
        for (int i = 0; i < _step.Length; i++) _step[i] = (float)(_gradient[i] - _settings.WeightDecay * mu[i]);
        _optimizer.Ascend(mu, _step);
        _generation++;
        for (int j = 0; j < candidates; j++) _totalSteps += _lengths[j];
        if (_statistics is not null)
            for (int j = 0; j < candidates; j++) // in candidate order: the same statistics for any number of workers
            {
                var variance = _candidateSquares[j];
                for (int c = 0; c < variance.Length; c++) variance[c] /= _candidateCount[j];
                _statistics.Merge(_candidateMean[j], variance, _candidateCount[j]);
            }
        var episodes = Enumerable.Range(0, candidates).Select(j => new EpisodeStatistics(_returns[j], _lengths[j])).ToArray();
        return new IterationMetrics(_totalSteps, episodes, [("gradient_norm", Math.Sqrt(_gradient.Sum(g => g * g))), ("return_max", _returns.Max())]);
    }

    /// <summary>The generation's candidates evaluated by the <see cref="IEsGenerationSource"/>; ε_j regenerated here from
    /// (seed, generation, j), the same values the evaluators drew.</summary>
    private void EvaluateRemotely(int candidates, int pairs)
    {
        var results = new EsCandidateResult[candidates];
        _source!.Evaluate(_generation, Agent.Theta.Values, _statistics?.Mean, _statistics?.Variance, results);
        for (int j = 0; j < candidates; j++)
        {
            var r = results[j] ?? throw new InvalidOperationException($"The evaluation source returned no result for candidate {j} of generation {_generation}.");
            _returns[j] = r.Return;
            _lengths[j] = r.Length;
            if (_statistics is null) continue;
            if (r.ObservationMean.Length != Agent.ObservationSize || r.ObservationSquares.Length != Agent.ObservationSize || r.Observations != r.Length)
                throw new InvalidDataException($"Candidate {j} of generation {_generation} came back with observation statistics of {r.ObservationMean.Length} features over {r.Observations} steps (expected {Agent.ObservationSize} over {r.Length}).");
            r.ObservationMean.CopyTo(_candidateMean[j], 0);
            r.ObservationSquares.CopyTo(_candidateSquares[j], 0);
            _candidateCount[j] = r.Observations;
        }
        long generation = _generation;
        Parallel((_, j) => EvolutionStrategyGradient.Noise((ulong)_settings.Seed, generation, j, _noise[j]), pairs);
    }

    /// <summary>Runs work(w, i) for i = 0 … count − 1 on the workers, worker w taking the next index each time; returns
    /// when all are done. Items are pure functions of their index, so who runs which does not matter. The workers run as
    /// one parallel loop over w on the thread pool (the calling thread takes part), each w once at a time — not on threads
    /// started for every call, as before (three calls a generation).</summary>
    private void Parallel(Action<int, int> work, int count)
    {
        int next = -1;
        System.Threading.Tasks.Parallel.For(0, _workers.Length, new ParallelOptions { MaxDegreeOfParallelism = _workers.Length }, worker =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count) work(worker, i);
        });
    }

    /// <inheritdoc/>
    public void WriteState(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(_generation);
        writer.Write(_totalSteps);
        Training.StateIo.WriteFloats(writer, Agent.Theta.Values);
        _optimizer.WriteState(writer);
        if (_statistics is null) return;
        writer.Write(_statistics.Count);
        foreach (double v in _statistics.Mean) writer.Write(v);
        foreach (double v in _statistics.Variance) writer.Write(v);
    }

    /// <inheritdoc/>
    public void ReadState(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        _generation = reader.ReadInt64();
        _totalSteps = reader.ReadInt64();
        if (_generation < 0 || _totalSteps < 0) throw new InvalidDataException($"The checkpoint's ES counters are {_generation} and {_totalSteps}.");
        Training.StateIo.ReadFloats(reader, Agent.Theta.Values, "μ");
        _optimizer.ReadState(reader);
        if (_statistics is null) return;
        _statistics.Count = reader.ReadDouble();
        for (int c = 0; c < _statistics.Mean.Length; c++) _statistics.Mean[c] = reader.ReadDouble();
        for (int c = 0; c < _statistics.Variance.Length; c++) _statistics.Variance[c] = reader.ReadDouble();
        if (!(_statistics.Count > 0) || _statistics.Variance.Any(v => !(v >= 0)))
            throw new InvalidDataException($"The checkpoint's observation statistics are invalid (count {_statistics.Count}).");
    }

    /// <summary>One evaluation thread: an <see cref="EsCandidateEvaluator"/> and a noise buffer of its own.</summary>
    private sealed class Worker(Es owner)
    {
        private readonly EsCandidateEvaluator _evaluator = new(owner._makeEnv, owner._settings);
        private readonly double[] _epsilon = new double[owner.Agent.Theta.Count];

        public System.Runtime.ExceptionServices.ExceptionDispatchInfo? Failure { get; set; }

        /// <summary>Candidate j = 2·pair + (0 for +σε, 1 for −σε) into the owner's arrays.</summary>
        public void Evaluate(long generation, int j)
        {
            try
            {
                // the + member keeps ε_j for the update; the − member regenerates it
                double[] epsilon = j % 2 == 0 ? owner._noise[j / 2] : _epsilon;
                var statistics = owner._statistics;
                var (total, length, count) = _evaluator.Evaluate(owner.Agent.Theta.Values, statistics?.Mean, statistics?.Variance, generation, j, epsilon,
                    statistics is null ? default : owner._candidateMean[j], statistics is null ? default : owner._candidateSquares[j]);
                owner._returns[j] = total;
                owner._lengths[j] = length;
                if (statistics is not null) owner._candidateCount[j] = count;
            }
            catch (Exception e)
            {
                Failure = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e);
            }
        }
    }
}
