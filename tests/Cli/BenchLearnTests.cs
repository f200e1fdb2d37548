namespace PurePg.Cli.Tests;

/// <summary>purepg bench learn: the report, the curves and the plot are written; a seed's curve is the same whether it
/// ran alone or beside others (the deterministic algorithms); bad options are refused in one line.</summary>
[Collection("console")]
public class BenchLearnTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("purepg-bench-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void A_smoke_run_writes_the_report_curves_and_plot_and_a_seeds_curve_does_not_depend_on_the_workers()
    {
        string one = Path.Combine(_root, "one"), two = Path.Combine(_root, "two");
        var a = Cli.Run("bench", "learn", "--quick", "--seeds", "2", "--budget", "10000", "--workers", "1", "--out", one);
        Assert.True(a.Code == 0, a.Err + a.Out);
        var b = Cli.Run("bench", "learn", "--quick", "--seeds", "2", "--budget", "10000", "--workers", "2", "--out", two);
        Assert.True(b.Code == 0, b.Err + b.Out);
        string report = File.ReadAllText(Path.Combine(one, "report.md"));
        foreach (string algo in new[] { "ppo", "a2c", "trpo", "npg", "reinforce", "es", "impala", "a3c" })
            Assert.Contains($"| {algo} | 10,000 |", report);
        Assert.Contains("rl-baselines3-zoo benchmark.md", report);
        Assert.Contains("<svg", File.ReadAllText(Path.Combine(one, "learn-CartPole-v1.svg")));
        // every algorithm but a3c (threads, not deterministic): the same evaluations for the same seed, 1 or 2 workers
        static string[] Rows(string dir) => File.ReadAllLines(Path.Combine(dir, "curves.csv")).Skip(1)
            .Where(l => !l.StartsWith("a3c,", StringComparison.Ordinal)).Select(l => string.Join(',', l.Split(',') is var f ? [f[0], f[1], f[2], f[3], f[5]] : [])).ToArray();
        string[] rowsOne = Rows(one), rowsTwo = Rows(two);
        Assert.True(rowsOne.Length >= 7 * 2, $"{rowsOne.Length} curve points"); // at least the evaluation at the budget, for every run
        Assert.Equal(rowsOne, rowsTwo);
        Assert.Contains("exclude each other", Cli.Run("bench", "learn", "--full", "--quick").Err);
        Assert.Contains("give learn or speed", Cli.Run("bench").Err);
        Assert.Contains("unknown option '--quick'", Cli.Run("bench", "speed", "--quick").Err);
        Assert.Contains("--seeds must be a positive integer, not '0'", Cli.Run("bench", "speed", "--seeds", "0").Err);
    }

    [Fact]
    public void The_full_plan_runs_every_algorithm_on_the_five_tasks_with_Pendulums_threshold_named()
    {
        string dir = Path.Combine(_root, "full");
        var r = Cli.Run("bench", "learn", "--full", "--seeds", "1", "--budget", "1000", "--out", dir);
        Assert.True(r.Code == 0, r.Err + r.Out);
        string report = File.ReadAllText(Path.Combine(dir, "report.md"));
        Assert.Contains("purepg bench learn --full", report);
        Assert.Contains("`machine: ", report);
        foreach (string env in new[] { "CartPole-v1", "Acrobot-v1", "MountainCar-v0", "Pendulum-v1", "MountainCarContinuous-v0" })
        {
            Assert.Contains($"## {env} (threshold", report);
            Assert.Contains("<svg", File.ReadAllText(Path.Combine(dir, $"learn-{env}.svg")));
        }
        Assert.Contains("## Pendulum-v1 (threshold -200, this report's: Gymnasium registers none)", report);
        Assert.Contains("| ppo | 1,000 | 0/1 | — | — |", report);
        Assert.Contains("−110.4 ± 19.5 (1M)", report); // the zoo's MountainCar PPO beside ours
        Assert.Equal(40, File.ReadAllLines(Path.Combine(dir, "curves.csv")).Skip(1).Select(l => string.Join(',', l.Split(',')[..3])).Distinct().Count());
    }
}
