using System.Text.Json;
using PurePg.Envs;
using PurePg.Envs.Vector;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Normalization;
using PurePg.Rl.Rollouts;

namespace PurePg.Rl.Training;

/// <summary>What one training iteration reports: the steps taken so far, the episodes that finished during it (each
/// return and length) and the algorithm's diagnostics (name → value) for metrics.csv and the progress line.</summary>
public sealed record IterationMetrics(long Steps, IReadOnlyList<EpisodeStatistics> Episodes, IReadOnlyList<(string Name, double Value)> Losses)
{
    /// <summary>How many episodes finished during the iteration.</summary>
    public int EpisodesFinished => Episodes.Count;

    /// <summary>The mean return of those episodes (NaN when none finished).</summary>
    public double MeanReturn => Episodes.Count > 0 ? Episodes.Average(e => e.Return) : double.NaN;

    /// <summary>Their mean length (NaN when none finished).</summary>
    public double MeanLength => Episodes.Count > 0 ? Episodes.Average(e => e.Length) : double.NaN;
}

/// <summary>One algorithm running on one environment, driven iteration by iteration, with its full state for checkpoints.</summary>
public interface ITrainer
{
    /// <summary>The algorithm's name (ppo, a2c, trpo, npg, reinforce, a3c).</summary>
    string Algorithm { get; }

    /// <summary>Environment steps taken.</summary>
    long TotalSteps { get; }

    /// <summary>Environment steps one iteration takes (N·T; for A3C the steps its threads take between reports).</summary>
    long StepsPerIteration { get; }

    /// <summary>The planned length of the run in environment steps, which schedules (PPO's learning-rate anneal) follow.
    /// A run extended past its plan sets the new plan here before training on.</summary>
    long PlannedSteps { get; set; }

    /// <summary>Whether <see cref="WriteState"/> captures everything (false for A3C, whose threads interleave freely).</summary>
    bool ExactResume { get; }

    /// <summary>One iteration.</summary>
    IterationMetrics Update();

    /// <summary>θ, the policy's parameters (checked for NaN after each iteration).</summary>
    ReadOnlySpan<float> PolicyParameters { get; }

    /// <summary>Mean and standard deviation of the return over <paramref name="episodes"/> episodes on
    /// <paramref name="env"/>, reset with <paramref name="seed"/> for the first episode (its stream continues after).</summary>
    (double Mean, double Std) Evaluate(Env env, int episodes, long seed, bool deterministic);

    /// <summary>Writes the full state.</summary>
    void WriteState(BinaryWriter writer);

    /// <summary>Restores it.</summary>
    void ReadState(BinaryReader reader);
}

/// <summary>The algorithms the program and the trainer know, with their settings and a factory.</summary>
public static class AlgorithmCatalog
{
    /// <summary>Every algorithm name.</summary>
    public static IReadOnlyList<string> Names { get; } = ["ppo", "a2c", "trpo", "npg", "reinforce", "a3c"];

