using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using PurePg.Envs;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Policies;
using PurePg.Rl.Rollouts;
using PurePg.Rl.Training;
using Activation = PurePg.Autodiff.Modules.Activation;
using Imitation = PurePg.Rl.Imitation;

namespace PurePg.Cli;

/// <summary>The purepg program: train, eval, resume, predict, export, record, watch, silo, cert, bench learn, bench speed, list.</summary>
public static class Program
{
    private const string Usage = """
        purepg — policy-gradient reinforcement learning in pure .NET

        purepg train  --env ID --algo NAME [--seed N] [--steps N] [--envs N] [--config FILE.json] [--set key=value ...] [--env-assembly DLL]
                      [--normalize] [--eval-every N [--eval-episodes N] [--stop-at-threshold]] [--checkpoints N] [--keep N]
                      [--tensorboard DIR] [--init-from-bc FILE [--bc-epochs N] [--value-warmup N]]
                      [--cluster HOST:GATEWAY[,GATEWAY...] [--workers N] [--cluster-id ID] [--worker-timeout S] [--worker-attempts N]
                       [--tls-cert FILE.pfx]]
                      [--out DIR]
        purepg eval   --run DIR [--episodes N] [--deterministic] [--best] [--json]
        purepg resume --run DIR [--steps N]
        purepg predict --policy FILE|RUN_DIR [--stochastic --seed N]
        purepg export --run DIR|--policy FILE [--best] --onnx FILE.onnx [--ml-agents]
        purepg record --run DIR|--policy FILE|--expert scripted --env ID [--episodes N] --out FILE [--stochastic] [--seed N]
        purepg watch  --run DIR|--policy FILE [--best] [--env ID] --out FILE.png [--seed N] [--stochastic] [--max-frames N] [--every K] [--fps F]
        purepg silo   [--port N] [--gateway N] [--host IP] [--primary [HOST:]PORT] [--cluster-id ID] [--env-assembly DLL] [--tls-cert FILE.pfx]
        purepg cert   --out FILE.pfx
        purepg bench learn [--quick|--full] [--seeds N] [--workers N] [--out DIR]
        purepg bench speed [--out DIR] [--seeds N] [--no-anchors]      (inside a PurePg clone)
        purepg list

        Each command takes --help. Exit codes: 0 success, 1 bad input, 2 failure during training, 130 interrupted
        (a final checkpoint was written; continue with resume).
        """;

    private static readonly string[] Commands = ["train", "eval", "resume", "predict", "export", "record", "watch", "silo", "cert", "list"];

    public static int Main(string[] args)
    {
        Console.OutputEncoding = Encoding.UTF8;
        if (args.Length == 0)
        {
            Console.Error.WriteLine(Usage);
            return 1;
        }
        try
        {
            // purepg bench learn …: a command of two words
            if (args is ["bench", "speed", .. var speedArgs]) return BenchSpeed.Run(speedArgs);
            if (args is ["bench", ..])
                args = args is ["bench", "learn", .. var rest] ? ["bench-learn", .. rest]
                    : throw new UsageException("purepg bench: give learn or speed (purepg bench learn --help, purepg bench speed --help).");
            var parsed = Arguments.Parse(args, new HashSet<string> { "--normalize", "--deterministic", "--json", "--stop-at-threshold", "--best", "--stochastic", "--ml-agents",
                "--quick", "--full" });
            return parsed.Command switch
            {
                "" when parsed.Help => Print(Usage, 0),
                "" => throw new UsageException($"No command: give one of {string.Join(", ", Commands)} (purepg --help)."),
                "train" => parsed.Help ? Print(TrainHelp, 0) : Train(parsed),
                "eval" => parsed.Help ? Print(EvalHelp, 0) : Eval(parsed),
                "resume" => parsed.Help ? Print(ResumeHelp, 0) : Resume(parsed),
                "predict" => parsed.Help ? Print(PredictHelp, 0) : Predict(parsed),
                "export" => parsed.Help ? Print(ExportHelp, 0) : Export(parsed),
                "record" => parsed.Help ? Print(RecordHelp, 0) : Record(parsed),
                "watch" => parsed.Help ? Print(Watch.Help, 0) : Watch.Run(parsed),
                "silo" => parsed.Help ? Print(SiloHelp, 0) : Silo(parsed),
                "cert" => parsed.Help ? Print(CertHelp, 0) : Cert(parsed),
                "bench-learn" => parsed.Help ? Print(BenchLearn.Help, 0) : BenchLearn.Run(parsed),
                "list" => parsed.Help ? Print("purepg list: environments (spaces, time limits, thresholds) and algorithms (the settings train uses).", 0) : List(),
                _ => throw new UsageException($"Unknown command '{parsed.Command}'.{Suggestions.DidYouMean(parsed.Command, Commands)} Valid: {string.Join(", ", Commands)}."),
            };
        }
        catch (Exception e) when (e is UsageException or ArgumentException or InvalidDataException or FileNotFoundException or DirectoryNotFoundException
                                   or UnauthorizedAccessException or IOException or JsonException)
        {
            Console.Error.WriteLine($"purepg: {Message(e)}");
            return 1;
        }
    }

