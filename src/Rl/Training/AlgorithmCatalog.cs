using System.Text.Json;
using PurePg.Envs;
using PurePg.Envs.Vector;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Normalization;
using PurePg.Rl.Rollouts;

namespace PurePg.Rl.Training;

/// <summary>The algorithms the program and the trainer know, with their settings and a factory.</summary>
public static class AlgorithmCatalog
{
    /// <summary>Every algorithm name.</summary>
    public static IReadOnlyList<string> Names { get; } = ["ppo", "a2c", "trpo", "npg", "reinforce", "a3c", "es", "impala"];

    /// <summary>One line on each.</summary>
    public static string Describe(string name) => name switch
    {
        "ppo" => "proximal policy optimization (clipped surrogate), Stable-Baselines3 defaults",
        "a2c" => "synchronous advantage actor-critic, Stable-Baselines3 defaults",
        "trpo" => "trust-region policy optimization (KL ≤ δ, backtracking), Spinning Up defaults",
        "npg" => "natural policy gradient by conjugate gradient, normalized step",
        "reinforce" => "Monte Carlo policy gradient; Baseline = Value (learned V, default), None, Constant, TimeDependent or VarianceOptimal (per component of θ) (ReuseBatches = K > 1: also the last K − 1 batches, by per-step importance weights min(ρ, Truncation))",
        "a3c" => "asynchronous advantage actor-critic (threads; not deterministic)",
        "es" => "evolution strategies: antithetic perturbations of θ, centered ranks, Adam, optional observation normalization (Salimans et al. 2017); --envs sets Workers",
        "impala" => "IMPALA's learner: Blocks actors act with lagging policy versions, V-trace corrects (ρ̄, c̄); in one process the lag is exactly Blocks − 1 and a seed fixes the run; on a cluster, asynchronous",
        _ => throw Unknown(name),
    };

    /// <summary>The settings' names, types and defaults.</summary>
    public static IReadOnlyList<(string Name, Type Type, object? Value)> Settings(string name) => name switch
    {
        "ppo" => SettingsBinder.Describe(new PpoSettings()),
        "a2c" => SettingsBinder.Describe(new A2cSettings()),
        "trpo" or "npg" => SettingsBinder.Describe(new TrpoSettings()),
        "reinforce" => SettingsBinder.Describe(new ReinforceSettings()),
        "a3c" => SettingsBinder.Describe(new A3cSettings()),
        "es" => SettingsBinder.Describe(new EsSettings()),
        "impala" => SettingsBinder.Describe(new ImpalaSettings()),
        _ => throw Unknown(name),
    };

    private static ArgumentException Unknown(string name) =>
        new($"Unknown algorithm '{name}'. Valid: {string.Join(", ", Names)}.");

    /// <summary>
    /// The settings <see cref="Create"/> would use, as a JSON-ready dictionary, without building anything: the defaults,
    /// then <paramref name="overrides"/> in order (a later value for a name replaces an earlier one), then N copies
    /// (NumEnvs, or a3c's Workers), the seed and, for PPO, TotalTimesteps = <paramref name="plannedSteps"/>.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown algorithm or setting name, or a value that does not parse or validate.</exception>
    public static Dictionary<string, object?> Configure(string algorithm, int numEnvs, long seed, long plannedSteps,
        IEnumerable<KeyValuePair<string, string>> overrides) => Bind(algorithm, numEnvs, seed, plannedSteps, overrides) switch
        {
            PpoSettings s => SettingsBinder.ToDictionary(s),
            A2cSettings s => SettingsBinder.ToDictionary(s),
            TrpoSettings s => SettingsBinder.ToDictionary(s),
            ReinforceSettings s => SettingsBinder.ToDictionary(s),
            A3cSettings s => SettingsBinder.ToDictionary(s),
            EsSettings s => SettingsBinder.ToDictionary(s),
            ImpalaSettings s => SettingsBinder.ToDictionary(s),
            var other => throw new InvalidOperationException(other.GetType().Name),
        };

