using System.Diagnostics;
using PurePg.Rl.Training;

namespace PurePg.Cli.Tests;

/// <summary>Runs the program in-process with its console captured. The classes that use it share one collection: the
/// console is process-wide.</summary>
internal static class Cli
{
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        Console.SetOut(stdout);
        Console.SetError(stderr);
        try { return (Program.Main(args), stdout.ToString(), stderr.ToString()); }
        finally { Console.SetOut(oldOut); Console.SetError(oldErr); }
    }

    public static string RunFolderOf(string output) =>
        output.Split('\n').First(l => l.StartsWith("run folder: ")).Substring("run folder: ".Length).Trim().Split(' ')[0];

    /// <summary>metrics.csv as columns by name ("" → NaN).</summary>
    public static Dictionary<string, double[]> Metrics(string run) => new RunFolder(run).ReadMetrics();

    /// <summary>The final checkpoint's full state, and the metrics without the wall-clock columns (wall_time_s, sps).</summary>
    public static (byte[] State, string[] Metrics) Outcome(string run)
    {
        var newest = Directory.GetFiles(Path.Combine(run, "checkpoints"), "step-*.ckpt").Max()!;
        var lines = File.ReadAllLines(Path.Combine(run, "metrics.csv"));
        var names = lines[0].Split(',');
        var metrics = lines.Select(l => string.Join(",", l.Split(',').Where((_, k) => names[k] is not ("wall_time_s" or "sps")))).ToArray();
        return (Checkpoint.Read(newest).State, metrics);
    }
}

[CollectionDefinition("console", DisableParallelization = true)]
public sealed class ConsoleCollection;

