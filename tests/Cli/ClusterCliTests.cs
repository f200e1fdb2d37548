using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace PurePg.Cli.Tests;

/// <summary>The program's cluster route with real processes: two <c>purepg silo</c> children on free loopback ports (the
/// second joining the first), <c>purepg train --algo es --cluster</c> and <c>--algo ppo --cluster</c> on them, and each
/// run's policy file byte-identical to a local run's; the children are stopped by their process ids whatever happens. Also: a cluster nobody listens on is
/// refused in one line before a run folder is made, and --cluster is refused for algorithms that cannot use it.</summary>
[Collection("console")]
public class ClusterCliTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("purepg-cluster-").FullName;
    private readonly List<Process> _children = [];

    public void Dispose()
    {
        foreach (var p in _children)
        {
            try { if (!p.HasExited) p.Kill(entireProcessTree: true); p.WaitForExit(10_000); }
            catch (InvalidOperationException) { }
            p.Dispose();
        }
        Directory.Delete(_root, recursive: true);
    }

    /// <summary>Distinct free ports on <paramref name="address"/> (default loopback): all held open together, then released.</summary>
    private static int[] FreePorts(int count, IPAddress? address = null)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(address ?? IPAddress.Loopback, 0)).ToArray();
        foreach (var l in listeners) l.Start();
        int[] ports = listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        foreach (var l in listeners) l.Stop();
        return ports;
    }

    /// <summary>Starts <c>purepg silo</c> as a child process and waits for its ready line.</summary>
    private Process StartSilo(int port, int gateway, int? primary, params string[] more)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "purepg.dll");
        var start = new ProcessStartInfo("dotnet", ["exec", dll, "silo", "--port", $"{port}", "--gateway", $"{gateway}", .. primary is int p ? new[] { "--primary", $"{p}" } : [], .. more])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start)!;
        _children.Add(process);
        var ready = Task.Run(() =>
        {
            string? line;
            while ((line = process.StandardOutput.ReadLine()) is not null)
                if (line.StartsWith("silo of cluster", StringComparison.Ordinal)) return line;
            return null;
        });
        if (!ready.Wait(TimeSpan.FromSeconds(90)) || ready.Result is null)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"silo on {port} did not start: {process.StandardError.ReadToEnd()}");
        }
        Assert.Contains($"gateway {gateway}", ready.Result);
        return process;
    }

    [Fact]
    public void Es_and_ppo_trained_on_two_silo_processes_write_the_same_policy_files_as_local_runs()
    {
        var ports = FreePorts(4);
        int primary = ports[0], gatewayA = ports[1], second = ports[2], gatewayB = ports[3];
        StartSilo(primary, gatewayA, null);
        StartSilo(second, gatewayB, primary);
        string[] common = ["train", "--env", "CartPole-v1", "--algo", "es", "--steps", "20000", "--seed", "4", "--set", "Pairs=8", "--set", "HiddenSizes=16"];
        var remote = Cli.Run([.. common, "--cluster", $"localhost:{gatewayA},{gatewayB}", "--workers", "4", "--worker-timeout", "60", "--out", Path.Combine(_root, "cluster")]);
        Assert.True(remote.Code == 0, remote.Err + remote.Out);
        Assert.Contains("4 evaluator workers", remote.Out);
        var local = Cli.Run([.. common, "--out", Path.Combine(_root, "local")]);
        Assert.True(local.Code == 0, local.Err);
        string remoteRun = Cli.RunFolderOf(remote.Out), localRun = Cli.RunFolderOf(local.Out);
        Assert.Equal(File.ReadAllBytes(Path.Combine(localRun, "policy.pgp")), File.ReadAllBytes(Path.Combine(remoteRun, "policy.pgp")));
        Assert.Contains("\"worker_timeout_s\": 60", File.ReadAllText(Path.Combine(remoteRun, "config.json")));

        // PPO's rollouts on the same silos: 6 copies in 3 blocks of rollout workers
        string[] ppo = ["train", "--env", "CartPole-v1", "--algo", "ppo", "--steps", "3072", "--envs", "6", "--seed", "2", "--set", "StepsPerEnv=128", "--set", "BatchSize=128",
            "--set", "Epochs=2", "--set", "HiddenSizes=16,16"];
        var ppoRemote = Cli.Run([.. ppo, "--cluster", $"localhost:{gatewayA},{gatewayB}", "--workers", "3", "--out", Path.Combine(_root, "ppo-cluster")]);
        Assert.True(ppoRemote.Code == 0, ppoRemote.Err + ppoRemote.Out);
        Assert.Contains("3 rollout workers", ppoRemote.Out);
        var ppoLocal = Cli.Run([.. ppo, "--out", Path.Combine(_root, "ppo-local")]);
        Assert.True(ppoLocal.Code == 0, ppoLocal.Err);
        Assert.Equal(File.ReadAllBytes(Path.Combine(Cli.RunFolderOf(ppoLocal.Out), "policy.pgp")), File.ReadAllBytes(Path.Combine(Cli.RunFolderOf(ppoRemote.Out), "policy.pgp")));

        // IMPALA's asynchronous actors on the same silos: not reproducible, so it must just run, record its lags and learn
        var impala = Cli.Run("train", "--env", "CartPole-v1", "--algo", "impala", "--steps", "60000", "--cluster", $"localhost:{gatewayA},{gatewayB}",
            "--out", Path.Combine(_root, "impala"));
        Assert.True(impala.Code == 0, impala.Err + impala.Out);
        Assert.Contains("asynchronous rollout workers", impala.Out);
        string metrics = File.ReadAllText(Path.Combine(Cli.RunFolderOf(impala.Out), "metrics.csv"));
        Assert.Contains(",lag,mean_rho,", metrics.Split('\n')[0]);
    }

    [Fact]
    public void A_cluster_nobody_listens_on_and_cluster_options_that_cannot_run_are_refused_before_a_folder_is_made()
    {
        string runs = Path.Combine(_root, "runs");
        var nobody = Cli.Run("train", "--env", "CartPole-v1", "--algo", "es", "--cluster", $"localhost:{FreePorts(1)[0]}", "--out", runs);
        Assert.Equal(1, nobody.Code);
        Assert.Contains("cannot reach a silo", nobody.Err);
        Assert.Single(nobody.Err.Trim().Split('\n'));
        var reinforce = Cli.Run("train", "--env", "CartPole-v1", "--algo", "reinforce", "--cluster", "localhost:30000", "--out", runs);
        Assert.Equal(1, reinforce.Code);
        Assert.Contains("es, ppo, a2c, trpo, npg, impala run on a cluster; reinforce does not", reinforce.Err);
        var tooMany = Cli.Run("train", "--env", "CartPole-v1", "--algo", "ppo", "--envs", "4", "--cluster", "localhost:30000", "--workers", "5", "--out", runs);
        Assert.Contains("--workers 5: ppo's 4 environment copies", tooMany.Err);
        var impalaWorkers = Cli.Run("train", "--env", "CartPole-v1", "--algo", "impala", "--cluster", "localhost:30000", "--workers", "3", "--out", runs);
        Assert.Contains("impala's actors are its Blocks setting", impalaWorkers.Err);
        var normalized = Cli.Run("train", "--env", "CartPole-v1", "--algo", "a2c", "--normalize", "--cluster", "localhost:30000", "--out", runs);
        Assert.Contains("--normalize with --cluster", normalized.Err);
        var badTarget = Cli.Run("train", "--env", "CartPole-v1", "--algo", "es", "--cluster", "adonet=host", "--out", runs);
        Assert.Contains("give HOST:GATEWAY", badTarget.Err);
        var workers = Cli.Run("train", "--env", "CartPole-v1", "--algo", "es", "--workers", "4", "--out", runs);
        Assert.Contains("go with --cluster", workers.Err);
        var timeout = Cli.Run("train", "--env", "CartPole-v1", "--algo", "es", "--worker-timeout", "5", "--out", runs);
        Assert.Contains("go with --cluster", timeout.Err);
        var zero = Cli.Run("train", "--env", "CartPole-v1", "--algo", "es", "--cluster", "localhost:30000", "--worker-attempts", "0", "--out", runs);
        Assert.Contains("--worker-attempts", zero.Err);
        Assert.False(Directory.Exists(runs));
    }

    [Fact]
    public void Silos_with_a_certificate_serve_a_learner_that_has_it_and_refuse_one_that_does_not()
    {
        string cert = Path.Combine(_root, "cluster.pfx");
        var made = Cli.Run("cert", "--out", cert);
        Assert.True(made.Code == 0, made.Err);
        Assert.Contains("cluster certificate CN=purepg-cluster", made.Out);
        Assert.Contains("exists", Cli.Run("cert", "--out", cert).Err); // never overwritten
        var ports = FreePorts(2);
        StartSilo(ports[0], ports[1], null, "--tls-cert", cert);
        string[] es = ["train", "--env", "CartPole-v1", "--algo", "es", "--steps", "4000", "--set", "Pairs=4", "--set", "HiddenSizes=8", "--cluster", $"localhost:{ports[1]}"];
        var with = Cli.Run([.. es, "--tls-cert", cert, "--out", Path.Combine(_root, "with")]);
        Assert.True(with.Code == 0, with.Err + with.Out);
        Assert.Contains("\"tls_cert\"", File.ReadAllText(Path.Combine(Cli.RunFolderOf(with.Out), "config.json")));
        var without = Cli.Run([.. es, "--out", Path.Combine(_root, "without")]);
        Assert.Equal(1, without.Code);
        Assert.Contains("cannot reach a silo", without.Err);
        Assert.Contains("give the learner the same", without.Err);
        Assert.False(Directory.Exists(Path.Combine(_root, "without")));
    }

    [Fact]
    public void Silos_at_their_own_addresses_serve_a_learner_that_names_them_by_address()
    {
        // 127.0.0.2 and 127.0.0.3 stand for two machines: each silo listens only on its own address
        var (a, b) = (System.Net.IPAddress.Parse("127.0.0.2"), System.Net.IPAddress.Parse("127.0.0.3"));
        int[] pa = FreePorts(2, a), pb = FreePorts(2, b);
        StartSilo(pa[0], pa[1], null, "--host", "127.0.0.2");
        StartSilo(pb[0], pb[1], null, "--host", "127.0.0.3", "--primary", $"127.0.0.2:{pa[0]}");
        string[] es = ["train", "--env", "CartPole-v1", "--algo", "es", "--steps", "6000", "--seed", "3", "--set", "Pairs=4", "--set", "HiddenSizes=8"];
        var remote = Cli.Run([.. es, "--cluster", $"127.0.0.2:{pa[1]},127.0.0.3:{pb[1]}", "--workers", "4", "--out", Path.Combine(_root, "remote")]);
        Assert.True(remote.Code == 0, remote.Err + remote.Out);
        Assert.Contains($"at 127.0.0.2:{pa[1]},127.0.0.3:{pb[1]}", remote.Out);
        var local = Cli.Run([.. es, "--out", Path.Combine(_root, "local")]);
        Assert.Equal(File.ReadAllBytes(Path.Combine(Cli.RunFolderOf(local.Out), "policy.pgp")), File.ReadAllBytes(Path.Combine(Cli.RunFolderOf(remote.Out), "policy.pgp")));
    }

    [Fact]
    public void Redis_membership_that_cannot_be_reached_or_is_given_with_a_primary_is_refused_in_one_line()
    {
        int nobody = FreePorts(1)[0];
        string runs = Path.Combine(_root, "runs");
        var train = Cli.Run("train", "--env", "CartPole-v1", "--algo", "ppo", "--cluster", $"redis=127.0.0.1:{nobody}", "--out", runs);
        Assert.Equal(1, train.Code);
        Assert.Contains($"--cluster redis=127.0.0.1:{nobody}: cannot reach the Redis server", train.Err);
        Assert.Single(train.Err.Trim().Split('\n'));
        Assert.False(Directory.Exists(runs));
        var ports = FreePorts(2);
        var silo = Cli.Run("silo", "--port", $"{ports[0]}", "--gateway", $"{ports[1]}", "--cluster", $"redis=127.0.0.1:{nobody}");
        Assert.Equal(1, silo.Code);
        Assert.Contains($"with membership in Redis at 127.0.0.1:{nobody}", silo.Err);
        Assert.Single(silo.Err.Trim().Split('\n'));
        Assert.Contains("no primary silo", Cli.Run("silo", "--cluster", "redis=127.0.0.1:6379", "--primary", "11111").Err);
        Assert.Contains("give localhost", Cli.Run("silo", "--cluster", "adonet=x").Err);
    }
}
