using PurePg.Autodiff;
using PurePg.Envs;
using PurePg.Rl.Estimators;

namespace PurePg.Rl.Algorithms;

/// <summary>What one ES candidate's episode gave: its return and length, and — when the run normalizes observations —
/// the mean and Σ(x − mean)² of the observations it acted on (over <see cref="Observations"/> = Length of them).</summary>
public sealed record EsCandidateResult(double Return, int Length, double[] ObservationMean, double[] ObservationSquares, long Observations);

/// <summary>Whoever evaluates a generation's 2n candidates for <see cref="Es"/>: local threads by default, or workers
/// elsewhere (PurePg.Distributed's evaluator grains). Each result must be <see cref="EsCandidateEvaluator.Evaluate"/>'s
/// for that candidate, a pure function of its arguments — which is what makes a run the same for any evaluator.</summary>
public interface IEsGenerationSource
{
    /// <summary>Fills <paramref name="results"/>[j] for every candidate j of <paramref name="generation"/>, the policies
    /// μ ± σε_j, with observations normalized by (<paramref name="statisticsMean"/>, <paramref name="statisticsVariance"/>)
    /// when they are given. Blocks until all are in; throws if one cannot be had.</summary>
    void Evaluate(long generation, ReadOnlySpan<float> mu, double[]? statisticsMean, double[]? statisticsVariance, EsCandidateResult[] results);
}

/// <summary>
/// One ES evaluation as a pure function of (settings, environment, μ, observation statistics, generation, candidate
/// index j): ε_j regenerated from (seed, generation, ⌊j/2⌋) (<see cref="EvolutionStrategyGradient.Noise"/>),
/// θ = μ + σε_j for even j and μ − σε_j for odd j, the environment reset with the pair's seed
/// seed·1,000,003 + generation·4,099 + ⌊j/2⌋, one whole episode with the policy's mode (or samples from a stream seeded
/// by (seed, generation, j)) on z(s) = clip((s − m)/√(v + 10⁻⁸), ±10) when statistics are given. Owns its environment,
/// policy copy and tape: one instance per thread; allocation-free per episode once warm.
/// </summary>
public sealed class EsCandidateEvaluator
{
    private readonly EsSettings _settings;
    private readonly ActorCritic _policy;
    private readonly Env _env;
    private readonly Tape<float> _tape = new();
    private readonly float[] _observation, _input, _continuous, _logProb = new float[1];
    private readonly int[] _discrete = new int[1];

    /// <summary>An evaluator with its own environment from <paramref name="makeEnv"/>.</summary>
    public EsCandidateEvaluator(Func<Env> makeEnv, EsSettings settings)
    {
        ArgumentNullException.ThrowIfNull(makeEnv);
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        _settings = settings;
        _env = makeEnv();
        _policy = new ActorCritic(_env.ObservationSpace, _env.ActionSpace, settings.HiddenSizes, settings.Activation, 0, new Rng(0));
        _observation = new float[_policy.ObservationSize];
        _input = new float[_policy.ObservationSize];
        _continuous = new float[Math.Max(1, _policy.ActionSize)];
    }

    /// <summary>d, the length of μ.</summary>
    public int ParameterCount => _policy.Theta.Count;

    /// <summary>Features per observation.</summary>
    public int ObservationSize => _policy.ObservationSize;

    /// <summary>
    /// Candidate <paramref name="candidate"/> of <paramref name="generation"/>: writes ε into <paramref name="epsilon"/>
    /// (length d) and, when <paramref name="statisticsMean"/> is given, the mean and Σ(x − mean)² of the observations
    /// acted on into <paramref name="observationMean"/> and <paramref name="observationSquares"/>; returns the episode's
    /// return, its length and the number of observations counted (the length when normalizing, else 0).
    /// </summary>
    /// <exception cref="ArgumentException">μ, ε or the statistics have the wrong length.</exception>
    public (double Return, int Length, long Observations) Evaluate(ReadOnlySpan<float> mu, ReadOnlySpan<double> statisticsMean, ReadOnlySpan<double> statisticsVariance,
        long generation, int candidate, Span<double> epsilon, Span<double> observationMean, Span<double> observationSquares)
    {
        int d = ParameterCount, o = ObservationSize;
        if (mu.Length != d || epsilon.Length != d) throw new ArgumentException($"μ has {mu.Length} and ε {epsilon.Length} values; the policy has {d} parameters.");
        bool normalize = statisticsMean.Length > 0;
        if (normalize && (statisticsMean.Length != o || statisticsVariance.Length != o || observationMean.Length != o || observationSquares.Length != o))
            throw new ArgumentException($"Observation statistics of {statisticsMean.Length} features for observations of {o}.");
        var s = _settings;
        EvolutionStrategyGradient.Noise((ulong)s.Seed, generation, candidate / 2, epsilon);
        double sign = candidate % 2 == 0 ? 1 : -1;
        var theta = _policy.Theta.Values;
        for (int i = 0; i < theta.Length; i++) theta[i] = (float)(mu[i] + sign * s.Sigma * epsilon[i]);
        // a pair shares its environment seed; stochastic actions (if asked for) a stream of their own
        var rng = new Rng((ulong)(s.Seed * 1_000_003 + generation * 65_537 + candidate));
        _env.Reset(s.Seed * 1_000_003 + generation * 4_099 + candidate / 2).CopyTo(_observation);
        if (normalize)
        {
            observationMean.Clear();
            observationSquares.Clear();
        }
        double total = 0;
        int length = 0;
        while (true)
        {
            length++;
            float[] input = _observation;
            if (normalize)
            {
                // Welford's update with the observation about to be acted on, then z(s) under the given statistics
                for (int c = 0; c < o; c++)
                {
                    double delta = _observation[c] - observationMean[c];
                    observationMean[c] += delta / length;
                    observationSquares[c] += delta * (_observation[c] - observationMean[c]);
                }
                Normalization.NormalizedVectorEnv.Normalize(_observation, _input, statisticsMean, statisticsVariance, Es.ObservationClip, true);
                input = _input;
            }
            StepResult r;
            if (_policy.Categorical is { } categorical)
            {
                categorical.Act(_tape, input, rng, _discrete, _logProb, s.Deterministic);
                r = _env.Step(_discrete[0]);
            }
            else
            {
                _policy.Gaussian!.Act(_tape, input, rng, _continuous, _logProb, s.Deterministic);
                r = _env.Step(_continuous);
            }
            total += r.Reward;
            r.Observation.CopyTo(_observation);
            if (r.Terminated || r.Truncated) break;
        }
        return (total, length, normalize ? length : 0);
    }
}