    /// <summary>One line on each.</summary>
    public static string Describe(string name) => name switch
    {
        "ppo" => "proximal policy optimization (clipped surrogate), Stable-Baselines3 defaults",
        "a2c" => "synchronous advantage actor-critic, Stable-Baselines3 defaults",
        "trpo" => "trust-region policy optimization (KL ≤ δ, backtracking), Spinning Up defaults",
        "npg" => "natural policy gradient by conjugate gradient, normalized step",
        "reinforce" => "Monte Carlo policy gradient with a learned value baseline",
        "a3c" => "asynchronous advantage actor-critic (threads; not deterministic)",
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
    /// normalization. Returns the trainer and the effective settings as a JSON-ready dictionary.
    /// </summary>
    public static (ITrainer Trainer, Dictionary<string, object?> Settings) Create(string algorithm, string envId, int numEnvs, long seed,
        long plannedSteps, IEnumerable<KeyValuePair<string, string>> overrides, bool normalize)
    {
        var (trainer, settings) = Build(algorithm, envId, numEnvs, seed, plannedSteps, overrides, normalize);
        trainer.PlannedSteps = plannedSteps;
        return (trainer, settings);
    }

    private static (ITrainer Trainer, Dictionary<string, object?> Settings) Build(string algorithm, string envId, int numEnvs, long seed,
        long plannedSteps, IEnumerable<KeyValuePair<string, string>> overrides, bool normalize)
    {
        EnvRegistry.Spec(envId); // throws with the valid ids
        if (normalize && algorithm is "reinforce" or "a3c")
            throw new ArgumentException($"Normalization (--normalize) is available for ppo, a2c, trpo and npg, not {algorithm}.");
        switch (Bind(algorithm, numEnvs, seed, plannedSteps, overrides))
        {
            case PpoSettings s:
            {
                var env = MakeEnv(envId, s.NumEnvs, normalize, s.Gamma);
                var ppo = new Ppo(env, s);
                return (new Adapter("ppo", () => ppo.TotalSteps, () =>
                    {
                        double rate = ppo.CurrentLearningRate;
                        var u = ppo.Update();
                        return Metrics(u.TotalSteps, ppo.LastEpisodes, [("policy_loss", u.PolicyLoss), ("value_loss", u.ValueLoss), ("entropy", u.Entropy), ("approx_kl", u.ApproxKl), ("clip_fraction", u.ClipFraction), ("explained_variance", ppo.ExplainedVariance), ("learning_rate", rate)]);
                    }, ppo.Agent, ppo.WriteState, ppo.ReadState, true, ObservationNormalizer(env), (long)s.NumEnvs * s.StepsPerEnv,
                    p => ppo.PlannedSteps = p), SettingsBinder.ToDictionary(s));
            }
            case A2cSettings s:
            {
                var env = MakeEnv(envId, s.NumEnvs, normalize, s.Gamma);
                var a2c = new A2c(env, s);
                return (new Adapter("a2c", () => a2c.TotalSteps, () =>
                    {
                        var u = a2c.Update();
                        return Metrics(u.TotalSteps, a2c.LastEpisodes, [("policy_loss", u.PolicyLoss), ("value_loss", u.ValueLoss), ("entropy", u.Entropy), ("grad_norm", u.GradientNorm), ("explained_variance", a2c.ExplainedVariance)]);
                    },
                    a2c.Agent, a2c.WriteState, a2c.ReadState, true, ObservationNormalizer(env), (long)s.NumEnvs * s.StepsPerEnv), SettingsBinder.ToDictionary(s));
            }
            case TrpoSettings s when algorithm == "trpo":
            {
                var env = MakeEnv(envId, s.NumEnvs, normalize, s.Gamma);
                var trpo = new Trpo(env, s);
                return (new Adapter("trpo", () => trpo.TotalSteps, () =>
                    {
                        var u = trpo.Update();
                        return Metrics(u.TotalSteps, trpo.LastEpisodes, [("kl", u.Kl), ("improvement", u.Improvement), ("step_fraction", u.StepFraction), ("cg_residual", u.CgResidual), ("explained_variance", trpo.ExplainedVariance)]);
                    }, trpo.Agent, trpo.WriteState, trpo.ReadState, true, ObservationNormalizer(env), (long)s.NumEnvs * s.StepsPerEnv), SettingsBinder.ToDictionary(s));
            }
            case TrpoSettings s:
            {
                var env = MakeEnv(envId, s.NumEnvs, normalize, s.Gamma);
                var npg = new NaturalPolicyGradient(env, s);
                return (new Adapter("npg", () => npg.TotalSteps, () =>
                    {
                        var u = npg.Update();
                        return Metrics(u.TotalSteps, npg.LastEpisodes, [("kl", u.Kl), ("improvement", u.Improvement), ("cg_residual", u.CgResidual), ("explained_variance", npg.ExplainedVariance)]);
                    }, npg.Agent, npg.WriteState, npg.ReadState, true, ObservationNormalizer(env), (long)s.NumEnvs * s.StepsPerEnv), SettingsBinder.ToDictionary(s));
            }
            case ReinforceSettings s:
            {
                var r = new Reinforce(MakeEnv(envId, s.NumEnvs, normalize, s.Gamma), s);
                return (new ReinforceAdapter(r, (long)s.NumEnvs * s.StepsPerEnv), SettingsBinder.ToDictionary(s));
            }
            case A3cSettings s: // one environment per worker thread
            {
                var a3c = new A3c(() => EnvRegistry.Make(envId), s);
                const long chunk = 2_000;
                return (new Adapter("a3c", () => a3c.TotalSteps, () => { a3c.Train(chunk); return Metrics(a3c.TotalSteps, a3c.LastEpisodes, []); }, a3c.Agent,
                    a3c.WriteState, a3c.ReadState, false, null, chunk, p => a3c.PlannedSteps = p), SettingsBinder.ToDictionary(s));
            }
            case var other: throw new InvalidOperationException(other.GetType().Name);
        }
    }

    private static VectorEnv MakeEnv(string id, int n, bool normalize, double gamma)
    {
        VectorEnv env = id == "CartPole-v1" ? new CartPoleVectorEnv(n) : new SyncVectorEnv(id, n);
        return normalize ? new NormalizedVectorEnv(env, gamma: gamma) : env;
    }

    /// <summary>Evaluation sees raw observations; a normalized run's policy needs them normalized with its statistics.</summary>
    private static Func<float[], float[]>? ObservationNormalizer(VectorEnv env) => env is NormalizedVectorEnv normalizer
        ? raw =>
        {
            var z = new float[raw.Length];
            normalizer.NormalizeObservation(raw, z);
            return z;
        }
        : null;

    private static IterationMetrics Metrics(long steps, IReadOnlyList<EpisodeStatistics> episodes, (string, double)[] losses) =>
        new(steps, episodes.ToArray(), losses);

    private sealed class Adapter(string name, Func<long> steps, Func<IterationMetrics> update, ActorCritic agent,
        Action<BinaryWriter> write, Action<BinaryReader> read, bool exact, Func<float[], float[]>? normalize, long stepsPerIteration,
        Action<long>? plan = null) : ITrainer
    {
        private long _planned = 1;
        public string Algorithm => name;
        public long TotalSteps => steps();
        public long StepsPerIteration => stepsPerIteration;
        public long PlannedSteps
        {
            get => _planned;
            set { plan?.Invoke(value); _planned = value; }
        }
        public bool ExactResume => exact;
        public IterationMetrics Update() => update();
        public ReadOnlySpan<float> PolicyParameters => agent.Theta.Values;
        public (double Mean, double Std) Evaluate(Env env, int episodes, long seed, bool deterministic) =>
            agent.EvaluateReturn(env, episodes, seed, deterministic, normalize);
        public void WriteState(BinaryWriter writer) => write(writer);
        public void ReadState(BinaryReader reader) => read(reader);
    }

    private sealed class ReinforceAdapter(Reinforce r, long stepsPerIteration) : ITrainer
    {
        public string Algorithm => "reinforce";
        public long TotalSteps => r.TotalSteps;
        public long StepsPerIteration => stepsPerIteration;
        public long PlannedSteps { get; set; } = 1;
        public bool ExactResume => true;
        public ReadOnlySpan<float> PolicyParameters => r.PolicyParameters.Values;
        public IterationMetrics Update()
        {
            var u = r.Update();
            return Metrics(u.TotalSteps, r.LastEpisodes, [("grad_norm", u.GradientNorm), ("value_loss", u.ValueLoss), ("entropy", u.Entropy)]);
        }
        public (double Mean, double Std) Evaluate(Env env, int episodes, long seed, bool deterministic) => r.Evaluate(env, episodes, seed, deterministic);
        public void WriteState(BinaryWriter writer) => r.WriteState(writer);
        public void ReadState(BinaryReader reader) => r.ReadState(reader);
    }
}