    /// <summary>One line: the message without .NET's parameter-name suffix, and a range error's value in the sentence.</summary>
    private static string Message(Exception e)
    {
        string line = RunFolder.OneLine(e.Message);
        return e is ArgumentOutOfRangeException { ActualValue: { } value } && !line.Contains(Convert.ToString(value, CultureInfo.InvariantCulture)!, StringComparison.Ordinal)
            ? $"{line.TrimEnd('.')}: got {Convert.ToString(value, CultureInfo.InvariantCulture)}."
            : line;
    }

    private const string TrainHelp = """
        purepg train --env ID --algo NAME [options]
          --env ID              an environment id (purepg list)
          --algo NAME           ppo, a2c, trpo, npg, reinforce, a3c, es
          --seed N              the seed (default 0): fixes the whole run, except for a3c (setting Seed)
          --steps N             environment steps to train (default 100000, reinforce 300000; setting TotalTimesteps); schedules such
                                as PPO's learning-rate anneal follow this length
          --envs N              environment copies (a3c: worker threads); default 8 (a3c: 4) (setting NumEnvs/Workers)
          --config FILE         a JSON object of settings (names as in purepg list) applied over the defaults
          --set key=value       a setting applied after the config file, the last one winning; repeatable
          --normalize           running normalization of observations and rewards (VecNormalize)
          --eval-every N        every N steps, evaluate the deterministic policy on separate environment copies
                                (their own seeds) and keep the best policy as checkpoints/best.ckpt
          --eval-episodes N     episodes per evaluation during training (default 10)
          --stop-at-threshold   end the run when an evaluation reaches the environment's threshold
          --checkpoints N       checkpoints written during the run, evenly spaced (default 10)
          --keep N              how many of them are kept, newest first (default 3; best.ckpt is kept apart)
          --out DIR             where the run folder is made (default runs/)
          --tensorboard DIR     also write TensorBoard event files there (Stable-Baselines3's tags; a resume adds a file)
          --env-assembly DLL    load a .NET assembly whose Env subclasses carry [RegisterEnvironment("Id")] and train
                                on one of them (the run remembers it for resume and eval)
          --init-from-bc FILE   BC → PG: before the first step, fit the policy to a demonstrations file (purepg record)
                                by maximum likelihood, −mean log π(a*|s), for --bc-epochs N (default 200) passes; with
                                --normalize the normalizer starts from the demonstrations' statistics; bc.csv in the run
                                folder holds each epoch's train and held-out loss and accuracy
          --value-warmup N      (ppo, with --init-from-bc) N value-only iterations before the first policy update:
                                V_φ fitted to the cloned policy's returns, θ fixed (default 0; the steps count)
          --cluster localhost:G (es) evaluate each generation on --workers N (default 8) evaluator grains of the silos
                                whose gateways listen on those ports (purepg silo); (ppo, a2c, trpo, npg) step the copies
                                in --workers N blocks (default min(8, --envs)) on rollout worker grains; both
                                bit-identical to a local run; (impala) its Blocks actors act asynchronously on the
                                silos. A resume reconnects. A request lost to the cluster (a silo gone, no answer within
                                --worker-timeout S seconds, default 120) is sent again, --worker-attempts N times in all
                                (default 6; waits of 1, 2, 4, 8, 16 s between), then the run stops naming the worker. --tls-cert FILE.pfx: mutual TLS with
                                the cluster's certificate (purepg cert; password, if any, in PUREPG_TLS_PASSWORD)
        Precedence: defaults < --config < --set. --seed, --steps and --envs win over the config file; given together
        with a --set of the same setting they must agree.
        """;

    private const string EvalHelp = """
        purepg eval --run DIR [--episodes N] [--deterministic] [--best] [--json]
          loads the run's newest valid checkpoint (--best: checkpoints/best.ckpt, the best evaluation during training)
          and reports the mean ± std return over N episodes (default 20); --deterministic takes the policy's mode,
          otherwise actions are sampled; --json prints {"mean":…,"std":…,"episodes":…,"steps":…,"deterministic":…}
        """;

    private const string ExportHelp = """
        purepg export --run DIR [--best] --onnx FILE.onnx      (or --policy FILE.pgp instead of --run)
          writes the run's newest policy (--best: the best of the evaluations during training) as an ONNX model (opset 13):
          input obs [batch, features]; outputs logits, probs, action (int64) for a discrete policy, mean, log_std, action
          (clipped to the action space) for a continuous one; the observation normalizer is the graph's first operation.
          --ml-agents: Unity ML-Agents' tensor names and model API 3 instead — input obs_0 (and action_masks for discrete
          actions), float constants version_number = 3, memory_size = 0 and the action output shape, and int64
          discrete_actions / deterministic_discrete_actions [batch, 1] or float continuous_actions /
          deterministic_continuous_actions (clipped to the action space), as ML-Agents' exporter writes them.
        """;

