using System.Text.Json;
using System.Text.Json.Nodes;
using PurePg.Autodiff;
using PurePg.Autodiff.Modules;
using PurePg.Envs;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Normalization;

namespace PurePg.Rl.Policies;

/// <summary>
/// A trained policy on its own: what is needed to act and nothing else — the architecture, θ, the observation
/// normalizer's statistics (when the run normalized), the action space and the library version — saved in a policy file
/// with a checksum. <see cref="Predict(ReadOnlySpan{float}, bool)"/> computes a = argmax_a π_θ(a|z(s)) (or a ~ π_θ(·|z(s))
/// when not deterministic) for a discrete policy, and μ_θ(z(s)) clipped to the action space (or a sample, clipped) for a
/// Gaussian one, where z(s) = clip((s − μ)/√(σ² + 10⁻⁸), −c, c) replays the run's normalization. After the first call for
/// a batch size, predicting allocates nothing. Not thread-safe: one instance per thread.
/// </summary>
/// <remarks>
/// The policy file, little-endian: the magic "PUREPGPL"; an int32 format version (1); a JSON header as a
/// length-prefixed UTF-8 string (library, algorithm, env, steps, observation_size, hidden_sizes, activation, action
/// {kind: discrete, n} or {kind: box, low, high}, normalizer {clip, enabled} or null); θ as an int32 count and float32
/// values; when there is a normalizer, μ and σ² as float64 values, one per observation feature; and a SHA-256 of all
/// the preceding bytes. Files are written atomically (a temporary file, flushed, renamed).
/// </remarks>
public sealed class TrainedPolicy
{
    private static readonly Training.SignedFormat Format = new("PUREPGPL", 1, "policy file", "policy");

    /// <summary>The file name of the newest policy in a run folder made by the program.</summary>
    public const string RunFolderPolicy = "policy.pgp";

    /// <summary>The file name of the best policy of the evaluations during training, in a run folder.</summary>
    public const string RunFolderBestPolicy = "best.pgp";

    private readonly ParameterSet<float> _theta = new();
    private readonly CategoricalMlpPolicy<float>? _categorical;
    private readonly GaussianMlpPolicy<float>? _gaussian;
    private readonly double[]? _mean, _variance;
    private readonly double _clip;
    private readonly bool _normalize;
    private readonly Tape<float> _tape = new();
    private Rng _rng = new(0);
    private float[] _input = [], _logProbs = [], _actions = [];
    private int[] _discrete = [];

    private TrainedPolicy(int observationSize, int[] hiddenSizes, Activation activation, Space actionSpace, ReadOnlySpan<float> theta,
        (double[] Mean, double[] Variance, double Clip, bool Enabled)? normalizer, string algorithm, string? envId, long steps, string library)
    {
        if (observationSize <= 0) throw new ArgumentOutOfRangeException(nameof(observationSize), observationSize, "The observation size must be positive.");
        (ObservationSize, HiddenSizes, Activation, ActionSpace, Algorithm, EnvId, Steps, LibraryVersion) =
            (observationSize, hiddenSizes.ToArray(), activation, actionSpace, algorithm, envId, steps, library);
        switch (actionSpace)
        {
            case Discrete d:
                _categorical = new CategoricalMlpPolicy<float>(_theta, observationSize, hiddenSizes, d.N, activation);
                break;
            case Box b:
                _gaussian = new GaussianMlpPolicy<float>(_theta, observationSize, hiddenSizes, b.Size, activation);
                break;
            default:
                throw new ArgumentException($"Unsupported action space {actionSpace}.", nameof(actionSpace));
        }
        if (theta.Length != _theta.Count)
            throw new InvalidDataException($"θ has {theta.Length} values; a {observationSize}-{string.Join("-", hiddenSizes)}-{ActionSpace} policy has {_theta.Count}.");
        theta.CopyTo(_theta.Values);
        if (normalizer is { } n)
        {
            if (n.Mean.Length != observationSize || n.Variance.Length != observationSize)
                throw new InvalidDataException($"The normalizer has {n.Mean.Length} means and {n.Variance.Length} variances for {observationSize} features.");
            (_mean, _variance, _clip, _normalize) = (n.Mean, n.Variance, n.Clip, n.Enabled);
        }
    }