/// <summary>The purepg program, run in-process.</summary>
[Collection("console")]
public class CliTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("purepg-cli-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static (int Code, string Out, string Err) Run(params string[] args) => Cli.Run(args);

    private static string RunFolderOf(string output) => Cli.RunFolderOf(output);

    private static (byte[] State, string[] Metrics) Outcome(string run) => Cli.Outcome(run);

    // the halves are whole numbers of iterations (4 copies × StepsPerEnv steps each)
    public static TheoryData<string, long, string[]> DeterministicAlgorithms() => new()
    {
        { "ppo", 2048, ["--set", "StepsPerEnv=32", "--set", "BatchSize=64", "--set", "Epochs=2"] },
        { "a2c", 2040, [] },
        { "trpo", 2048, ["--set", "StepsPerEnv=64", "--set", "ValueIterations=5"] },
        { "npg", 2048, ["--set", "StepsPerEnv=64", "--set", "ValueIterations=5"] },
        { "reinforce", 2048, ["--set", "StepsPerEnv=64", "--set", "ValueIterations=5"] },
        { "reinforce", 2048, ["--set", "StepsPerEnv=64", "--set", "ValueIterations=5", "--set", "ReuseBatches=3", "--set", "Truncation=1.5"] },
    };

    [Theory]
    [MemberData(nameof(DeterministicAlgorithms))]
    public void Training_in_two_halves_with_a_resume_is_bit_identical_to_one_run(string algo, long half, string[] settings)
    {
        long total = 2 * half;
        string[] common = ["--env", "CartPole-v1", "--algo", algo, "--seed", "3", "--envs", "4", .. settings];
        var whole = Run(["train", .. common, "--steps", total.ToString(), "--out", Path.Combine(_root, "whole")]);
        Assert.True(whole.Code == 0, whole.Err);
        var first = Run(["train", .. common, "--steps", half.ToString(), "--out", Path.Combine(_root, "halves")]);
        Assert.True(first.Code == 0, first.Err);
        string halves = RunFolderOf(first.Out);
        var second = Run("resume", "--run", halves, "--steps", (total - half).ToString());
        Assert.True(second.Code == 0, second.Err);
        var (stateWhole, metricsWhole) = Outcome(RunFolderOf(whole.Out));
        var (stateHalves, metricsHalves) = Outcome(halves);
        Assert.Equal(metricsWhole, metricsHalves);
        Assert.True(stateWhole.AsSpan().SequenceEqual(stateHalves), $"{algo}: the final states differ");
    }

    // a run with checkpoints at its middle, resumed from there after its later checkpoints are gone (an interruption);
    // Box actions, running normalization of observations and rewards, and PPO's learning-rate anneal
    public static TheoryData<string, string, long, string[]> InterruptedRuns() => new()
    {
        { "ppo", "Pendulum-v1", 1024, ["--normalize", "--set", "StepsPerEnv=64", "--set", "BatchSize=64", "--set", "Epochs=2", "--set", "AnnealLearningRate=true",
            "--eval-every", "512", "--eval-episodes", "2"] }, // the evaluations' seeds continue across the resume
        { "a2c", "Pendulum-v1", 1000, ["--normalize"] },
        { "trpo", "MountainCarContinuous-v0", 1024, ["--normalize", "--set", "StepsPerEnv=64", "--set", "ValueIterations=5"] },
    };

    [Theory]
    [MemberData(nameof(InterruptedRuns))]
    public void Resuming_an_interrupted_run_is_bit_identical_to_the_uninterrupted_one(string algo, string env, long half, string[] settings)
    {
        string[] args = ["train", "--env", env, "--algo", algo, "--seed", "4", "--envs", "4", "--steps", (2 * half).ToString(), "--checkpoints", "2", .. settings];
        var whole = Run([.. args, "--out", Path.Combine(_root, "whole")]);
        Assert.True(whole.Code == 0, whole.Err);
        var cut = Run([.. args, "--out", Path.Combine(_root, "cut")]);
        Assert.True(cut.Code == 0, cut.Err);
        string run = RunFolderOf(cut.Out);
        foreach (var (steps, file) in new RunFolder(run).Checkpoints().Where(c => c.Steps > half)) File.Delete(file);
        var resumed = Run("resume", "--run", run);
        Assert.True(resumed.Code == 0, resumed.Err);
        Assert.Contains($"resuming {run} at {half:N0} steps", resumed.Out);
        var (stateWhole, metricsWhole) = Outcome(RunFolderOf(whole.Out));
        var (stateResumed, metricsResumed) = Outcome(run);
        Assert.Equal(metricsWhole, metricsResumed);
        Assert.True(stateWhole.AsSpan().SequenceEqual(stateResumed), $"{algo} on {env}: the final states differ");
    }

    [Fact]
    public void Bad_input_gets_its_own_message_and_a_nonzero_exit()
    {
        string file = Path.Combine(_root, "a-file");
        File.WriteAllText(file, "x");
        string malformed = Path.Combine(_root, "bad.json");
        File.WriteAllText(malformed, "{ \"Epochs\": ");
        (string[] Args, string Message)[] cases =
        [
            (["train", "--env", "CartPole-v9", "--algo", "ppo"], "No environment with id 'CartPole-v9'"),
            (["train", "--env", "CartPole-v1", "--algo", "dqn"], "Unknown algorithm 'dqn'. Valid: ppo"),
            (["train", "--env", "CartPole-v1", "--algo", "ppo", "--steps", "-5"], "--steps must be ≥ 1, got -5"),
            (["train", "--env", "CartPole-v1", "--algo", "ppo", "--steps", "lots"], "--steps must be an integer, got 'lots'"),
            (["train", "--env", "CartPole-v1", "--algo", "ppo", "--config", Path.Combine(_root, "missing.json")], "does not exist"),
            (["train", "--env", "CartPole-v1", "--algo", "ppo", "--config", malformed], "is not valid JSON"),
            (["train", "--env", "CartPole-v1", "--algo", "ppo", "--set", "Epohcs=3"], "Unknown setting 'Epohcs' for ppo (--set). Did you mean Epochs? Valid:"),
            (["train", "--env", "CartPole-v1", "--algo", "ppo", "--set", "Epochs=many"], "Setting 'Epochs': 'many' is not a valid integer"),
            (["train", "--env", "CartPole-v1", "--algo", "ppo", "--steps", "256", "--out", file], "Cannot create the run folder"),
            (["eval", "--run", Path.Combine(_root, "nowhere")], "has no config.json"),
            (["train", "--env", "CartPole-v1", "--algo", "a3c", "--normalize"], "not a3c"),
            (["fly"], "Unknown command 'fly'"),
        ];
        foreach (var (args, message) in cases)
        {
            var (code, _, err) = Run(args);
            Assert.True(code != 0, $"{string.Join(' ', args)} exited 0");
            Assert.Contains(message, err);
            Assert.DoesNotContain("   at ", err); // no stack trace
            Assert.Single(err.Trim().Split('\n'));
        }
    }

    [Fact]
    public void A_corrupted_checkpoint_is_refused_and_the_previous_one_is_used_and_a_foreign_one_is_rejected()
    {
        var trained = Run("train", "--env", "CartPole-v1", "--algo", "a2c", "--steps", "2000", "--checkpoints", "4", "--out", _root);
        Assert.Equal(0, trained.Code);
        string run = RunFolderOf(trained.Out);
        var files = Directory.GetFiles(Path.Combine(run, "checkpoints")).Order().ToArray();
        Assert.True(files.Length >= 2);
        var bytes = File.ReadAllBytes(files[^1]);
        File.WriteAllBytes(files[^1], bytes[..(bytes.Length / 2)]); // truncated
        var eval = Run("eval", "--run", run, "--episodes", "2", "--json");
        Assert.Equal(0, eval.Code);
        Assert.Contains("fails its checksum", eval.Err);
        Assert.Contains("\"steps\":", eval.Out);
        // a checkpoint of another environment
        var other = Run("train", "--env", "Acrobot-v1", "--algo", "a2c", "--steps", "500", "--out", Path.Combine(_root, "other"));
        Assert.Equal(0, other.Code);
        string otherRun = RunFolderOf(other.Out);
        foreach (var f in Directory.GetFiles(Path.Combine(run, "checkpoints"))) File.Delete(f);
        foreach (var f in Directory.GetFiles(Path.Combine(otherRun, "checkpoints"))) File.Copy(f, Path.Combine(run, "checkpoints", Path.GetFileName(f)));
        var foreign = Run("eval", "--run", run);
        Assert.NotEqual(0, foreign.Code);
        Assert.Contains("a2c on Acrobot-v1, not of this run", foreign.Err);
    }

    [Fact]
    public void A_run_leaves_config_metrics_checkpoints_and_a_curve_and_eval_reports_json()
    {
        string config = Path.Combine(AppContext.BaseDirectory, "configs", "ppo-CartPole-v1.json");
        // the README's main command
        var trained = Run("train", "--env", "CartPole-v1", "--algo", "ppo", "--config", config, "--out", _root);
        Assert.True(trained.Code == 0, trained.Err);
        Assert.Contains("solved (threshold 475)", trained.Out);
        string run = RunFolderOf(trained.Out);
        var cfg = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(run, "config.json")))!;
        Assert.Equal(20, cfg["settings"]!["Epochs"]!.GetValue<int>());
        Assert.Equal(0, cfg["settings"]!["Seed"]!.GetValue<int>());
        Assert.StartsWith("PurePg ", cfg["library"]!.GetValue<string>());
        Assert.StartsWith("steps,wall_time_s,sps,episodes,ep_return_mean,ep_return_std,ep_length_mean,iter_return_mean,iter_episodes,eval_return_mean,eval_return_std,policy_loss",
            File.ReadLines(Path.Combine(run, "metrics.csv")).First());
        string svg = File.ReadAllText(Path.Combine(run, "curve.svg"));
        Assert.Contains("<polyline", svg);
        Assert.Contains("threshold 475", svg);
        var eval = Run("eval", "--run", run, "--episodes", "5", "--deterministic", "--json");
        Assert.Equal(0, eval.Code);
        var result = System.Text.Json.Nodes.JsonNode.Parse(eval.Out)!;
        Assert.True(result["mean"]!.GetValue<double>() >= 475);
        Assert.Equal(5, result["episodes"]!.GetValue<int>());
    }

    [Fact]
    public void List_names_environments_and_algorithms_with_their_settings()
    {
        var (code, output, _) = Run("list");
        Assert.Equal(0, code);
        Assert.Contains("CartPole-v1", output);
        Assert.Contains("threshold 475", output);
        Assert.Contains("ClipRange = 0.2", output);
        Assert.Contains("MaxKl = 0.01", output);
        foreach (string command in new[] { "train", "eval", "resume", "list" })
            Assert.Equal(0, Run(command, "--help").Code);
    }

    [Fact]
    public void An_environment_that_returns_NaN_stops_training_naming_the_iteration_and_the_last_checkpoint_stays_good()
    {
        if (!PurePg.Envs.EnvRegistry.All.Any(s => s.Id == "Test/NaNAfter300-v0"))
            PurePg.Envs.EnvRegistry.Register(new("Test/NaNAfter300-v0", 500, null, "CartPole whose observations turn NaN after 300 steps",
                () => new NaNAfter(300)));
        var (code, _, err) = Run("train", "--env", "Test/NaNAfter300-v0", "--algo", "a2c", "--envs", "2", "--steps", "10000", "--out", _root);
        Assert.Equal(2, code);
        Assert.Contains("training stopped at iteration", err);
        Assert.Contains("observation value NaN", err);
        string run = Directory.GetDirectories(_root).Single();
        // the step-0 checkpoint is intact and loads; evaluating on this environment meets its NaN after 300 steps and names it
        var eval = Run("eval", "--run", run, "--episodes", "1");
        Assert.DoesNotContain("bad checkpoint", eval.Err);
        Assert.Equal(1, eval.Code);
        Assert.Contains("Observation 0, feature 1, is NaN", eval.Err);
    }

    private sealed class NaNAfter(int steps) : PurePg.Envs.Env(new PurePg.Envs.ClassicControl.CartPole().ObservationSpace, new PurePg.Envs.Discrete(2))
    {
        private int _taken;
        private readonly PurePg.Envs.ClassicControl.CartPole _inner = new();
        protected override void ResetCore(PurePg.Envs.Random.NumpyRandom random, Span<float> observation) => _inner.Reset(0).CopyTo(observation);
        protected override (double Reward, bool Terminated) StepCore(int action, PurePg.Envs.Random.NumpyRandom random, Span<float> observation)
        {
            var r = _inner.Step(action);
            r.Observation.CopyTo(observation);
            if (++_taken > steps) observation[1] = float.NaN;
            if (r.Terminated) _inner.Reset(0);
            return (1.0, false);
        }
    }

    [Fact]
    public void Killing_the_process_never_leaves_a_run_without_a_loadable_checkpoint()
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "purepg.dll");
        var start = new ProcessStartInfo("dotnet", ["exec", dll, "train", "--env", "CartPole-v1", "--algo", "ppo", "--steps", "100000000",
            "--checkpoints", "100000", "--out", _root]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        string? run = null, line;
        int progress = 0;
        while ((line = process.StandardOutput.ReadLine()) is not null)
        {
            if (line.StartsWith("run folder: ")) run = line["run folder: ".Length..].Trim();
            else if (line.Contains("/s ") && ++progress == 2) break; // checkpoints are being written every iteration now
        }
        process.Kill(); // SIGKILL: no chance to clean up
        process.WaitForExit();
        var eval = Run("eval", "--run", run!, "--episodes", "1");
        Assert.True(eval.Code == 0, eval.Err);
    }

    [Theory]
    [InlineData("-TERM")]
    [InlineData("-INT")] // what Ctrl-C sends
    public void Sigterm_or_sigint_writes_a_final_checkpoint_and_leaves_a_resumable_run(string signal)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "purepg.dll");
        var start = new ProcessStartInfo("dotnet", ["exec", dll, "train", "--env", "CartPole-v1", "--algo", "a2c", "--steps", "100000000", "--out", _root])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        string? line;
        string? run = null;
        while ((line = process.StandardOutput.ReadLine()) is not null)
        {
            if (line.StartsWith("run folder: ")) run = line["run folder: ".Length..].Trim();
            else if (line.Contains("/s ")) break; // training is under way
        }
        Assert.NotNull(run);
        Process.Start("kill", [signal, process.Id.ToString()])!.WaitForExit();
        Assert.True(process.WaitForExit(30_000), $"the process did not stop after {signal}");
        Assert.Equal(130, process.ExitCode);
        Assert.Contains("checkpoint written", process.StandardError.ReadToEnd());
        var resumed = Run("resume", "--run", run!, "--steps", "200");
        Assert.True(resumed.Code == 0, resumed.Err);
    }
}