    private const string RecordHelp = """
        purepg record (--run DIR [--best] | --policy FILE | --expert scripted) [--env ID] [--episodes N] --out FILE
                      [--stochastic] [--seed N] [--env-assembly DLL]
          runs N whole episodes (default 10) of an expert and writes every observation, action, reward and episode end
          to a demonstrations file, for behaviour cloning (purepg train --init-from-bc FILE). The expert is a trained
          policy — its mode, or its samples with --stochastic — or a built-in scripted rule (the PurePg/Chain
          environments, MountainCar-v0, CartPole-v1). The environment is the run's, the policy file's, or --env. The
          first episode's reset uses --seed (default 0). The file (magic PUREPGDM, format 1, little-endian columns and a
          SHA-256) is written atomically; see Demonstrations in the library for the layout.
        """;

    private const string PredictHelp = """
        purepg predict --policy FILE|RUN_DIR [--stochastic --seed N]
          loads a policy file (a run folder: its best.pgp, else policy.pgp) and answers each line of standard input — one
          observation, its features separated by commas — with the policy's action on a line of standard output: an
          integer for a discrete policy, comma-separated floats (round-trip precision) for a continuous one. Deterministic
          (the mode) unless --stochastic, whose samples come from a stream seeded with --seed (default 0).
        """;

    private const string ResumeHelp = """
        purepg resume --run DIR [--steps N]
          continues a run from its newest valid checkpoint: to its planned steps, or N more steps. A run extended past
          its plan gets the new plan (the run's steps + N): schedules continue from where the run is, over the new
          length, as Stable-Baselines3's learn(reset_num_timesteps=False) does — PPO's annealed rate goes on at
          α·(1 − steps/new plan) instead of staying at 0.
        """;

    private static int Print(string text, int code)
    {
        Console.WriteLine(text);
        return code;
    }

    private static int List()
    {
        Console.WriteLine("Environments:");
        foreach (var spec in EnvRegistry.All)
        {
            var env = spec.Create();
            Console.WriteLine($"  {spec.Id,-30} obs {env.ObservationSpace}, actions {env.ActionSpace}, time limit {spec.MaxEpisodeSteps?.ToString(CultureInfo.InvariantCulture) ?? "none"}, " +
                $"threshold {spec.RewardThreshold?.ToString(CultureInfo.InvariantCulture) ?? "none"} — {spec.Description}");
        }
        Console.WriteLine();
        Console.WriteLine($"Algorithms, with the settings train uses when given none (override with --config or --set key=value;");
        Console.WriteLine($"--envs sets NumEnvs or a3c's Workers, --seed sets Seed, --steps sets TotalTimesteps = the run's length, {RunPlan.DefaultSteps("ppo")}; reinforce {RunPlan.DefaultSteps("reinforce")}):");
        foreach (string name in AlgorithmCatalog.Names)
        {
            Console.WriteLine($"  {name}: {AlgorithmCatalog.Describe(name)}");
            var settings = AlgorithmCatalog.Configure(name, RunPlan.DefaultEnvs(name), 0, RunPlan.DefaultSteps(name), []);
            foreach (var (setting, value) in settings)
                Console.WriteLine($"      {setting} = {Format(value)}");
        }
        return 0;
    }

    private static string Format(object? value) => value switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        int[] a => string.Join(",", a),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static int Train(Arguments a)
    {
        a.AllowOnly("--env", "--algo", "--seed", "--steps", "--envs", "--config", "--set", "--normalize", "--out", "--checkpoints", "--keep",
            "--eval-every", "--eval-episodes", "--stop-at-threshold", "--env-assembly", "--tensorboard", "--init-from-bc", "--bc-epochs", "--value-warmup",
            "--cluster", "--workers", "--cluster-id", "--worker-timeout", "--worker-attempts", "--tls-cert");
        // the whole configuration validates before a folder is made or a step is taken
        var plan = RunPlan.FromArguments(a);
        using var connection = Connect(plan);
        var (trainer, settings) = AlgorithmCatalog.Create(plan.Algorithm, plan.Env, plan.Envs, plan.Seed, plan.Steps, plan.Overrides, plan.Normalize, EsSource(plan, connection),
            RolloutSource(plan, connection), AsyncSource(plan, connection));
        var config = plan.ToConfig(settings);
        using var tensorBoard = OpenTensorBoard(plan);
        var run = RunFolder.CreateUnique(a.Get("--out") ?? "runs", $"{plan.Env.Replace('/', '_')}-{plan.Algorithm}-{plan.Seed}-{DateTime.UtcNow:yyyyMMdd-HHmmss}");
        run.WriteConfig(config);
        Console.WriteLine($"run folder: {run.Path}");
        if (plan.Steps < trainer.StepsPerIteration)
            Console.WriteLine($"note: one {plan.Algorithm} iteration takes {trainer.StepsPerIteration:N0} steps, more than --steps {plan.Steps:N0}: the run will take {trainer.StepsPerIteration:N0} steps.");
        if (plan.InitFromBc is { } bc) StartFromDemonstrations(run, trainer, plan, bc);
        return new TrainingLoop(run, trainer, plan, new RunProgress(), tensorBoard).Run(plan.Steps);
    }