    /// <summary>Features per observation.</summary>
    public int ObservationSize { get; }

    /// <summary>The hidden layer widths.</summary>
    public IReadOnlyList<int> HiddenSizes { get; }

    /// <summary>The hidden nonlinearity.</summary>
    public Activation Activation { get; }

    /// <summary>The action space: <see cref="Discrete"/> (a categorical policy) or <see cref="Box"/> (a Gaussian one).</summary>
    public Space ActionSpace { get; }

    /// <summary>The algorithm that trained it.</summary>
    public string Algorithm { get; }

    /// <summary>The environment id it was trained on, when known.</summary>
    public string? EnvId { get; }

    /// <summary>The environment steps it was trained for.</summary>
    public long Steps { get; }

    /// <summary>The library version that wrote it ("PurePg 0.1.0").</summary>
    public string LibraryVersion { get; }

    /// <summary>Whether observations are normalized with the run's statistics before the network sees them.</summary>
    public bool NormalizesObservations => _mean is not null;

    /// <summary>The normalizer's μ, σ², bound c and whether it centres and scales (else it only clips), or null when the
    /// policy sees raw observations: z = clip((s − μ)/√(σ² + 10⁻⁸), −c, c).</summary>
    public (IReadOnlyList<double> Mean, IReadOnlyList<double> Variance, double Clip, bool Enabled)? Normalizer =>
        _mean is null ? null : (_mean, _variance!, _clip, _normalize);

    /// <summary>θ, the policy's parameters (a copy of what it acts with).</summary>
    public ReadOnlySpan<float> Parameters => _theta.Values;

    /// <summary>The policy of <paramref name="algorithm"/> as it stands, with its observation normalizer's statistics
    /// when it trains inside a <see cref="NormalizedVectorEnv"/> (or is an <see cref="Es"/> that normalizes).</summary>
    public static TrainedPolicy From(IOnPolicyAlgorithm algorithm, string? envId = null)
    {
        ArgumentNullException.ThrowIfNull(algorithm);
        if (algorithm is Es { ObservationStatistics: { } statistics })
            return From(algorithm.Agent, algorithm.Name, envId, algorithm.TotalSteps, (statistics.Mean.ToArray(), statistics.Variance.ToArray(), Es.ObservationClip, true));
        return From(algorithm.Agent, algorithm.Name, envId, algorithm.TotalSteps, algorithm.Env as NormalizedVectorEnv);
    }

    /// <summary>The policy of an agent trained outside an on-policy algorithm (e.g. by <see cref="BehaviourCloning"/>
    /// alone), named <paramref name="algorithm"/>, with <paramref name="normalizer"/>'s observation statistics when given.</summary>
    public static TrainedPolicy From(ActorCritic agent, string algorithm, string? envId, long steps, NormalizedVectorEnv? normalizer = null)
    {
        ArgumentNullException.ThrowIfNull(agent);
        ArgumentNullException.ThrowIfNull(algorithm);
        return From(agent, algorithm, envId, steps, normalizer is { } n
            ? (n.ObservationStatistics.Mean.ToArray(), n.ObservationStatistics.Variance.ToArray(), n.ClipObservation, n.NormalizeObservations)
            : null);
    }

    private static TrainedPolicy From(ActorCritic agent, string algorithm, string? envId, long steps, (double[], double[], double, bool)? statistics)
    {
        var network = agent.Categorical?.Network ?? agent.Gaussian!.Network;
        int[] sizes = network.Sizes.Skip(1).Take(network.Sizes.Count - 2).ToArray();
        return new TrainedPolicy(agent.ObservationSize, sizes, network.Activation, agent.ActionSpace, agent.Theta.Values, statistics,
            algorithm, envId, steps, $"PurePg {Version}");
    }

