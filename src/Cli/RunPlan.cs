using System.Net;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using PurePg.Envs;
using PurePg.Rl.Training;
using PurePg.Rl.Imitation;

namespace PurePg.Cli;

/// <summary>
/// Everything a run is made of, resolved from the command line and validated before anything touches the disk: the
/// environment, the algorithm, the seed, the planned steps, the copies, the settings (defaults &lt; config file &lt;
/// <c>--set</c>, a later <c>--set</c> of a name replacing an earlier one) and the program's own options. Seed,
/// TotalTimesteps and NumEnvs (a3c: Workers) are the program's: <c>--seed</c>, <c>--steps</c> and <c>--envs</c> set
/// them, and so may a config file or <c>--set</c>, with the option winning over the file and disagreeing with a
/// <c>--set</c> being an error.
/// </summary>
internal sealed record RunPlan(string Env, string Algorithm, long Seed, long Steps, int Envs, bool Normalize, int Checkpoints, int Keep,
    long? EvalEvery, int EvalEpisodes, bool StopAtThreshold, IReadOnlyList<KeyValuePair<string, string>> Overrides, string? EnvAssembly = null,
    string? TensorBoard = null, BcStart? InitFromBc = null, ClusterTarget? Cluster = null)
{
    /// <summary>Registers the environments of a user's assembly (<c>--env-assembly</c>); a missing file, a file that is
    /// not an assembly, or one without registrations is a one-line error.</summary>
    public static string? LoadEnvironments(string? path)
    {
        if (path is null) return null;
        try
        {
            EnvRegistry.RegisterAssembly(path);
            return Path.GetFullPath(path);
        }
        catch (FileNotFoundException) { throw new UsageException($"--env-assembly: no file {path}."); }
        catch (Exception e) when (e is ArgumentException or FileLoadException) { throw new UsageException($"--env-assembly: {RunFolder.OneLine(e.Message)}"); }
    }

    /// <summary>The steps <c>train</c> takes unless told: 100,000, and 300,000 for reinforce, whose Monte Carlo batches
    /// need about 200,000–250,000 to reach CartPole-v1's threshold (docs/benchmarks.md).</summary>
    public static long DefaultSteps(string algorithm) => algorithm == "reinforce" ? 300_000 : 100_000;

    /// <summary>The copies <c>train</c> uses unless told: 8 environments, 4 worker threads for a3c, one evaluation thread
    /// per core for es.</summary>
    public static int DefaultEnvs(string algorithm) => algorithm switch { "a3c" => 4, "es" => Environment.ProcessorCount, _ => 8 };

    private static readonly string[] SeedNames = ["Seed"], StepsNames = ["TotalTimesteps"], EnvsNames = ["NumEnvs", "Workers"];

    /// <summary>A config file's "Normalize": true|false — the program's --normalize (running observation and reward
    /// normalization around the environments, as rl-baselines3-zoo's <c>normalize: true</c>), not an algorithm setting:
    /// removed from <paramref name="entries"/> and returned.</summary>
    internal static bool TakeNormalize(List<KeyValuePair<string, string>> entries, string source)
    {
        bool normalize = false;
        foreach (var (key, value) in entries.Where(kv => kv.Key.Equals("Normalize", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            normalize = bool.TryParse(value, out bool v) ? v : throw new UsageException($"{source}: Normalize is {value}; give true or false.");
            entries.Remove(new(key, value));
        }
        return normalize;
    }

    public static RunPlan FromArguments(Arguments a)
    {
        string env = a.Require("--env"), algorithm = a.Require("--algo");
        string? assembly = LoadEnvironments(a.Get("--env-assembly"));
        CheckNames(env, algorithm);
        var fromFile = new List<KeyValuePair<string, string>>();
        if (a.Get("--config") is string configFile)
        {
            if (!File.Exists(configFile)) throw new UsageException($"Config file {configFile} does not exist.");
            try { fromFile.AddRange(SettingsBinder.FromJson(JsonDocument.Parse(File.ReadAllText(configFile)).RootElement)); }
            catch (JsonException e) { throw new UsageException($"Config file {configFile} is not valid JSON: {RunFolder.OneLine(e.Message)}"); }
            catch (ArgumentException e) { throw new UsageException($"Config file {configFile}: {RunFolder.OneLine(e.Message)}"); }
        }
        bool normalize = a.Flag("--normalize") | TakeNormalize(fromFile, $"config file {a.Get("--config")}");
        var file = Canonical(algorithm, fromFile, $"config file {a.Get("--config")}");
        var sets = Canonical(algorithm, a.Sets, "--set");
        long seed = Owned(a, "--seed", SeedNames, file, sets, 0, 0);
        long steps = Owned(a, "--steps", StepsNames, file, sets, DefaultSteps(algorithm), 1);
        int envs = (int)Owned(a, "--envs", EnvsNames, file, sets, DefaultEnvs(algorithm), 1);
        // later wins: the file's values, then --set's, each name once, in first-given order
        var merged = new List<KeyValuePair<string, string>>();
        foreach (var (key, value) in file.Concat(sets))
        {
            if (SeedNames.Concat(StepsNames).Concat(EnvsNames).Contains(key)) continue;
            int at = merged.FindIndex(kv => kv.Key == key);
            if (at >= 0) merged[at] = new(key, value);
            else merged.Add(new(key, value));
        }
        long? evalEvery = a.Get("--eval-every") is null ? null : a.GetLong("--eval-every", 0, 1);
        bool stop = a.Flag("--stop-at-threshold");
        if (stop && evalEvery is null) throw new UsageException("--stop-at-threshold needs --eval-every N: the threshold is checked on the evaluations.");
        if (stop && EnvRegistry.Spec(env).RewardThreshold is null) throw new UsageException($"--stop-at-threshold: {env} has no reward threshold.");
        var plan = new RunPlan(env, algorithm, seed, steps, envs, normalize, (int)a.GetLong("--checkpoints", 10, 1), (int)a.GetLong("--keep", 3, 1),
            evalEvery, (int)a.GetLong("--eval-episodes", 10, 1), stop, merged, assembly,
            a.Get("--tensorboard") is string tb ? Path.GetFullPath(tb) : null, BcStart.FromArguments(a, env, algorithm), ClusterTarget.FromArguments(a, algorithm, envs, normalize));
        AlgorithmCatalog.Configure(algorithm, envs, seed, steps, merged); // every setting parses and validates, or this throws
        return plan;
    }

    /// <summary>An unknown environment or algorithm, with the closest valid name.</summary>
    public static void CheckNames(string env, string algorithm)
    {
        var ids = EnvRegistry.All.Select(s => s.Id).ToArray();
        if (!ids.Contains(env))
            throw new UsageException($"No environment with id '{env}'.{Suggestions.DidYouMean(env, ids)} Registered: {string.Join(", ", ids)}.");
        if (!AlgorithmCatalog.Names.Contains(algorithm))
            throw new UsageException($"Unknown algorithm '{algorithm}'.{Suggestions.DidYouMean(algorithm, AlgorithmCatalog.Names)} Valid: {string.Join(", ", AlgorithmCatalog.Names)}.");
    }

    /// <summary>The pairs with each name spelled as the setting is (names match case-insensitively); an unknown name is an
    /// error with the closest valid one.</summary>
    private static List<KeyValuePair<string, string>> Canonical(string algorithm, IEnumerable<KeyValuePair<string, string>> pairs, string source)
    {
        var names = AlgorithmCatalog.Settings(algorithm).Select(s => s.Name).Concat(SeedNames).Concat(StepsNames).Concat(EnvsNames).Distinct().ToArray();
        return pairs.Select(kv =>
        {
            string? name = names.FirstOrDefault(n => n.Equals(kv.Key, StringComparison.OrdinalIgnoreCase));
            return name is not null ? new KeyValuePair<string, string>(name, kv.Value)
                : throw new UsageException($"Unknown setting '{kv.Key}' for {algorithm} ({source}).{Suggestions.DidYouMean(kv.Key, names)} Valid: {string.Join(", ", names)}.");
        }).ToList();
    }

    /// <summary>A value the program owns: the option if given, else the last --set, else the file's, else the default.</summary>
    private static long Owned(Arguments a, string option, string[] names, List<KeyValuePair<string, string>> file,
        List<KeyValuePair<string, string>> sets, long fallback, long min)
    {
        long? Parse(KeyValuePair<string, string>? kv, string source)
        {
            if (kv is not { } pair) return null;
            if (!long.TryParse(pair.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v))
                throw new UsageException($"{source} {pair.Key}={pair.Value}: an integer is needed.");
            if (v < min) throw new UsageException($"{source} {pair.Key}={v}: it must be ≥ {min}.");
            return v;
        }
        KeyValuePair<string, string>? Last(List<KeyValuePair<string, string>> list) =>
            list.LastOrDefault(kv => names.Contains(kv.Key)) is { Key: not null } found ? found : null;
        long? fromSet = Parse(Last(sets), "--set"), fromFile = Parse(Last(file), "The config file's");
        long? fromOption = a.Get(option) is null ? null : a.GetLong(option, 0, min);
        if (fromOption is long o && fromSet is long s && o != s)
            throw new UsageException($"{option} {o} and --set {Last(sets)!.Value.Key}={s} disagree: give one of them.");
        return fromOption ?? fromSet ?? fromFile ?? fallback;
    }

    /// <summary>The plan as config.json records it (with the effective settings and the library version).</summary>
    public JsonObject ToConfig(Dictionary<string, object?> settings) => new()
    {
        ["library"] = $"PurePg {RunFolder.Version}",
        ["algorithm"] = Algorithm,
        ["env"] = Env,
        ["seed"] = Seed,
        ["steps"] = Steps,
        ["envs"] = Envs,
        ["normalize"] = Normalize,
        ["checkpoints"] = Checkpoints,
        ["keep"] = Keep,
        ["eval_every"] = EvalEvery,
        ["eval_episodes"] = EvalEpisodes,
        ["stop_at_threshold"] = StopAtThreshold,
        ["env_assembly"] = EnvAssembly,
        ["tensorboard"] = TensorBoard,
        ["init_from_bc"] = InitFromBc?.ToJson(),
        ["cluster"] = Cluster?.ToJson(),
        ["resumes"] = new JsonArray(),
        ["overrides"] = new JsonObject(Overrides.Select(kv => new KeyValuePair<string, JsonNode?>(kv.Key, kv.Value))),
        ["settings"] = JsonSerializer.SerializeToNode(settings),
    };

    /// <summary>The plan a run folder's config.json records (runs made before an option existed get its default).</summary>
    public static RunPlan FromConfig(JsonObject config, string file)
    {
        try
        {
            string? assembly = LoadEnvironments(config["env_assembly"]?.GetValue<string>());
            return new RunPlan(config["env"]!.GetValue<string>(), config["algorithm"]!.GetValue<string>(), config["seed"]!.GetValue<long>(),
                config["steps"]!.GetValue<long>(), config["envs"]!.GetValue<int>(), config["normalize"]!.GetValue<bool>(),
                config["checkpoints"]!.GetValue<int>(), config["keep"]?.GetValue<int>() ?? 3, config["eval_every"]?.GetValue<long>(),
                config["eval_episodes"]?.GetValue<int>() ?? 10, config["stop_at_threshold"]?.GetValue<bool>() ?? false,
                config["overrides"]!.AsObject().Select(kv => new KeyValuePair<string, string>(kv.Key, kv.Value!.GetValue<string>())).ToList(), assembly,
                config["tensorboard"]?.GetValue<string>(), null, ClusterTarget.FromJson(config["cluster"]));
        }
        catch (Exception e) when (e is NullReferenceException or InvalidOperationException or FormatException)
        {
            throw new UsageException($"{file} is not a valid run configuration: a field is missing or of the wrong type.");
        }
    }

    /// <summary>Where the run was resumed, in steps.</summary>
    public static IReadOnlyList<long> Resumes(JsonObject config) =>
        config["resumes"] is JsonArray a ? a.Select(n => n!.GetValue<long>()).ToArray() : [];
}

/// <summary>
/// <c>--init-from-bc FILE [--bc-epochs N] [--value-warmup N]</c>: the run starts from behaviour cloning on a
/// demonstrations file (checked against the environment before anything is written), and for PPO with N value-only
/// iterations. Only the start of a run: a resume continues from its checkpoint, which already holds the cloned θ.
/// </summary>
internal sealed record BcStart(string File, int Epochs, int ValueWarmup)
{
    public const int DefaultEpochs = 200, DefaultValueWarmup = 0;

    public static BcStart? FromArguments(Arguments a, string env, string algorithm)
    {
        string? file = a.Get("--init-from-bc");
        if (file is null)
        {
            if (a.Get("--bc-epochs") is not null || a.Get("--value-warmup") is not null)
                throw new UsageException("--bc-epochs and --value-warmup go with --init-from-bc FILE.");
            return null;
        }
        if (algorithm is "a3c" or "es") throw new UsageException($"--init-from-bc starts ppo, a2c, trpo, npg or reinforce from a cloned policy, not {algorithm}.");
        int warmup = (int)a.GetLong("--value-warmup", DefaultValueWarmup, 0);
        if (warmup > 0 && algorithm != "ppo") throw new UsageException($"--value-warmup is PPO's (its value-only iterations); {algorithm} has none.");
        var start = new BcStart(Path.GetFullPath(file), (int)a.GetLong("--bc-epochs", DefaultEpochs, 1), warmup);
        start.Load(env); // a missing, damaged or mismatched file stops here, before a folder is made
        return start;
    }

    /// <summary>The demonstrations, checked against <paramref name="env"/>'s id and spaces.</summary>
    public Demonstrations Load(string env)
    {
        Demonstrations demonstrations;
        try { demonstrations = Demonstrations.Load(File); }
        catch (Exception e) when (e is FileNotFoundException or InvalidDataException) { throw new UsageException($"--init-from-bc: {RunFolder.OneLine(e.Message)}"); }
        var made = EnvRegistry.Make(env);
        try { demonstrations.CheckMatches(env, ((Box)made.ObservationSpace).Size, made.ActionSpace); }
        catch (ArgumentException e) { throw new UsageException($"--init-from-bc {File}: {RunFolder.OneLine(e.Message)}"); }
        return demonstrations;
    }

    public JsonObject ToJson() => new() { ["file"] = File, ["epochs"] = Epochs, ["value_warmup"] = ValueWarmup };
}

/// <summary><c>--cluster localhost:GATEWAY[,GATEWAY…] [--workers N] [--worker-timeout S] [--worker-attempts N]</c>: es
/// evaluates its generations on N evaluator grains (default 8), ppo, a2c, trpo and npg step their copies in N blocks on
/// rollout worker grains (default min(8, copies)), impala's Blocks actors run as asynchronous rollout workers (workers
/// recorded as 0), of the silos whose gateways listen on those loopback ports
/// (<c>purepg silo</c>), each request given S seconds (default 120) and N attempts (default 6, with waits doubling from 1 s between). Recorded in config.json,
/// so a resume reconnects.</summary>
internal sealed record ClusterTarget(string[] Gateways, int Workers, string ClusterId, double TimeoutSeconds = 120, int Attempts = 6, string? TlsCertificate = null,
    string? Redis = null)
{
    /// <summary>HOST:PORT[,PORT|,HOST:PORT...]: each entry a gateway; a bare port is on the previous entry's host. "localhost"
    /// is loopback; other hosts are addresses or names (silos on other machines, purepg silo --host).</summary>
    public static string[] ParseGateways(string target)
    {
        var gateways = new List<string>();
        string? host = null;
        foreach (string entry in target.Split(','))
        {
            int colon = entry.LastIndexOf(':');
            string portText = colon >= 0 ? entry[(colon + 1)..] : entry;
            if (colon >= 0) host = entry[..colon];
            if (string.IsNullOrWhiteSpace(host))
                throw new UsageException($"--cluster {target}: give HOST:GATEWAY[,GATEWAY...] (localhost:30000,30001 on one machine; 10.0.0.5:30000,10.0.0.6:30000 across machines).");
            if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
                throw new UsageException($"--cluster {target}: '{portText}' is not a port (1–65535).");
            gateways.Add($"{host}:{port}");
        }
        return gateways.ToArray();
    }

    /// <summary>The gateways as endpoints: localhost is loopback, an address is itself, a name is looked up (IPv4 first).</summary>
    public IPEndPoint[] Endpoints() => Gateways.Select(g =>
    {
        int colon = g.LastIndexOf(':');
        string host = g[..colon];
        int port = int.Parse(g[(colon + 1)..], CultureInfo.InvariantCulture);
        if (host == "localhost") return new IPEndPoint(IPAddress.Loopback, port);
        if (IPAddress.TryParse(host, out var address)) return new IPEndPoint(address, port);
        try
        {
            var found = Dns.GetHostAddresses(host);
            return new IPEndPoint(found.FirstOrDefault(x => x.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) ?? found[0], port);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IndexOutOfRangeException)
        {
            throw new UsageException($"--cluster: cannot resolve the host {host}: {e.Message}");
        }
    }).ToArray();

    public const int DefaultWorkers = 8;

    /// <summary>The algorithms that run on a cluster: es's evaluations, and the on-policy algorithms' rollouts.</summary>
    public static readonly string[] Algorithms = ["es", "ppo", "a2c", "trpo", "npg", "impala"];

    public static ClusterTarget? FromArguments(Arguments a, string algorithm, int envs, bool normalize)
    {
        string? target = a.Get("--cluster");
        if (target is null)
        {
            if (a.Get("--workers") is not null || a.Get("--cluster-id") is not null || a.Get("--worker-timeout") is not null || a.Get("--worker-attempts") is not null
                || a.Get("--tls-cert") is not null)
                throw new UsageException("--workers, --cluster-id, --worker-timeout, --worker-attempts and --tls-cert go with --cluster HOST:PORT[,PORT...].");
            return null;
        }
        if (!Algorithms.Contains(algorithm))
            throw new UsageException($"--cluster: {string.Join(", ", Algorithms)} run on a cluster; {algorithm} does not ({(algorithm == "a3c" ? "its threads share θ as they go" : "its batches are whole episodes")}).");
        if (normalize && algorithm != "es")
            throw new UsageException("--normalize with --cluster: the running statistics are updated over all copies at every step in one process; cluster rollouts do not normalize yet.");
        string? redis = target.StartsWith("redis=", StringComparison.Ordinal) ? target[6..] : null;
        if (redis is { Length: 0 }) throw new UsageException("--cluster redis=: give the Redis server, redis=HOST:PORT.");
        var gateways = redis is null ? ParseGateways(target) : [];
        if (algorithm == "impala" && a.Get("--workers") is not null)
            throw new UsageException("--workers: impala's actors are its Blocks setting (--set Blocks=W, default 4), one rollout worker each.");
        int workers = algorithm == "impala" ? 0 : (int)a.GetLong("--workers", algorithm == "es" ? DefaultWorkers : Math.Min(DefaultWorkers, envs), 1);
        if (algorithm is not ("es" or "impala") && workers > envs)
            throw new UsageException($"--workers {workers}: {algorithm}'s {envs} environment copies (--envs) are split among the workers, at least one each; give --workers ≤ {envs}.");
        return new ClusterTarget(gateways, workers, a.Get("--cluster-id") ?? "purepg",
            a.GetLong("--worker-timeout", 120, 1), (int)a.GetLong("--worker-attempts", 6, 1), a.Get("--tls-cert") is string cert ? Path.GetFullPath(cert) : null, redis);
    }

    public static ClusterTarget? FromJson(JsonNode? node) => node is JsonObject o
        ? new ClusterTarget(o["gateways"]!.AsArray().Select(n => n!.GetValueKind() == JsonValueKind.Number ? $"localhost:{n.GetValue<int>()}" : n.GetValue<string>()).ToArray(),
            o["workers"]!.GetValue<int>(), o["cluster_id"]?.GetValue<string>() ?? "purepg",
            o["worker_timeout_s"]?.GetValue<double>() ?? 120, o["worker_attempts"]?.GetValue<int>() ?? 6, o["tls_cert"]?.GetValue<string>(), o["redis"]?.GetValue<string>())
        : null;

    public JsonObject ToJson() => new()
    {
        ["gateways"] = new JsonArray(Gateways.Select(g => (JsonNode?)g).ToArray()),
        ["workers"] = Workers,
        ["cluster_id"] = ClusterId,
        ["worker_timeout_s"] = TimeoutSeconds,
        ["worker_attempts"] = Attempts,
        ["tls_cert"] = TlsCertificate,
        ["redis"] = Redis,
    };
}