    /// <summary>BC → PG: clones the demonstrations into the policy (θ) before the first step, writes the epochs to bc.csv
    /// in the run folder, and for PPO warms V_φ up with value-only iterations.</summary>
    private static void StartFromDemonstrations(RunFolder run, IOnPolicyAlgorithm trainer, RunPlan plan, BcStart start)
    {
        var demonstrations = start.Load(plan.Env);
        Console.WriteLine($"behaviour cloning on {demonstrations.Episodes} episodes ({demonstrations.Steps:N0} steps, mean return " +
            $"{demonstrations.EpisodeReturns().Average():F1}) of {demonstrations.Expert}");
        var bc = BehaviourCloning.Pretrain(trainer, demonstrations, new BehaviourCloningSettings { Epochs = start.Epochs, Seed = plan.Seed }, plan.Env);
        var csv = new StringBuilder("epoch,train_loss,heldout_loss,heldout_accuracy\n");
        foreach (var e in bc.History)
            csv.Append(CultureInfo.InvariantCulture, $"{e.Epoch},{e.TrainLoss:R},{Cell(e.HeldOutLoss)},{Cell(e.HeldOutAccuracy)}\n");
        AtomicFile.Write(Path.Combine(run.Path, "bc.csv"), Encoding.UTF8.GetBytes(csv.ToString()));
        var last = bc.History[^1];
        Console.WriteLine($"  {bc.History.Count} epochs on {bc.TrainingSteps:N0} steps: train loss {last.TrainLoss:F4}, held-out ({bc.HeldOutSteps:N0} steps) loss {last.HeldOutLoss:F4}" +
            (double.IsNaN(last.HeldOutAccuracy) ? "" : $", accuracy {last.HeldOutAccuracy:P1}") + " (bc.csv)");
        if (start.ValueWarmup > 0 && trainer is Ppo ppo)
        {
            var losses = ppo.WarmUpValue(start.ValueWarmup);
            Console.WriteLine($"  value warm-up: {start.ValueWarmup} value-only iterations ({ppo.TotalSteps:N0} steps), value loss {losses[0]:F4} → {losses[^1]:F4}");
        }
    }