    private static string Version => typeof(TrainedPolicy).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>Restarts the stream of stochastic predictions from <paramref name="seed"/> (the stream starts at seed 0).</summary>
    public void Reseed(ulong seed) => _rng = new Rng(seed);

    /// <summary>The action for one observation of a discrete policy: argmax π (deterministic) or a sample.</summary>
    /// <exception cref="InvalidOperationException">The policy's actions are continuous.</exception>
    public int Predict(ReadOnlySpan<float> observation, bool deterministic = true)
    {
        Span<int> action = stackalloc int[1];
        Predict(observation, action, deterministic);
        return action[0];
    }

    /// <summary>The actions of a discrete policy for a batch of observations [batch, ObservationSize].</summary>
    /// <exception cref="ArgumentException">The lengths do not make <paramref name="actions"/>.Length whole observations, or
    /// an observation holds NaN or ±∞ (named).</exception>
    public void Predict(ReadOnlySpan<float> observations, Span<int> actions, bool deterministic = true)
    {
        if (_categorical is null) throw new InvalidOperationException($"This policy's actions are continuous ({ActionSpace}); predict into a float span.");
        int batch = Prepare(observations, actions.Length);
        if (_discrete.Length < batch) _discrete = new int[batch];
        _categorical.Act(_tape, _input.AsMemory(0, batch * ObservationSize), _rng, _discrete.AsSpan(0, batch), _logProbs.AsSpan(0, batch), deterministic);
        _discrete.AsSpan(0, batch).CopyTo(actions);
    }

    /// <summary>The actions of a Gaussian policy, [batch, d], clipped to the action space's bounds (as Stable-Baselines3's
    /// predict clips): μ_θ(z(s)) when deterministic, else a sample.</summary>
    /// <exception cref="InvalidOperationException">The policy's actions are discrete.</exception>
    public void Predict(ReadOnlySpan<float> observations, Span<float> actions, bool deterministic = true)
    {
        if (_gaussian is null) throw new InvalidOperationException($"This policy's actions are discrete ({ActionSpace}); predict into an int span.");
        var box = (Box)ActionSpace;
        int d = box.Size;
        if (actions.Length % d != 0) throw new ArgumentException($"{actions.Length} action values do not make whole actions of {d}.", nameof(actions));
        int batch = Prepare(observations, actions.Length / d);
        if (_actions.Length < batch * d) _actions = new float[batch * d];
        _gaussian.Act(_tape, _input.AsMemory(0, batch * ObservationSize), _rng, _actions.AsSpan(0, batch * d), _logProbs.AsSpan(0, batch), deterministic);
        for (int k = 0; k < batch * d; k++) actions[k] = Math.Clamp(_actions[k], box.Low[k % d], box.High[k % d]);
    }

    /// <summary>Copies (and normalizes) the observations into the network's input; returns the batch size.</summary>
    private int Prepare(ReadOnlySpan<float> observations, int batch)
    {
        if (batch <= 0 || observations.Length != batch * ObservationSize)
            throw new ArgumentException($"{observations.Length} observation values for {batch} actions; each observation has {ObservationSize} features.");
        PolicyChecks.FiniteBatch(observations, ObservationSize); // names a NaN or ±∞ before normalization could hide it
        if (_input.Length < observations.Length) _input = new float[observations.Length];
        if (_logProbs.Length < batch) _logProbs = new float[batch];
        var input = _input.AsSpan(0, observations.Length);
        if (_mean is not null) NormalizedVectorEnv.Normalize(observations, input, _mean, _variance, _clip, _normalize);
        else observations.CopyTo(input);
        return batch;
    }

