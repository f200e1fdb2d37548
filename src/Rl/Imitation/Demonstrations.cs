using System.Text.Json.Nodes;
using PurePg.Envs;
using PurePg.Rl.Policies;

namespace PurePg.Rl.Imitation;

/// <summary>How a demonstration episode ended.</summary>
public enum EpisodeEnd : byte
{
    /// <summary>The environment terminated it (a goal, a failure): no value beyond its last step.</summary>
    Terminated = 0,

    /// <summary>The time limit cut it (truncation): the state after its last step still had a value.</summary>
    Truncated = 1,
}

/// <summary>
/// A set of demonstration episodes D = {(s_t, a*_t, r_t)}: what an expert did, for behaviour cloning (maximum likelihood
/// of a* given s) — observations, actions, rewards and episode boundaries, with the environment id and a description of
/// the expert. Saved in a versioned little-endian binary file with a checksum (see the remarks).
/// </summary>
/// <remarks>
/// <para>The demonstrations file, little-endian and columnar: the magic "PUREPGDM"; an int32 format version (1); a JSON
/// header as a length-prefixed (7-bit varint) UTF-8 string: library, env, expert, observation_size, action
/// ({kind: discrete, n} or {kind: box, low, high}), episodes E, steps N; then E int32 episode lengths (summing to N);
/// E bytes, each episode's end (0 terminated, 1 truncated by the time limit); N × observation_size float32
/// observations; the actions — N int32 for a discrete space, N × d float32 for a box; N float64 rewards; and a SHA-256
/// of all the preceding bytes. Written atomically (a temporary file, flushed, renamed).</para>
/// <para>Why binary and columnar rather than text: the observations are the exact float32 values the expert saw (a text
/// round trip would need 9 significant digits per value), a column is one contiguous block that loads without parsing
/// (NumPy: <c>np.frombuffer</c> at the offsets the header implies), and the checksum and atomic write are those of the
/// policy files and checkpoints.</para>
/// </remarks>
public sealed class Demonstrations
{
    private static readonly Training.SignedFormat Format = new("PUREPGDM", 1, "demonstrations file", "demonstrations");

    private readonly float[] _observations;
    private readonly int[] _discrete;
    private readonly float[] _continuous;
    private readonly double[] _rewards;
    private readonly int[] _lengths;
    private readonly EpisodeEnd[] _ends;