    private static object Bind(string algorithm, int numEnvs, long seed, long plannedSteps, IEnumerable<KeyValuePair<string, string>> overrides)
    {
        if (!Names.Contains(algorithm)) throw Unknown(algorithm);
        if (numEnvs <= 0) throw new ArgumentOutOfRangeException(nameof(numEnvs), numEnvs, "The number of environments must be positive.");
        if (seed < 0) throw new ArgumentOutOfRangeException(nameof(seed), seed, "The seed must be ≥ 0.");
        if (plannedSteps <= 0) throw new ArgumentOutOfRangeException(nameof(plannedSteps), plannedSteps, "The planned steps must be positive.");
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var forced = overrides.Concat([new("Seed", seed.ToString(inv))]).ToList();
        var withEnvs = forced.Concat([new("NumEnvs", numEnvs.ToString(inv))]).ToList();
        switch (algorithm)
        {
            case "ppo":
            {
                var s = SettingsBinder.With(new PpoSettings(), withEnvs.Concat([new("TotalTimesteps", plannedSteps.ToString(inv))]));
                s.Validate();
                return s;
            }
            case "a2c":
            {
                var s = SettingsBinder.With(new A2cSettings(), withEnvs);
                s.Validate();
                return s;
            }
            case "trpo" or "npg":
            {
                var s = SettingsBinder.With(new TrpoSettings(), withEnvs);
                s.Validate();
                return s;
            }
            case "reinforce":
            {
                var s = SettingsBinder.With(new ReinforceSettings(), withEnvs);
                s.Validate();
                return s;
            }
            case "impala":
            {
                var s = SettingsBinder.With(new ImpalaSettings(), withEnvs);
                s.Validate();
                return s;
            }
            case "es":
            {
                var s = SettingsBinder.With(new EsSettings(), forced.Concat([new("Workers", numEnvs.ToString(inv))]));
                s.Validate();
                return s;
            }
            default:
            {
                var s = SettingsBinder.With(new A3cSettings(), forced.Concat([new("Workers", numEnvs.ToString(inv)), new("TotalTimesteps", plannedSteps.ToString(inv))]));
                s.Validate();
                return s;
            }
        }
    }