    /// <summary>Writes the policy file to <paramref name="path"/>, atomically (see the remarks for the format).</summary>
    public void Save(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var header = new JsonObject
        {
            ["library"] = LibraryVersion,
            ["algorithm"] = Algorithm,
            ["env"] = EnvId,
            ["steps"] = Steps,
            ["observation_size"] = ObservationSize,
            ["hidden_sizes"] = new JsonArray(HiddenSizes.Select(h => (JsonNode?)h).ToArray()),
            ["activation"] = Activation.ToString(),
            ["action"] = Training.SpaceJson.Write(ActionSpace),
            ["normalizer"] = _mean is null ? null : new JsonObject { ["clip"] = _clip, ["enabled"] = _normalize },
        };
        Format.Write(path, w =>
        {
            w.Write(header.ToJsonString());
            w.Write(_theta.Count);
            foreach (float v in _theta.Values) w.Write(v);
            if (_mean is not null)
            {
                foreach (double v in _mean) w.Write(v);
                foreach (double v in _variance!) w.Write(v);
            }
        });
    }

    /// <summary>Reads a policy file, or from a run folder made by the program its best policy (best.pgp, from the
    /// evaluations during training) or else its newest (policy.pgp).</summary>
    /// <exception cref="FileNotFoundException">No such file, or a folder without a policy file.</exception>
    /// <exception cref="InvalidDataException">The file is not a policy file, is damaged (checksum, truncation, a length
    /// that does not fit), or was written by an incompatible format version — the message names the file and the fault.</exception>
    public static TrainedPolicy Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path))
        {
            string best = Path.Combine(path, RunFolderBestPolicy), newest = Path.Combine(path, RunFolderPolicy);
            path = File.Exists(best) ? best : File.Exists(newest) ? newest
                : throw new FileNotFoundException($"{path} holds no policy file ({RunFolderBestPolicy} or {RunFolderPolicy}).", newest);
        }
        if (!File.Exists(path)) throw new FileNotFoundException($"No policy file {path}.", path);
        return Format.Read(path, r =>
        {
            var stream = r.BaseStream;
            var h = JsonNode.Parse(r.ReadString())!.AsObject();
            int observationSize = h["observation_size"]!.GetValue<int>();
            int[] hidden = h["hidden_sizes"]!.AsArray().Select(n => n!.GetValue<int>()).ToArray();
            if (observationSize <= 0 || observationSize > 1 << 24 || hidden.Any(x => x <= 0 || x > 1 << 16))
                throw new InvalidDataException($"{path} declares an impossible architecture ({observationSize} features, hidden {string.Join(",", hidden)}).");
            var activation = Enum.Parse<Activation>(h["activation"]!.GetValue<string>());
            Space space = Training.SpaceJson.Read(h["action"]!.AsObject());
            int count = r.ReadInt32();
            if (count < 0 || (long)count * 4 > stream.Length - stream.Position)
                throw new InvalidDataException($"{path} declares {count} parameters where {stream.Length - stream.Position} bytes remain.");
            var theta = new float[count];
            for (int i = 0; i < count; i++) theta[i] = r.ReadSingle();
            (double[], double[], double, bool)? normalizer = null;
            if (h["normalizer"] is JsonObject n)
            {
                if ((long)observationSize * 16 != stream.Length - stream.Position)
                    throw new InvalidDataException($"{path}: the normalizer needs {observationSize * 16} bytes, {stream.Length - stream.Position} remain.");
                var mean = new double[observationSize];
                var variance = new double[observationSize];
                for (int i = 0; i < observationSize; i++) mean[i] = r.ReadDouble();
                for (int i = 0; i < observationSize; i++) variance[i] = r.ReadDouble();
                normalizer = (mean, variance, n["clip"]!.GetValue<double>(), n["enabled"]!.GetValue<bool>());
            }
            if (stream.Position != stream.Length) throw new InvalidDataException($"{path} has {stream.Length - stream.Position} bytes after the policy.");
            return new TrainedPolicy(observationSize, hidden, activation, space, theta, normalizer, h["algorithm"]?.GetValue<string>() ?? "?",
                h["env"]?.GetValue<string>(), h["steps"]?.GetValue<long>() ?? 0, h["library"]?.GetValue<string>() ?? "?");
        });
    }
}