    /// <summary>Demonstrations from arrays laid out as in the file (observations [N, obs], actions [N] or [N, d]).</summary>
    /// <exception cref="ArgumentException">A length disagrees with the others, an observation or reward is not finite, or an
    /// action lies outside the action space — the message names the step.</exception>
    public Demonstrations(string envId, string expert, int observationSize, Space actionSpace, float[] observations, int[]? discreteActions,
        float[]? continuousActions, double[] rewards, int[] episodeLengths, EpisodeEnd[] episodeEnds)
    {
        ArgumentNullException.ThrowIfNull(envId);
        ArgumentNullException.ThrowIfNull(expert);
        ArgumentNullException.ThrowIfNull(actionSpace);
        ArgumentNullException.ThrowIfNull(observations);
        ArgumentNullException.ThrowIfNull(rewards);
        ArgumentNullException.ThrowIfNull(episodeLengths);
        ArgumentNullException.ThrowIfNull(episodeEnds);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(observationSize);
        (EnvId, Expert, ObservationSize, ActionSpace) = (envId, expert, observationSize, actionSpace);
        int n = rewards.Length;
        if (episodeLengths.Length == 0) throw new ArgumentException("Demonstrations need at least one episode.", nameof(episodeLengths));
        if (episodeEnds.Length != episodeLengths.Length)
            throw new ArgumentException($"{episodeEnds.Length} episode ends for {episodeLengths.Length} episodes.", nameof(episodeEnds));
        long sum = 0;
        for (int e = 0; e < episodeLengths.Length; e++)
        {
            if (episodeLengths[e] <= 0) throw new ArgumentException($"Episode {e} has length {episodeLengths[e]}; every episode has at least one step.", nameof(episodeLengths));
            if (!Enum.IsDefined(episodeEnds[e])) throw new ArgumentException($"Episode {e} ends with code {(byte)episodeEnds[e]} (0 terminated, 1 truncated).", nameof(episodeEnds));
            sum += episodeLengths[e];
        }
        if (sum != n) throw new ArgumentException($"The episode lengths sum to {sum} steps but there are {n} rewards.", nameof(episodeLengths));
        if ((long)n * observationSize != observations.Length)
            throw new ArgumentException($"{observations.Length} observation values are not {n} steps of {observationSize} features.", nameof(observations));
        for (int k = 0; k < observations.Length; k++)
            if (!float.IsFinite(observations[k])) throw new ArgumentException($"The observation of step {k / observationSize} holds {observations[k]} in feature {k % observationSize}.", nameof(observations));
        for (int t = 0; t < n; t++)
            if (!double.IsFinite(rewards[t])) throw new ArgumentException($"The reward of step {t} is {rewards[t]}.", nameof(rewards));
        switch (actionSpace)
        {
            case Discrete d:
                if (discreteActions is null || discreteActions.Length != n)
                    throw new ArgumentException($"A discrete action space needs {n} actions, one per step; got {discreteActions?.Length ?? 0}.", nameof(discreteActions));
                for (int t = 0; t < n; t++)
                    if (!d.Contains(discreteActions[t])) throw new ArgumentException($"The action of step {t} is {discreteActions[t]}, outside {d}.", nameof(discreteActions));
                (_discrete, _continuous) = (discreteActions, []);
                break;
            case Box b:
                if (continuousActions is null || continuousActions.Length != (long)n * b.Size)
                    throw new ArgumentException($"A {b.Size}-dimensional box needs {(long)n * b.Size} action values; got {continuousActions?.Length ?? 0}.", nameof(continuousActions));
                for (int k = 0; k < continuousActions.Length; k++)
                    if (!float.IsFinite(continuousActions[k])) throw new ArgumentException($"The action of step {k / b.Size} holds {continuousActions[k]}.", nameof(continuousActions));
                (_discrete, _continuous) = ([], continuousActions);
                break;
            default:
                throw new ArgumentException($"Unsupported action space {actionSpace}.", nameof(actionSpace));
        }
        (_observations, _rewards, _lengths, _ends) = (observations, rewards, episodeLengths, episodeEnds);
    }

    /// <summary>The environment id the demonstrations were recorded on.</summary>
    public string EnvId { get; }

    /// <summary>Who acted: e.g. "policy runs/…/best.pgp (ppo, 100,000 steps), deterministic" or "scripted: …".</summary>
    public string Expert { get; }

    /// <summary>Features per observation.</summary>
    public int ObservationSize { get; }

    /// <summary>The action space: <see cref="Discrete"/> or <see cref="Box"/>.</summary>
    public Space ActionSpace { get; }

    /// <summary>N, the number of (s, a*, r) steps.</summary>
    public int Steps => _rewards.Length;

    /// <summary>E, the number of episodes.</summary>
    public int Episodes => _lengths.Length;

    /// <summary>Observations [N, ObservationSize], row-major.</summary>
    public ReadOnlySpan<float> Observations => _observations;

    /// <summary>Discrete actions [N] (empty for a box).</summary>
    public ReadOnlySpan<int> DiscreteActions => _discrete;

    /// <summary>Continuous actions [N, d] (empty for a discrete space).</summary>
    public ReadOnlySpan<float> ContinuousActions => _continuous;

    /// <summary>Rewards [N].</summary>
    public ReadOnlySpan<double> Rewards => _rewards;

    /// <summary>The length of each episode, in order.</summary>
    public ReadOnlySpan<int> EpisodeLengths => _lengths;

    /// <summary>How each episode ended.</summary>
    public ReadOnlySpan<EpisodeEnd> EpisodeEnds => _ends;

    /// <summary>Each episode's undiscounted return Σ_t r_t.</summary>
    public double[] EpisodeReturns()
    {
        var returns = new double[Episodes];
        int t = 0;
        for (int e = 0; e < Episodes; e++)
            for (int k = 0; k < _lengths[e]; k++) returns[e] += _rewards[t++];
        return returns;
    }

