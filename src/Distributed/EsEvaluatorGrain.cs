using PurePg.Autodiff.Modules;
using PurePg.Envs;
using PurePg.Rl.Algorithms;

namespace PurePg.Distributed;

/// <summary>What an evaluator needs of a run's <see cref="EsSettings"/>: the environment id and the fields an evaluation
/// depends on (seed, σ, network, deterministic acting). Sent with every request; an evaluator rebuilds its environment
/// and policy copy only when these change.</summary>
[GenerateSerializer, Immutable]
public sealed record EsEvaluationSpec(
    [property: Id(0)] string EnvId,
    [property: Id(1)] long Seed,
    [property: Id(2)] double Sigma,
    [property: Id(3)] int[] HiddenSizes,
    [property: Id(4)] int Activation,
    [property: Id(5)] bool Deterministic)
{
    /// <summary>The spec of a run on <paramref name="envId"/> with <paramref name="settings"/>.</summary>
    public static EsEvaluationSpec Of(string envId, EsSettings settings)
    {
        ArgumentNullException.ThrowIfNull(envId);
        ArgumentNullException.ThrowIfNull(settings);
        return new(envId, settings.Seed, settings.Sigma, settings.HiddenSizes.ToArray(), (int)settings.Activation, settings.Deterministic);
    }

    /// <summary>Settings that evaluate as the run's do (the fields the evaluation does not read keep their defaults).</summary>
    public EsSettings ToSettings() => new()
    {
        Seed = Seed, Sigma = Sigma, HiddenSizes = HiddenSizes.ToArray(), Activation = (Activation)Activation, Deterministic = Deterministic, Workers = 1,
    };

    /// <summary>A value key: two specs with the same fields are the same evaluator.</summary>
    public string Key => $"{EnvId}|{Seed}|{Sigma:R}|{string.Join(",", HiddenSizes)}|{Activation}|{Deterministic}";
}

/// <summary>A shard of one generation: μ at that generation, the observation statistics (empty when the run does not
/// normalize) and the candidate indices to evaluate.</summary>
[GenerateSerializer, Immutable]
public sealed record EsShardRequest(
    [property: Id(0)] EsEvaluationSpec Spec,
    [property: Id(1)] long Generation,
    [property: Id(2)] float[] Mu,
    [property: Id(3)] double[] StatisticsMean,
    [property: Id(4)] double[] StatisticsVariance,
    [property: Id(5)] int[] Candidates);

/// <summary>The shard's results, in the order of its candidates: returns, lengths, and when normalizing each
/// candidate's observation mean and Σ(x − mean)² (row-major [candidates, features]).</summary>
[GenerateSerializer, Immutable]
public sealed record EsShardResult(
    [property: Id(0)] double[] Returns,
    [property: Id(1)] int[] Lengths,
    [property: Id(2)] double[] ObservationMeans,
    [property: Id(3)] double[] ObservationSquares);

/// <summary>An ES evaluator on a silo: turns (spec, μ, statistics, generation, candidate indices) into returns, a pure
/// function of its request (<see cref="EsCandidateEvaluator"/>), so the learner may ask again — another activation,
/// another silo — and get the same bits.</summary>
public interface IEsEvaluatorGrain : IGrainWithIntegerKey
{
    /// <summary>Evaluates the shard's candidates one after another.</summary>
    Task<EsShardResult> Evaluate(EsShardRequest request);

    /// <summary>The silo this activation runs on (its runtime identity), for reports and tests.</summary>
    Task<string> Silo();
}

/// <summary>The evaluator grain: one <see cref="EsCandidateEvaluator"/> (environment, policy copy, tape) per activation,
/// kept while the spec is the same. Placed at random, so a run's workers spread over the silos.</summary>
[Orleans.Placement.RandomPlacement]
public sealed class EsEvaluatorGrain : Grain, IEsEvaluatorGrain
{
    /// <inheritdoc/>
    public Task<string> Silo() => Task.FromResult(RuntimeIdentity);

    private EsCandidateEvaluator? _evaluator;
    private string? _key;
    private double[] _epsilon = [];

    /// <inheritdoc/>
    public Task<EsShardResult> Evaluate(EsShardRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_evaluator is null || _key != request.Spec.Key)
        {
            string id = request.Spec.EnvId;
            EnvRegistry.Spec(id); // an unknown id is refused by name
            _evaluator = new EsCandidateEvaluator(() => EnvRegistry.Make(id), request.Spec.ToSettings());
            _key = request.Spec.Key;
            _epsilon = new double[_evaluator.ParameterCount];
        }
        return Task.FromResult(Evaluate(_evaluator, request, _epsilon));
    }

    /// <summary>The shard's candidates one after another with <paramref name="evaluator"/> (built for the request's spec),
    /// <paramref name="epsilon"/> a scratch of its parameter count — what an evaluator grain answers.</summary>
    public static EsShardResult Evaluate(EsCandidateEvaluator evaluator, EsShardRequest request, double[] epsilon)
    {
        ArgumentNullException.ThrowIfNull(evaluator);
        ArgumentNullException.ThrowIfNull(request);
        int n = request.Candidates.Length, o = evaluator.ObservationSize;
        bool normalize = request.StatisticsMean.Length > 0;
        var returns = new double[n];
        var lengths = new int[n];
        var means = new double[normalize ? n * o : 0];
        var squares = new double[normalize ? n * o : 0];
        for (int k = 0; k < n; k++)
            (returns[k], lengths[k], _) = evaluator.Evaluate(request.Mu, request.StatisticsMean, request.StatisticsVariance, request.Generation, request.Candidates[k],
                epsilon, normalize ? means.AsSpan(k * o, o) : default, normalize ? squares.AsSpan(k * o, o) : default);
        return new EsShardResult(returns, lengths, means, squares);
    }
}