    private static string Cell(double v) => double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture);

    private static TensorBoardWriter? OpenTensorBoard(RunPlan plan)
    {
        if (plan.TensorBoard is null) return null;
        try { return new TensorBoardWriter(plan.TensorBoard); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new UsageException($"--tensorboard: cannot write to {plan.TensorBoard}: {e.Message}"); }
    }

    private static IOnPolicyAlgorithm Rebuild(RunPlan plan, ClusterConnection? connection = null) =>
        AlgorithmCatalog.Create(plan.Algorithm, plan.Env, plan.Envs, plan.Seed, plan.Steps, plan.Overrides, plan.Normalize, EsSource(plan, connection),
            RolloutSource(plan, connection), AsyncSource(plan, connection)).Algorithm;

    /// <summary>A learner's connection to the silos of <c>--cluster</c> (none without it); disposing it disconnects.</summary>
    private sealed class ClusterConnection(Microsoft.Extensions.Hosting.IHost host, IClusterClient client) : IDisposable
    {
        public IClusterClient Client => client;

        public void Dispose()
        {
            host.StopAsync().GetAwaiter().GetResult();
            host.Dispose();
        }
    }

    private static ClusterConnection? Connect(RunPlan plan)
    {
        if (plan.Cluster is not { } target) return null;
        try
        {
            var (host, client) = (target.Redis is { } redis
                ? PurePg.Distributed.Cluster.ConnectRedisAsync(redis, target.ClusterId, connectTimeout: TimeSpan.FromSeconds(10), tls: LoadTls(target.TlsCertificate))
                : PurePg.Distributed.Cluster.ConnectAsync(target.Endpoints(), target.ClusterId, connectTimeout: TimeSpan.FromSeconds(10), tls: LoadTls(target.TlsCertificate)))
                .GetAwaiter().GetResult();
            Console.WriteLine($"connected to the cluster '{target.ClusterId}' at {(target.Redis is { } r ? $"redis={r}" : string.Join(",", target.Gateways))}; " +
                (plan.Algorithm == "impala" ? "asynchronous rollout workers, one per block" : $"{target.Workers} {(plan.Algorithm == "es" ? "evaluator" : "rollout")} workers"));
            return new ClusterConnection(host, client);
        }
        catch (Exception e) when (e is OrleansException or TimeoutException or System.Net.Sockets.SocketException or InvalidOperationException or OperationCanceledException
                                   or StackExchange.Redis.RedisException)
        {
            if (e is StackExchange.Redis.RedisException)
                throw new UsageException($"--cluster redis={target.Redis}: cannot reach the Redis server ({RunFolder.OneLine(e.Message.Split(". ")[0])}).");
            throw new UsageException($"--cluster {(target.Redis is { } r ? $"redis={r}" : string.Join(",", target.Gateways))}: cannot reach a silo ({RunFolder.OneLine(e.Message)}). Start one with purepg silo" +
                (target.TlsCertificate is null ? "; if the silos use --tls-cert, give the learner the same." : $", with the same --tls-cert {target.TlsCertificate}."));
        }
    }

    private static Func<EsSettings, IEsGenerationSource>? EsSource(RunPlan plan, ClusterConnection? connection) =>
        connection is null || plan.Cluster is not { } target || plan.Algorithm != "es" ? null
            : s => new PurePg.Distributed.ClusterEsSource(connection.Client, plan.Env, s, target.Workers, CallOptions(target));

    private static Func<ImpalaSettings, IAsyncRolloutSource>? AsyncSource(RunPlan plan, ClusterConnection? connection) =>
        connection is null || plan.Cluster is not { } target || plan.Algorithm != "impala" ? null
            : s => new PurePg.Distributed.AsyncClusterRolloutSource(connection.Client, plan.Env, s.NumEnvs, s.StepsPerEnv, s.Blocks, s.HiddenSizes, s.Activation,
                CallOptions(target));

    private static Func<int, int, int[], Activation, IRolloutSource>? RolloutSource(RunPlan plan, ClusterConnection? connection) =>
        connection is null || plan.Cluster is not { } target || plan.Algorithm is "es" or "impala" ? null
            : (envs, steps, hidden, activation) => new PurePg.Distributed.ClusterRolloutSource(connection.Client, plan.Env, envs, steps, hidden, activation, target.Workers,
                CallOptions(target));

    private static PurePg.Distributed.WorkerCallOptions CallOptions(ClusterTarget target) =>
        new() { Timeout = TimeSpan.FromSeconds(target.TimeoutSeconds), Attempts = target.Attempts };

    private const string SiloHelp = """
        purepg silo [--port N] [--gateway N] [--host IP] [--primary [HOST:]PORT] [--cluster-id ID] [--env-assembly DLL] [--tls-cert FILE.pfx]
          starts a worker silo of a PurePg cluster (Microsoft Orleans, development clustering) and serves until
          Ctrl-C or SIGTERM: --port the silo-to-silo port (default 11111), --gateway the port learners connect to
          (default 30000), --host the address to listen on and give the others (default loopback; on a network, this
          machine's address), --primary the first silo's PORT on this machine or HOST:PORT on another (omit it on the
          first silo), --cluster-id (default purepg).
          With --env-assembly the silo can evaluate that assembly's environments. With --tls-cert (purepg cert makes
          one; password, if any, in PUREPG_TLS_PASSWORD) every connection is mutual TLS with that certificate and a
          silo or learner without it is refused. Train on the silos with
          purepg train --algo es|ppo|a2c|trpo|npg|impala ... --cluster HOST:GATEWAY[,GATEWAY...] [--workers N] [--tls-cert FILE.pfx].
        """;

    private const string CertHelp = """
        purepg cert --out FILE.pfx
          writes a new self-signed certificate for a cluster (ECDSA P-256, two years, with its private key; with the
          environment variable PUREPG_TLS_PASSWORD set, protected by it). Give the same file to every silo and learner
          with --tls-cert: they then talk mutual TLS and refuse anyone without it. Keep it like a password.
        """;

    private static int Cert(Arguments a)
    {
        a.AllowOnly("--out");
        string path = a.Require("--out");
        if (File.Exists(path)) throw new UsageException($"purepg cert: {path} exists; a new certificate would lock its silos out. Remove it first if that is meant.");
        var tls = PurePg.Distributed.ClusterTls.CreateSelfSigned();
        tls.Save(path, TlsPassword());
        Console.WriteLine($"cluster certificate {tls.Certificate.Subject}, SHA-256 {Convert.ToHexString(tls.Certificate.GetCertHash(System.Security.Cryptography.HashAlgorithmName.SHA256))[..16]}…, " +
            $"valid until {tls.Certificate.NotAfter:yyyy-MM-dd}: {path}");
        return 0;
    }

    private static System.Net.IPAddress ParseAddress(string text, string option) =>
        text == "localhost" ? System.Net.IPAddress.Loopback
        : System.Net.IPAddress.TryParse(text, out var address) ? address
        : throw new UsageException($"{option} {text}: give an IP address (this machine's on the network the silos share).");

    private static string? TlsPassword() => Environment.GetEnvironmentVariable("PUREPG_TLS_PASSWORD") is { Length: > 0 } p ? p : null;

    /// <summary>The cluster certificate of --tls-cert, or a one-line error naming the file.</summary>
    internal static PurePg.Distributed.ClusterTls? LoadTls(string? path)
    {
        if (path is null) return null;
        try { return PurePg.Distributed.ClusterTls.Load(path, TlsPassword()); }
        catch (Exception e) when (e is FileNotFoundException or InvalidDataException) { throw new UsageException($"--tls-cert: {RunFolder.OneLine(e.Message)}"); }
    }

    private static int Silo(Arguments a)
    {
        a.AllowOnly("--port", "--gateway", "--primary", "--cluster-id", "--env-assembly", "--tls-cert", "--host", "--cluster");
        string? redis = a.Get("--cluster") switch
        {
            null or "localhost" => null,
            string given when given.StartsWith("redis=", StringComparison.Ordinal) && given.Length > 6 => given[6..],
            string other => throw new UsageException($"--cluster {other}: give localhost (the default: a primary silo) or redis=HOST:PORT (membership in a Redis server)."),
        };
        if (redis is not null && a.Get("--primary") is not null) throw new UsageException("--primary with --cluster redis=...: with Redis membership there is no primary silo.");
        RunPlan.LoadEnvironments(a.Get("--env-assembly"));
        System.Net.IPAddress? address = a.Get("--host") is string h ? ParseAddress(h, "--host") : null, primaryAddress = null;
        int? primaryPort = null;
        if (a.Get("--primary") is string primary)
        {
            int colon = primary.LastIndexOf(':');
            if (colon >= 0) primaryAddress = ParseAddress(primary[..colon], "--primary");
            primaryPort = int.TryParse(primary[(colon + 1)..], System.Globalization.NumberStyles.None, CultureInfo.InvariantCulture, out int pp) && pp is >= 1 and <= 65535 ? pp
                : throw new UsageException($"--primary {primary}: give the primary silo's PORT (same machine) or HOST:PORT.");
        }
        var options = new PurePg.Distributed.LocalSiloOptions((int)a.GetLong("--port", 11111, 1), (int)a.GetLong("--gateway", 30000, 1), primaryPort,
            a.Get("--cluster-id") ?? "purepg", Tls: LoadTls(a.Get("--tls-cert")), Address: address, PrimaryAddress: redis is null ? primaryAddress ?? address : null, Redis: redis);
        options.Validate();
        Microsoft.Extensions.Hosting.IHost host;
        try { host = PurePg.Distributed.Cluster.StartSiloAsync(options).GetAwaiter().GetResult(); }
        catch (Exception e) when (e is OrleansException or System.Net.Sockets.SocketException or IOException or InvalidOperationException or StackExchange.Redis.RedisException)
        {
            throw new UsageException($"purepg silo: cannot start on ports {options.SiloPort}/{options.GatewayPort}" +
                (options.Redis is { } store ? $" with membership in Redis at {store}" : "") + $": {RunFolder.OneLine(e is StackExchange.Redis.RedisException ? e.Message.Split(". ")[0] : e.Message)}");
        }
        using var stop = new ManualResetEventSlim();
        ConsoleCancelEventHandler onCancel = (_, args) => { args.Cancel = true; stop.Set(); };
        Console.CancelKeyPress += onCancel;
        using var sigterm = OperatingSystem.IsWindows() ? null : System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM,
            c => { c.Cancel = true; stop.Set(); });
        Console.WriteLine($"silo of cluster '{options.ClusterId}' on {options.Address ?? System.Net.IPAddress.Loopback}:{options.SiloPort}, gateway {options.GatewayPort}" +
            (options.Redis is { } r ? $", membership in Redis at {r}" : options.PrimarySiloPort is int p ? $", joined the primary at {(options.PrimaryAddress is { } pa && !pa.Equals(options.Address) ? $"{pa}:" : "")}{p}" : " (primary)") + (options.Tls is null ? "" : ", mutual TLS") + "; Ctrl-C stops it");
        stop.Wait();
        Console.CancelKeyPress -= onCancel;
        host.StopAsync().GetAwaiter().GetResult();
        host.Dispose();
        Console.WriteLine("silo stopped");
        return 0;
    }

    /// <summary>Loads <paramref name="file"/> into <paramref name="trainer"/>; returns its steps and header.</summary>
    private static (long Steps, JsonNode Header) Load(string file, IOnPolicyAlgorithm trainer, RunPlan plan)
    {
        var (headerText, state) = Checkpoint.Read(file);
        JsonNode h;
        try { h = JsonNode.Parse(headerText)!; }
        catch (JsonException) { throw new InvalidDataException($"{file} has a header that is not JSON."); }
        if (h["env"]?.GetValue<string>() != plan.Env || h["algorithm"]?.GetValue<string>() != plan.Algorithm)
            throw new InvalidDataException($"{file} is a checkpoint of {h["algorithm"]} on {h["env"]}, not of this run.");
        try
        {
            using var reader = new BinaryReader(new MemoryStream(state));
            trainer.ReadState(reader);
            if (reader.BaseStream.Position != state.Length)
                throw new InvalidDataException($"{state.Length - reader.BaseStream.Position} bytes follow the state");
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or ArgumentException)
        {
            throw new InvalidDataException($"{file} does not fit this run ({plan.Algorithm}, {plan.Envs} copies of {plan.Env}): {RunFolder.OneLine(e.Message)}");
        }
        return (h["steps"]?.GetValue<long>() ?? trainer.TotalSteps, h);
    }

    /// <summary>Loads the newest checkpoint that verifies; reports and skips the bad ones.</summary>
    private static (long Steps, JsonNode Header) LoadNewest(RunFolder run, IOnPolicyAlgorithm trainer, RunPlan plan)
    {
        foreach (var (_, file) in run.Checkpoints())
        {
            try { return Load(file, trainer, plan); }
            catch (InvalidDataException e) { Console.Error.WriteLine($"purepg: skipping a bad checkpoint: {RunFolder.OneLine(e.Message)}"); }
        }
        throw new UsageException($"{run.Path} has no loadable checkpoint.");
    }

    private static int Resume(Arguments a)
    {
        a.AllowOnly("--run", "--steps");
        var run = new RunFolder(a.Require("--run"));
        var config = run.ReadConfig();
        var plan = RunPlan.FromConfig(config, run.ConfigPath);
        using var connection = Connect(plan);
        var trainer = Rebuild(plan, connection);
        var (at, header) = LoadNewest(run, trainer, plan);
        long target = a.Get("--steps") is null ? plan.Steps : at + a.GetLong("--steps", 0, 1);
        if (target <= at)
            throw new UsageException($"{run.Path} has reached its planned {plan.Steps:N0} steps (it is at {at:N0}): give --steps N to train N more.");
        if (target > plan.Steps)
        {
            plan = plan with { Steps = target };
            config["steps"] = target;
        }
        trainer.PlannedSteps = plan.Steps;
        var resumes = config["resumes"] as JsonArray ?? new JsonArray();
        resumes.Add(at);
        config["resumes"] = resumes;
        run.WriteConfig(config);
        run.TruncateMetrics(at);
        Console.WriteLine($"resuming {run.Path} at {at:N0} steps, to {target:N0}");
        if (!trainer.ExactResume) Console.WriteLine($"note: {plan.Algorithm} resumes θ, φ, its optimizers and its step count; its worker threads are not deterministic");
        using var tensorBoard = OpenTensorBoard(plan);
        return new TrainingLoop(run, trainer, plan, RunProgress.ReadFrom(header), tensorBoard).Run(target);
    }

    private static int Export(Arguments a)
    {
        a.AllowOnly("--run", "--policy", "--best", "--onnx", "--ml-agents");
        string onnx = a.Require("--onnx");
        var (policy, _) = LoadPolicy(a);
        bool mlAgents = a.Flag("--ml-agents");
        PurePg.Onnx.OnnxExport.Write(policy, onnx, mlAgents ? PurePg.Onnx.OnnxTensorNames.MlAgents : PurePg.Onnx.OnnxTensorNames.PurePg);
        string layout = (mlAgents, policy.ActionSpace is Discrete) switch
        {
            (false, true) => $"input obs [batch, {policy.ObservationSize}], outputs logits, probs, action",
            (false, false) => $"input obs [batch, {policy.ObservationSize}], outputs mean, log_std, action",
            (true, true) => $"ML-Agents model API {PurePg.Onnx.OnnxExport.MlAgentsModelVersion}: inputs obs_0 [batch, {policy.ObservationSize}], action_masks; outputs version_number, memory_size, discrete_actions, discrete_action_output_shape, deterministic_discrete_actions",
            (true, false) => $"ML-Agents model API {PurePg.Onnx.OnnxExport.MlAgentsModelVersion}: input obs_0 [batch, {policy.ObservationSize}]; outputs version_number, memory_size, continuous_actions, continuous_action_output_shape, deterministic_continuous_actions",
        };
        Console.WriteLine($"{onnx}: {policy.Algorithm} policy for {policy.EnvId ?? "its environment"} at {policy.Steps:N0} steps, {layout}");
        return 0;
    }

    /// <summary>The policy of <c>--policy FILE</c> or of <c>--run DIR [--best]</c>, and the file it came from.</summary>
    internal static (TrainedPolicy Policy, string Path) LoadPolicyFor(Arguments a) => LoadPolicy(a);

    private static (TrainedPolicy Policy, string Path) LoadPolicy(Arguments a)
    {
        if (a.Get("--policy") is string file)
        {
            if (a.Get("--run") is not null || a.Flag("--best")) throw new UsageException("Give --policy FILE or --run DIR [--best], not both.");
            return (TrainedPolicy.Load(file), file);
        }
        string run = a.Require("--run");
        if (!File.Exists(Path.Combine(run, "config.json"))) throw new UsageException($"{run} is not a run folder: it has no config.json.");
        string name = a.Flag("--best") ? TrainedPolicy.RunFolderBestPolicy : TrainedPolicy.RunFolderPolicy;
        string path = Path.Combine(run, name);
        if (!File.Exists(path))
            throw new UsageException(a.Flag("--best") ? $"{run} has no {name}: it was trained without --eval-every." : $"{run} has no {name} (made before policy files existed? resume it once).");
        return (TrainedPolicy.Load(path), path);
    }

    private static int Record(Arguments a)
    {
        a.AllowOnly("--run", "--policy", "--best", "--expert", "--env", "--env-assembly", "--episodes", "--out", "--stochastic", "--seed");
        string output = a.Require("--out");
        int episodes = (int)a.GetLong("--episodes", 10, 1);
        long seed = a.GetLong("--seed", 0, 0);
        bool deterministic = !a.Flag("--stochastic");
        RunPlan.LoadEnvironments(a.Get("--env-assembly"));
        Imitation.Demonstrations demonstrations;
        if (a.Get("--expert") is string expert)
        {
            if (a.Get("--run") is not null || a.Get("--policy") is not null) throw new UsageException("Give --expert scripted or a policy (--run/--policy), not both.");
            if (expert != "scripted") throw new UsageException($"Unknown expert '{expert}': the built-in experts are 'scripted' (give a trained policy with --run or --policy).");
            if (a.Flag("--stochastic")) throw new UsageException("A scripted expert is deterministic: --stochastic goes with a policy.");
            string id = a.Require("--env");
            RunPlan.CheckNames(id, "ppo");
            var env = EnvRegistry.Make(id);
            var rule = Imitation.ScriptedExperts.For(env)
                ?? throw new UsageException($"No scripted expert for {id}: there are rules for the PurePg/Chain environments, MountainCar-v0 and CartPole-v1; give a trained policy with --run or --policy.");
            demonstrations = Imitation.Demonstrations.Record(env, id, rule.Description, episodes, seed, discreteExpert: rule.Act);
        }
        else
        {
            var (policy, path) = LoadPolicy(a);
            string id = a.Get("--env") ?? (a.Get("--run") is string run ? RunPlan.FromConfig(new RunFolder(run).ReadConfig(), Path.Combine(run, "config.json")).Env : null)
                ?? policy.EnvId ?? throw new UsageException($"{path} does not name its environment: give --env ID.");
            RunPlan.CheckNames(id, "ppo");
            demonstrations = Imitation.Demonstrations.Record(policy, EnvRegistry.Make(id), id, episodes, seed, deterministic, path);
        }
        demonstrations.Save(output);
        var returns = demonstrations.EpisodeReturns();
        double mean = returns.Average();
        Console.WriteLine($"{output}: {demonstrations.Episodes} episodes, {demonstrations.Steps:N0} steps of {demonstrations.EnvId}, return {mean:F2} ± " +
            $"{Math.Sqrt(returns.Average(r => (r - mean) * (r - mean))):F2}; expert: {demonstrations.Expert}");
        return 0;
    }

    private static int Predict(Arguments a)
    {
        a.AllowOnly("--policy", "--stochastic", "--seed");
        var policy = TrainedPolicy.Load(a.Require("--policy"));
        bool deterministic = !a.Flag("--stochastic");
        policy.Reseed((ulong)a.GetLong("--seed", 0, 0));
        var observation = new float[policy.ObservationSize];
        var action = new float[policy.ActionSpace is Box box ? box.Size : 0];
        string? line;
        int number = 0;
        while ((line = Console.In.ReadLine()) is not null)
        {
            number++;
            if (line.Trim().Length == 0) continue;
            var fields = line.Split(',');
            if (fields.Length != observation.Length)
                throw new UsageException($"Line {number} has {fields.Length} values; the policy takes {observation.Length} features.");
            for (int k = 0; k < fields.Length; k++)
                if (!float.TryParse(fields[k], NumberStyles.Float, CultureInfo.InvariantCulture, out observation[k]))
                    throw new UsageException($"Line {number}, value {k + 1}: '{fields[k].Trim()}' is not a number.");
            if (action.Length == 0) Console.WriteLine(policy.Predict(observation, deterministic).ToString(CultureInfo.InvariantCulture));
            else
            {
                policy.Predict(observation, action, deterministic);
                Console.WriteLine(string.Join(",", action.Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
            }
        }
        return 0;
    }

    private static int Eval(Arguments a)
    {
        a.AllowOnly("--run", "--episodes", "--deterministic", "--json", "--best");
        var run = new RunFolder(a.Require("--run"));
        var plan = RunPlan.FromConfig(run.ReadConfig(), run.ConfigPath);
        var trainer = Rebuild(plan);
        long at;
        if (a.Flag("--best"))
        {
            if (!File.Exists(run.BestCheckpointPath))
                throw new UsageException($"{run.Path} has no best.ckpt: it was trained without --eval-every.");
            at = Load(run.BestCheckpointPath, trainer, plan).Steps;
        }
        else at = LoadNewest(run, trainer, plan).Steps;
        int episodes = (int)a.GetLong("--episodes", 20, 1);
        bool deterministic = a.Flag("--deterministic");
        var (mean, std) = TrainingLoop.Evaluate(trainer, plan.Env, episodes, TrainingLoop.FinalEvalSeed, deterministic);
        if (a.Flag("--json"))
            Console.WriteLine(JsonSerializer.Serialize(new { mean, std, episodes, steps = at, deterministic }));
        else
            Console.WriteLine($"{plan.Env} {plan.Algorithm} at {at:N0} steps{(a.Flag("--best") ? " (best)" : "")}: return {mean:F2} ± {std:F2} over {episodes} episodes, " +
                (deterministic ? "deterministic (the policy's mode)" : "stochastic (sampled actions; --deterministic for the mode)"));
        return 0;
    }
}