    /// <summary>The first <paramref name="episodes"/> episodes only.</summary>
    public Demonstrations Take(int episodes)
    {
        if (episodes <= 0 || episodes > Episodes)
            throw new ArgumentOutOfRangeException(nameof(episodes), episodes, $"Take between 1 and {Episodes} episodes.");
        int n = 0;
        for (int e = 0; e < episodes; e++) n += _lengths[e];
        int d = ActionSpace is Box b ? b.Size : 0;
        return new Demonstrations(EnvId, Expert, ObservationSize, ActionSpace, _observations[..(n * ObservationSize)],
            d == 0 ? _discrete[..n] : null, d == 0 ? null : _continuous[..(n * d)], _rewards[..n], _lengths[..episodes], _ends[..episodes]);
    }

    /// <summary>Refuses to pair these demonstrations with an environment they were not recorded on: a different id, or
    /// different observation or action spaces.</summary>
    /// <exception cref="ArgumentException">The mismatch, named.</exception>
    public void CheckMatches(string envId, int observationSize, Space actionSpace)
    {
        ArgumentNullException.ThrowIfNull(actionSpace);
        if (envId != EnvId) throw new ArgumentException($"The demonstrations were recorded on {EnvId}, not {envId}.");
        if (observationSize != ObservationSize)
            throw new ArgumentException($"The demonstrations' observations have {ObservationSize} features; {envId} has {observationSize}.");
        if (!SameSpace(actionSpace, ActionSpace))
            throw new ArgumentException($"The demonstrations' actions are {ActionSpace}; {envId} acts in {actionSpace}.");
    }

    private static bool SameSpace(Space a, Space b) => (a, b) switch
    {
        (Discrete x, Discrete y) => x.N == y.N && x.Start == y.Start,
        (Box x, Box y) => x.Low.SequenceEqual(y.Low) && x.High.SequenceEqual(y.High),
        _ => false,
    };