    /// <summary>
    /// Builds <paramref name="algorithm"/> on N copies of <paramref name="envId"/> with the settings of
    /// <see cref="Configure"/> (validated before anything runs), optionally inside running observation/reward
    /// normalization, planned for <paramref name="plannedSteps"/> steps. Returns it and the effective settings as a
    /// JSON-ready dictionary. For es, <paramref name="esSource"/> (given the bound settings) supplies the evaluator of its
    /// generations instead of local threads. For ppo, a2c, trpo and npg, <paramref name="rolloutSource"/> (given N, T, the
    /// hidden sizes and the activation) supplies the rollouts instead of a local vector environment.
    /// </summary>
    public static (IOnPolicyAlgorithm Algorithm, Dictionary<string, object?> Settings) Create(string algorithm, string envId, int numEnvs, long seed,
        long plannedSteps, IEnumerable<KeyValuePair<string, string>> overrides, bool normalize, Func<EsSettings, IEsGenerationSource>? esSource = null,
        Func<int, int, int[], Autodiff.Modules.Activation, IRolloutSource>? rolloutSource = null, Func<ImpalaSettings, IAsyncRolloutSource>? asyncSource = null)
    {
        if (asyncSource is not null && algorithm != "impala") throw new ArgumentException($"Only impala takes asynchronous rollouts, not {algorithm}.");
        if (esSource is not null && algorithm != "es") throw new ArgumentException($"Only es evaluates generations elsewhere, not {algorithm}.");
        if (rolloutSource is not null && algorithm is not ("ppo" or "a2c" or "trpo" or "npg"))
            throw new ArgumentException($"Only ppo, a2c, trpo and npg take their rollouts from a rollout source, not {algorithm}.");
        if (rolloutSource is not null && normalize)
            throw new ArgumentException("Normalization runs over all copies in one process: it cannot be combined with a rollout source.");
        EnvRegistry.Spec(envId); // throws with the valid ids
        if (normalize && algorithm is "reinforce" or "a3c" or "es" or "impala")
            throw new ArgumentException($"Normalization (--normalize) is available for ppo, a2c, trpo and npg, not {algorithm}" +
                (algorithm == "es" ? " (es normalizes observations itself: --set NormalizeObservations=true)." : "."));
        IOnPolicyAlgorithm built;
        Dictionary<string, object?> settings;
        switch (Bind(algorithm, numEnvs, seed, plannedSteps, overrides))
        {
            case PpoSettings s:
                (built, settings) = (new Ppo(Source(s.NumEnvs, s.StepsPerEnv, s.HiddenSizes, s.Activation, s.Gamma), s), SettingsBinder.ToDictionary(s));
                break;
            case A2cSettings s:
                (built, settings) = (new A2c(Source(s.NumEnvs, s.StepsPerEnv, s.HiddenSizes, s.Activation, s.Gamma), s), SettingsBinder.ToDictionary(s));
                break;
            case TrpoSettings s when algorithm == "trpo":
                (built, settings) = (new Trpo(Source(s.NumEnvs, s.StepsPerEnv, s.HiddenSizes, s.Activation, s.Gamma), s), SettingsBinder.ToDictionary(s));
                break;
            case TrpoSettings s:
                (built, settings) = (new NaturalPolicyGradient(Source(s.NumEnvs, s.StepsPerEnv, s.HiddenSizes, s.Activation, s.Gamma), s), SettingsBinder.ToDictionary(s));
                break;
            case ReinforceSettings s:
                // Threads > 1: blocks of copies stepped on that many threads (the same bits as one)
                (built, settings) = (s.Threads > 1
                    ? new Reinforce(new ParallelRolloutSource(m => MakeVectorEnv(envId, m), s.NumEnvs, s.StepsPerEnv, s.Threads), s)
                    : new Reinforce(MakeEnv(envId, s.NumEnvs, normalize, s.Gamma), s), SettingsBinder.ToDictionary(s));
                break;
            case A3cSettings s: // one environment per worker thread
                (built, settings) = (new A3c(() => EnvRegistry.Make(envId), s), SettingsBinder.ToDictionary(s));
                break;
            case ImpalaSettings s: // Blocks actors in this process with a fixed lag, or a cluster's asynchronous workers
                (built, settings) = (asyncSource is null ? new Impala(m => MakeVectorEnv(envId, m), s) : new Impala(asyncSource(s), s), SettingsBinder.ToDictionary(s));
                break;
            case EsSettings s: // one environment per evaluation thread, or evaluator workers elsewhere
                (built, settings) = (new Es(() => EnvRegistry.Make(envId), s, esSource?.Invoke(s)), SettingsBinder.ToDictionary(s));
                break;
            case var other: throw new InvalidOperationException(other.GetType().Name);
        }
        built.PlannedSteps = plannedSteps;
        return (built, settings);

        IRolloutSource Source(int n, int steps, int[] hidden, Autodiff.Modules.Activation activation, double gamma) =>
            rolloutSource?.Invoke(n, steps, hidden, activation) ?? new VectorEnvRolloutSource(MakeEnv(envId, n, normalize, gamma), steps);
    }

    private static VectorEnv MakeEnv(string id, int n, bool normalize, double gamma)
    {
        var env = MakeVectorEnv(id, n);
        return normalize ? new NormalizedVectorEnv(env, gamma: gamma) : env;
    }

    /// <summary>N copies of <paramref name="id"/> as the program steps them: CartPole-v1 as the vectorized
    /// <see cref="CartPoleVectorEnv"/> (the same trajectories as N single environments), every other id as a
    /// <see cref="SyncVectorEnv"/>. Cluster workers make their blocks with it, so a block's saved state fits both ends.</summary>
    /// <exception cref="ArgumentException">An unknown id (the message lists the registered ones).</exception>
    public static VectorEnv MakeVectorEnv(string id, int n)
    {
        EnvRegistry.Spec(id);
        return id == "CartPole-v1" ? new CartPoleVectorEnv(n) : new SyncVectorEnv(id, n);
    }
}