    /// <summary>
    /// Runs <paramref name="episodes"/> whole episodes of an expert on <paramref name="env"/> (the first reset with
    /// <paramref name="seed"/>, the rest continuing its stream) and keeps every (s_t, a*_t, r_t). A discrete expert
    /// returns a*; a continuous one writes it into its second argument (the environment clips, the file keeps what the
    /// expert chose).
    /// </summary>
    public static Demonstrations Record(Env env, string envId, string expert, int episodes, long seed,
        Func<float[], int>? discreteExpert = null, Action<float[], float[]>? continuousExpert = null)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(episodes);
        if ((discreteExpert is null) == (continuousExpert is null)) throw new ArgumentException("Give exactly one expert: discrete or continuous.");
        if (env.ObservationSpace is not Box observationSpace) throw new ArgumentException($"{envId} does not observe a box.");
        int o = observationSpace.Size, d = env.ActionSpace is Box b ? b.Size : 0;
        if ((d == 0) != (discreteExpert is not null)) throw new ArgumentException($"{envId} acts in {env.ActionSpace}; give a {(d == 0 ? "discrete" : "continuous")} expert.");
        var observations = new List<float>();
        var discrete = new List<int>();
        var continuous = new List<float>();
        var rewards = new List<double>();
        var lengths = new int[episodes];
        var ends = new EpisodeEnd[episodes];
        var obs = new float[o];
        var action = new float[Math.Max(1, d)];
        for (int e = 0; e < episodes; e++)
        {
            env.Reset(e == 0 ? seed : null).CopyTo(obs);
            while (true)
            {
                observations.AddRange(obs);
                StepResult r;
                if (discreteExpert is not null)
                {
                    int a = discreteExpert(obs);
                    discrete.Add(a);
                    r = env.Step(a);
                }
                else
                {
                    continuousExpert!(obs, action);
                    continuous.AddRange(action);
                    r = env.Step(action);
                }
                rewards.Add(r.Reward);
                lengths[e]++;
                r.Observation.CopyTo(obs);
                if (r.Terminated || r.Truncated)
                {
                    ends[e] = r.Terminated ? EpisodeEnd.Terminated : EpisodeEnd.Truncated;
                    break;
                }
            }
        }
        return new Demonstrations(envId, expert, o, env.ActionSpace, observations.ToArray(), d == 0 ? discrete.ToArray() : null,
            d == 0 ? null : continuous.ToArray(), rewards.ToArray(), lengths, ends);
    }

    /// <summary>Records a trained policy as the expert: its mode when <paramref name="deterministic"/>, else its samples
    /// (from its stream reseeded with <paramref name="seed"/>).</summary>
    /// <exception cref="ArgumentException">The environment's spaces are not the policy's.</exception>
    public static Demonstrations Record(TrainedPolicy policy, Env env, string envId, int episodes, long seed, bool deterministic, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(env);
        if (env.ObservationSpace is not Box box || box.Size != policy.ObservationSize || !SameSpace(env.ActionSpace, policy.ActionSpace))
            throw new ArgumentException($"{envId} (obs {env.ObservationSpace}, actions {env.ActionSpace}) is not the policy's environment " +
                $"({policy.ObservationSize} features, actions {policy.ActionSpace}).");
        policy.Reseed((ulong)seed);
        string expert = $"policy {source ?? "(in memory)"} ({policy.Algorithm}, {policy.Steps:N0} steps on {policy.EnvId ?? "?"}), {(deterministic ? "deterministic" : "stochastic")}";
        return policy.ActionSpace is Discrete
            ? Record(env, envId, expert, episodes, seed, discreteExpert: obs => policy.Predict(obs, deterministic))
            : Record(env, envId, expert, episodes, seed, continuousExpert: (obs, a) => policy.Predict(obs, a, deterministic));
    }

    /// <summary>Writes the demonstrations file to <paramref name="path"/>, atomically (see the remarks for the format).</summary>
    public void Save(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var header = new JsonObject
        {
            ["library"] = $"PurePg {typeof(Demonstrations).Assembly.GetName().Version?.ToString(3) ?? "0.0.0"}",
            ["env"] = EnvId,
            ["expert"] = Expert,
            ["observation_size"] = ObservationSize,
            ["action"] = Training.SpaceJson.Write(ActionSpace),
            ["episodes"] = Episodes,
            ["steps"] = Steps,
        };
        Format.Write(path, w =>
        {
            w.Write(header.ToJsonString());
            foreach (int length in _lengths) w.Write(length);
            foreach (var end in _ends) w.Write((byte)end);
            foreach (float v in _observations) w.Write(v);
            foreach (int a in _discrete) w.Write(a);
            foreach (float a in _continuous) w.Write(a);
            foreach (double r in _rewards) w.Write(r);
        });
    }

    /// <summary>Reads a demonstrations file.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">Not a demonstrations file, damaged (checksum, truncation, lengths that do not
    /// fit), an incompatible format version, or contents that break the rules of the constructor — the message names the
    /// file and the fault.</exception>
    public static Demonstrations Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"No demonstrations file {path}.", path);
        return Format.Read(path, r =>
        {
            var stream = r.BaseStream;
            var h = JsonNode.Parse(r.ReadString())!.AsObject();
            int o = h["observation_size"]!.GetValue<int>(), episodes = h["episodes"]!.GetValue<int>(), steps = h["steps"]!.GetValue<int>();
            Space space = Training.SpaceJson.Read(h["action"]!.AsObject());
            int d = space is Box b ? b.Size : 0;
            long expected = 5L * episodes + 4L * steps * o + (d == 0 ? 4L * steps : 4L * steps * d) + 8L * steps;
            if (o <= 0 || episodes <= 0 || steps < 0 || expected != stream.Length - stream.Position)
                throw new InvalidDataException($"the header declares {episodes} episodes and {steps} steps of {o} features ({expected} bytes), but {stream.Length - stream.Position} bytes follow it.");
            var lengths = new int[episodes];
            for (int e = 0; e < episodes; e++) lengths[e] = r.ReadInt32();
            var ends = new EpisodeEnd[episodes];
            for (int e = 0; e < episodes; e++) ends[e] = (EpisodeEnd)r.ReadByte();
            var observations = new float[(long)steps * o];
            for (long k = 0; k < observations.Length; k++) observations[k] = r.ReadSingle();
            int[]? discrete = d == 0 ? new int[steps] : null;
            float[]? continuous = d == 0 ? null : new float[(long)steps * d];
            if (discrete is not null) for (int t = 0; t < steps; t++) discrete[t] = r.ReadInt32();
            else for (long k = 0; k < continuous!.Length; k++) continuous[k] = r.ReadSingle();
            var rewards = new double[steps];
            for (int t = 0; t < steps; t++) rewards[t] = r.ReadDouble();
            return new Demonstrations(h["env"]!.GetValue<string>(), h["expert"]?.GetValue<string>() ?? "?", o, space, observations, discrete, continuous,
                rewards, lengths, ends);
        });
    }
}
