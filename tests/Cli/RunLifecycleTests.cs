using System.Text.Json.Nodes;
using PurePg.Rl.Training;
using static PurePg.Cli.Tests.Cli;

namespace PurePg.Cli.Tests;

/// <summary>What a new user hits in the first hour (issue 16): schedules that follow the run, settings precedence, the
/// program's own settings, what list shows, unique run folders, A3C in the program, one-line messages, readable
/// metrics, evaluation during training and the curve.</summary>
[Collection("console")]
public class RunLifecycleTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("purepg-life-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Config(string name, string json)
    {
        string path = Path.Combine(_root, name);
        File.WriteAllText(path, json);
        return path;
    }

    private static JsonNode ConfigOf(string run) => JsonNode.Parse(File.ReadAllText(Path.Combine(run, "config.json")))!;

    private static string[] SmallPpo => ["--env", "CartPole-v1", "--algo", "ppo", "--envs", "4", "--set", "StepsPerEnv=64", "--set", "BatchSize=64", "--set", "Epochs=2"];

    [Fact]
    public void The_learning_rate_anneal_follows_the_runs_steps_and_an_extended_run_keeps_learning()
    {
        // the config plans 1,024 steps; --steps asks for 4,096: the anneal must follow the 4,096 (it used to reach 0 at 1,024)
        string config = Config("anneal.json", """{ "AnnealLearningRate": true, "TotalTimesteps": 1024, "LearningRate": 0.001 }""");
        var trained = Run(["train", .. SmallPpo, "--config", config, "--steps", "4096", "--out", _root]);
        Assert.True(trained.Code == 0, trained.Err);
        string run = RunFolderOf(trained.Out);
        var m = Metrics(run);
        Assert.Equal(4096, m["steps"][^1]);
        Assert.All(m["approx_kl"], kl => Assert.True(kl > 1e-10, "an iteration did not move the policy")); // a rate of 0 leaves ~1e-16 of rounding
        // iteration i (starting at S_i steps) runs at α(1 − S_i/4096): 256 steps per iteration
        for (int i = 0; i < m["steps"].Length; i++)
            Assert.Equal(0.001 * (1 - 256.0 * i / 4096), m["learning_rate"][i], 12);
        // resuming a finished run for more steps re-plans the anneal over the longer run, from where it is
        var resumed = Run("resume", "--run", run, "--steps", "1024");
        Assert.True(resumed.Code == 0, resumed.Err);
        m = Metrics(run);
        Assert.Equal(5120, m["steps"][^1]);
        var extension = Enumerable.Range(0, m["steps"].Length).Where(i => m["steps"][i] > 4096).ToArray();
        Assert.Equal(4, extension.Length);
        Assert.All(extension, i => Assert.True(m["approx_kl"][i] > 1e-10, $"no learning at {m["steps"][i]} steps after the extension"));
        Assert.Equal(0.001 * (1 - 4096.0 / 5120), m["learning_rate"][extension[0]], 12);
        Assert.Equal(5120, ConfigOf(run)["steps"]!.GetValue<long>());
        // a finished run without --steps has nothing to do, and says how to extend it
        var again = Run("resume", "--run", run);
        Assert.NotEqual(0, again.Code);
        Assert.Contains("give --steps N to train N more", again.Err);
    }

    [Fact]
    public void A_config_files_Normalize_turns_normalization_on_as_the_flag_does_and_a_bad_value_is_refused()
    {
        string config = Config("normalize.json", """{ "Normalize": true, "GaeLambda": 0.9 }""");
        var on = Run(["train", .. SmallPpo, "--config", config, "--steps", "256", "--out", Path.Combine(_root, "on")]);
        Assert.True(on.Code == 0, on.Err);
        var written = ConfigOf(RunFolderOf(on.Out));
        Assert.True(written["normalize"]!.GetValue<bool>());
        Assert.Equal(0.9, written["settings"]!["GaeLambda"]!.GetValue<double>());
        var flagged = Run(["train", .. SmallPpo, "--normalize", "--set", "GaeLambda=0.9", "--steps", "256", "--out", Path.Combine(_root, "flag")]);
        Assert.True(flagged.Code == 0, flagged.Err);
        // the same run either way: the policy files (with the normalizer's statistics) are the same bytes
        Assert.Equal(File.ReadAllBytes(Path.Combine(RunFolderOf(flagged.Out), "policy.pgp")), File.ReadAllBytes(Path.Combine(RunFolderOf(on.Out), "policy.pgp")));
        string bad = Config("maybe.json", """{ "Normalize": "maybe" }""");
        var refused = Run(["train", .. SmallPpo, "--config", bad, "--out", Path.Combine(_root, "bad")]);
        Assert.Equal(1, refused.Code);
        Assert.Contains("Normalize is maybe; give true or false", refused.Err);
    }

    [Fact]
    public void Config_then_set_precedence_with_the_last_set_winning_and_nothing_on_disk_until_valid()
    {
        string config = Config("epochs.json", """{ "Epochs": 5, "GaeLambda": 0.9 }""");
        var ok = Run(["train", .. SmallPpo, "--config", config, "--set", "Epochs=3", "--set", "epochs=4", "--steps", "256", "--out", Path.Combine(_root, "ok")]);
        Assert.True(ok.Code == 0, ok.Err);
        var settings = ConfigOf(RunFolderOf(ok.Out))["settings"]!;
        Assert.Equal(4, settings["Epochs"]!.GetValue<int>());
        Assert.Equal(0.9, settings["GaeLambda"]!.GetValue<double>());
        // an invalid value anywhere: one line, and no folder at all
        string bad = Path.Combine(_root, "bad");
        var refused = Run(["train", .. SmallPpo, "--config", config, "--set", "Epochs=3", "--set", "LearningRate=-1", "--out", bad]);
        Assert.Equal(1, refused.Code);
        Assert.Contains("LearningRate must be positive", refused.Err);
        Assert.False(Directory.Exists(bad) && Directory.EnumerateFileSystemEntries(bad).Any(), "a refused configuration left something on disk");
    }

    [Fact]
    public void Seed_steps_and_copies_given_as_settings_are_honoured_and_a_disagreement_is_refused()
    {
        var seeded = Run("train", "--env", "CartPole-v1", "--algo", "a2c", "--set", "Seed=5", "--set", "TotalTimesteps=400", "--set", "NumEnvs=2", "--out", _root);
        Assert.True(seeded.Code == 0, seeded.Err);
        string run = RunFolderOf(seeded.Out);
        var config = ConfigOf(run);
        Assert.Equal(5, config["seed"]!.GetValue<long>());
        Assert.Equal(5, config["settings"]!["Seed"]!.GetValue<long>());
        Assert.Equal(2, config["settings"]!["NumEnvs"]!.GetValue<int>());
        Assert.Equal(400, Metrics(run)["steps"][^1]); // 2 copies × 5 steps per iteration: 40 iterations
        Assert.Contains("-a2c-5-", run);
        var clash = Run("train", "--env", "CartPole-v1", "--algo", "a2c", "--seed", "3", "--set", "Seed=5", "--out", _root);
        Assert.Equal(1, clash.Code);
        Assert.Contains("--seed 3 and --set Seed=5 disagree", clash.Err);
    }

    [Fact]
    public void List_shows_what_train_uses_and_a_run_shorter_than_one_iteration_is_announced()
    {
        var (code, output, _) = Run("list");
        Assert.Equal(0, code);
        string Section(string algo) => output[output.IndexOf($"  {algo}: ", StringComparison.Ordinal)..].Split("\n  ")[0..1].Single() +
            string.Concat(output[output.IndexOf($"  {algo}: ", StringComparison.Ordinal)..].Split('\n').Skip(1).TakeWhile(l => l.StartsWith("      ")).Select(l => "\n" + l));
        Assert.Contains("NumEnvs = 8", Section("ppo"));
        Assert.Contains("TotalTimesteps = 100000", Section("ppo"));
        Assert.Contains("Workers = 4", Section("a3c"));
        var short_ = Run(["train", "--env", "CartPole-v1", "--algo", "ppo", "--set", "StepsPerEnv=256", "--set", "Epochs=1", "--steps", "1000", "--out", _root]);
        Assert.True(short_.Code == 0, short_.Err);
        Assert.Contains("one ppo iteration takes 2,048 steps, more than --steps 1,000", short_.Out);
    }

    [Fact]
    public void Run_folders_are_unique_even_when_runs_start_together()
    {
        var paths = Enumerable.Range(0, 16).AsParallel().WithDegreeOfParallelism(16)
            .Select(_ => RunFolder.CreateUnique(_root, "CartPole-v1-ppo-0-20260101-000000").Path).ToArray();
        Assert.Equal(16, paths.Distinct().Count());
        // and through the program: the same command twice in the same second
        string[] args = ["train", "--env", "CartPole-v1", "--algo", "a2c", "--steps", "40", "--out", Path.Combine(_root, "twice")];
        var first = Run(args);
        var second = Run(args);
        Assert.NotEqual(RunFolderOf(first.Out), RunFolderOf(second.Out));
        Assert.All(Directory.GetDirectories(Path.Combine(_root, "twice")), d => Assert.Equal(2, File.ReadAllLines(Path.Combine(d, "metrics.csv")).Length));
    }

    [Fact]
    public void A3c_in_the_program_records_episodes_and_resumes_its_step_count()
    {
        var trained = Run("train", "--env", "CartPole-v1", "--algo", "a3c", "--envs", "2", "--steps", "6000", "--out", _root);
        Assert.True(trained.Code == 0, trained.Err);
        string run = RunFolderOf(trained.Out);
        var m = Metrics(run);
        Assert.All(m["ep_return_mean"], r => Assert.True(double.IsFinite(r) && r > 0)); // 2,000 steps per report: episodes end in each
        Assert.True(m["episodes"][^1] > 50);
        Assert.Contains("<polyline", File.ReadAllText(Path.Combine(run, "curve.svg")));
        long before = (long)m["steps"][^1];
        var resumed = Run("resume", "--run", run, "--steps", "4000");
        Assert.True(resumed.Code == 0, resumed.Err);
        m = Metrics(run);
        for (int i = 1; i < m["steps"].Length; i++) Assert.True(m["steps"][i] > m["steps"][i - 1], "metrics steps went backwards");
        Assert.InRange(m["steps"][^1], before + 4000, before + 4000 + 2000 + 64);
        Assert.True(m["episodes"][^1] > m["episodes"][2]);
    }

    [Fact]
    public void Messages_are_one_line_with_suggestions_and_no_arguments_is_a_usage_error()
    {
        (string[] Args, string Message)[] cases =
        [
            (["train", "--env", "CartPole-v9", "--algo", "ppo"], "No environment with id 'CartPole-v9'. Did you mean CartPole-v1?"),
            (["train", "--env", "CartPole-v1", "--algo", "ppo2"], "Unknown algorithm 'ppo2'. Did you mean ppo?"),
            (["train", "--env", "CartPole-v1", "--algo", "ppo", "--set", "clip_range=0.1"], "Did you mean ClipRange?"),
            (["train", "--env", "CartPole-v1", "--algo", "ppo", "--steps", "100", "--eval-evry", "5"], "Did you mean --eval-every?"),
            (["trian"], "Unknown command 'trian'. Did you mean train?"),
            (["train", "--env", "CartPole-v1", "--algo", "ppo", "--set", "LearningRate=-1"], "LearningRate must be positive and finite: got -1."),
            (["train", "--env", "CartPole-v1", "--algo", "ppo", "--stop-at-threshold"], "--stop-at-threshold needs --eval-every"),
        ];
        foreach (var (args, message) in cases)
        {
            var (code, _, err) = Run(args);
            Assert.True(code == 1, $"{string.Join(' ', args)} exited {code}");
            Assert.Contains(message, err);
            Assert.DoesNotContain("(Parameter", err);
            Assert.DoesNotContain("Actual value", err);
            Assert.Single(err.Trim().Split('\n'));
        }
        var none = Run();
        Assert.Equal(1, none.Code);
        Assert.Contains("purepg train", none.Err);
    }

    [Fact]
    public void A_damaged_full_size_checkpoint_and_one_of_another_size_are_named_without_false_reasons()
    {
        var small = Run("train", "--env", "CartPole-v1", "--algo", "a2c", "--envs", "2", "--steps", "200", "--out", Path.Combine(_root, "two"));
        var large = Run("train", "--env", "CartPole-v1", "--algo", "a2c", "--envs", "4", "--steps", "200", "--out", Path.Combine(_root, "four"));
        string two = RunFolderOf(small.Out), four = RunFolderOf(large.Out);
        // a full-size checkpoint whose first byte is flipped: not a checkpoint, and not "truncated"
        string newest = new RunFolder(two).Checkpoints().First().File;
        var bytes = File.ReadAllBytes(newest);
        bytes[0] ^= 0xFF;
        File.WriteAllBytes(newest, bytes);
        var flipped = Run("eval", "--run", two, "--episodes", "1");
        Assert.Equal(0, flipped.Code); // the older checkpoint loads
        Assert.Contains($"{newest} is not a PurePg checkpoint: it does not start with PUREPGCK", flipped.Err);
        Assert.DoesNotContain("truncated", flipped.Err);
        // checkpoints of 2 copies in a run of 4: each refusal names its file and the run's shape
        foreach (var f in Directory.GetFiles(Path.Combine(four, "checkpoints"))) File.Delete(f);
        foreach (var (_, f) in new RunFolder(two).Checkpoints().Skip(1)) File.Copy(f, Path.Combine(four, "checkpoints", Path.GetFileName(f)));
        var foreign = Run("eval", "--run", four, "--episodes", "1");
        Assert.Equal(1, foreign.Code);
        var copied = Directory.GetFiles(Path.Combine(four, "checkpoints"));
        Assert.All(copied, f => Assert.Contains($"{f} does not fit this run (a2c, 4 copies of CartPole-v1)", foreign.Err));
    }

    [Fact]
    public void Metrics_carry_a_rolling_mean_and_wall_time_across_a_resume_and_eval_is_written_and_says_its_mode()
    {
        var trained = Run(["train", .. SmallPpo, "--steps", "2048", "--out", _root]);
        Assert.True(trained.Code == 0, trained.Err);
        string run = RunFolderOf(trained.Out);
        var resumed = Run("resume", "--run", run, "--steps", "1024");
        Assert.True(resumed.Code == 0, resumed.Err);
        var m = Metrics(run);
        int firstEpisode = Array.FindIndex(m["episodes"], e => e > 0);
        Assert.True(firstEpisode >= 0);
        for (int i = firstEpisode; i < m["steps"].Length; i++)
        {
            Assert.True(double.IsFinite(m["ep_return_mean"][i]), $"row {i} has no rolling return");
            Assert.True(m["episodes"][i] >= m["episodes"][Math.Max(0, i - 1)]);
            if (i > 0) Assert.True(m["wall_time_s"][i] >= m["wall_time_s"][i - 1], "wall time went backwards across the resume");
        }
        // the rolling mean over the last 100 episodes equals the returns the episodes had (checked against iteration means
        // while fewer than 100 episodes have ended: the episode-weighted mean of the iteration means)
        int upTo = Array.FindLastIndex(m["episodes"], e => e <= 100);
        double weighted = 0, count = 0;
        for (int i = 0; i <= upTo; i++)
            if (m["iter_episodes"][i] > 0) { weighted += m["iter_return_mean"][i] * m["iter_episodes"][i]; count += m["iter_episodes"][i]; }
        Assert.Equal(weighted / count, m["ep_return_mean"][upTo], 9);
        var evaluation = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "eval.json")))!;
        Assert.Equal(3072, evaluation["steps"]!.GetValue<long>());
        Assert.True(evaluation["deterministic"]!.GetValue<bool>());
        Assert.Contains("stochastic", Run("eval", "--run", run, "--episodes", "2").Out);
        Assert.Contains("deterministic", Run("eval", "--run", run, "--episodes", "2", "--deterministic").Out);
    }

    [Fact]
    public void Evaluation_during_training_keeps_the_best_policy_and_stops_at_the_threshold()
    {
        string config = Path.Combine(AppContext.BaseDirectory, "configs", "ppo-CartPole-v1.json");
        var trained = Run("train", "--env", "CartPole-v1", "--algo", "ppo", "--config", config, "--eval-every", "8192", "--eval-episodes", "5",
            "--stop-at-threshold", "--keep", "2", "--out", _root);
        Assert.True(trained.Code == 0, trained.Err);
        Assert.Contains("reached the threshold 475", trained.Out);
        string run = RunFolderOf(trained.Out);
        var m = Metrics(run);
        Assert.True(m["steps"][^1] < 100_000, "the run did not stop at the threshold");
        var evaluated = Enumerable.Range(0, m["steps"].Length).Where(i => double.IsFinite(m["eval_return_mean"][i])).ToArray();
        Assert.Equal((int)(m["steps"][^1] / 8192), evaluated.Length); // one evaluation per 8,192 steps crossed
        Assert.True(m["eval_return_mean"][evaluated[^1]] >= 475);
        Assert.True(evaluated.Take(evaluated.Length - 1).All(i => m["eval_return_mean"][i] < 475));
        Assert.Equal(2, new RunFolder(run).Checkpoints().Count());
        Assert.True(File.Exists(Path.Combine(run, "checkpoints", "best.ckpt")));
        var best = Run("eval", "--run", run, "--best", "--episodes", "5", "--deterministic", "--json");
        Assert.True(best.Code == 0, best.Err);
        Assert.Equal((long)m["steps"][evaluated[^1]], JsonNode.Parse(best.Out)!["steps"]!.GetValue<long>());
        string svg = File.ReadAllText(Path.Combine(run, "curve.svg"));
        Assert.Contains("evaluation (deterministic)", svg);
        Assert.Contains("mean of last 100 episodes", svg);
    }

    [Fact]
    public void The_progress_line_fits_80_columns()
    {
        var trained = Run(["train", .. SmallPpo, "--steps", "1024", "--eval-every", "512", "--out", _root]);
        Assert.True(trained.Code == 0, trained.Err);
        var lines = trained.Out.Split('\n').Where(l => l.Contains("/s ")).ToArray();
        Assert.NotEmpty(lines);
        Assert.All(lines, l => Assert.True(l.TrimEnd().Length <= 80, $"{l.Length} columns: {l}"));
    }

    [Fact]
    public void Value_targets_without_variance_give_an_empty_explained_variance_and_training_goes_on()
    {
        // one-step episodes with reward 0: every target R is 0, Var[R] = 0, and 1 − Var[R − V]/Var[R] is undefined
        if (!PurePg.Envs.EnvRegistry.All.Any(s => s.Id == "Test/Flat-v0"))
            PurePg.Envs.EnvRegistry.Register(new("Test/Flat-v0", null, null, "one step, reward 0", () => new Flat()));
        var trained = Run("train", "--env", "Test/Flat-v0", "--algo", "a2c", "--steps", "200", "--out", _root);
        Assert.True(trained.Code == 0, trained.Err);
        var m = Metrics(RunFolderOf(trained.Out));
        Assert.Equal(200, m["steps"][^1]);
        Assert.All(m["explained_variance"], v => Assert.True(double.IsNaN(v))); // written as an empty cell
    }

    private sealed class Flat() : PurePg.Envs.Env(new PurePg.Envs.Box([-1f], [1f]), new PurePg.Envs.Discrete(2))
    {
        protected override void ResetCore(PurePg.Envs.Random.NumpyRandom random, Span<float> observation) => observation[0] = 0.5f;
        protected override (double Reward, bool Terminated) StepCore(int action, PurePg.Envs.Random.NumpyRandom random, Span<float> observation)
        {
            observation[0] = 0.5f;
            return (0.0, true);
        }
    }

    [Theory]
    [InlineData("Pendulum-v1", "ppo")]
    [InlineData("Acrobot-v1", "a2c")]
    public async Task A_saved_policy_predicts_the_same_actions_bit_for_bit_in_a_new_process(string env, string algo)
    {
        var trained = Run("train", "--env", env, "--algo", algo, "--envs", "2", "--steps", "512", "--normalize", "--eval-every", "256", "--eval-episodes", "1",
            "--set", "StepsPerEnv=64", "--out", _root);
        Assert.True(trained.Code == 0, trained.Err);
        string run = RunFolderOf(trained.Out);
        Assert.True(File.Exists(Path.Combine(run, "policy.pgp")) && File.Exists(Path.Combine(run, "best.pgp")));
        var policy = PurePg.Rl.Policies.TrainedPolicy.Load(run); // a run folder: its best policy
        Assert.True(policy.NormalizesObservations);
        var rng = new Random(11);
        var lines = new List<string>();
        var expected = new List<string>();
        var action = new float[policy.ActionSpace is PurePg.Envs.Box b ? b.Size : 0];
        for (int i = 0; i < 200; i++)
        {
            var obs = Enumerable.Range(0, policy.ObservationSize).Select(_ => (float)(rng.NextDouble() * 6 - 3)).ToArray();
            lines.Add(string.Join(",", obs.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))));
            if (action.Length == 0) expected.Add(policy.Predict(obs).ToString(System.Globalization.CultureInfo.InvariantCulture));
            else
            {
                policy.Predict(obs, action);
                expected.Add(string.Join(",", action.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))));
            }
        }
        string dll = Path.Combine(AppContext.BaseDirectory, "purepg.dll");
        var start = new System.Diagnostics.ProcessStartInfo("dotnet", ["exec", dll, "predict", "--policy", run])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        foreach (var line in lines) process.StandardInput.WriteLine(line);
        process.StandardInput.Close();
        string printed = await output;
        Assert.True(process.WaitForExit(60_000));
        Assert.True(process.ExitCode == 0, await process.StandardError.ReadToEndAsync());
        Assert.Equal(expected, printed.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList());
    }

    [Fact]
    public void Export_writes_an_ONNX_model_of_the_runs_policy_and_refuses_a_folder_that_is_not_a_run()
    {
        var trained = Run(["train", .. SmallPpo, "--steps", "512", "--out", _root]);
        string run = RunFolderOf(trained.Out), onnx = Path.Combine(_root, "policy.onnx");
        var exported = Run("export", "--run", run, "--onnx", onnx);
        Assert.True(exported.Code == 0, exported.Err);
        Assert.Contains("outputs logits, probs, action", exported.Out);
        Assert.True(new FileInfo(onnx).Length > 4 * 4000); // θ of a 4-64-64-2 network is 4,610 floats
        var mlAgents = Run("export", "--run", run, "--onnx", Path.Combine(_root, "ml-agents.onnx"), "--ml-agents");
        Assert.True(mlAgents.Code == 0, mlAgents.Err);
        Assert.Contains("ML-Agents model API 3: inputs obs_0 [batch, 4], action_masks", mlAgents.Out);
        var notRun = Run("export", "--run", _root, "--onnx", onnx);
        Assert.Equal(1, notRun.Code);
        Assert.Contains("is not a run folder", notRun.Err);
        var noBest = Run("export", "--run", run, "--best", "--onnx", onnx);
        Assert.Equal(1, noBest.Code);
        Assert.Contains("trained without --eval-every", noBest.Err);
        File.WriteAllText(Path.Combine(run, "policy.pgp"), "damaged");
        var damaged = Run("export", "--run", run, "--onnx", onnx);
        Assert.Equal(1, damaged.Code);
        Assert.Contains("policy.pgp is truncated", damaged.Err);
    }

    [Theory]
    [InlineData(9.3, 500, new[] { 0.0, 100, 200, 300, 400, 500 })]
    [InlineData(-16.6, 254, new[] { -100.0, 0, 100, 200, 300 })]
    [InlineData(0, 37_490, new[] { 0.0, 10_000, 20_000, 30_000, 40_000 })]
    [InlineData(-500, -80, new[] { -500.0, -400, -300, -200, -100, 0 })]
    [InlineData(0.12, 0.57, new[] { 0.1, 0.2, 0.3, 0.4, 0.5, 0.6 })]
    public void Curve_ticks_are_1_2_5_multiples_that_cover_the_data(double lo, double hi, double[] expected)
    {
        var (ticks, _) = Curve.Ticks(lo, hi);
        Assert.Equal(expected, ticks);
    }

    [Fact]
    public void Curve_labels_are_round_and_a_resume_is_marked()
    {
        Assert.Equal("20k", Curve.Label(20_000, 10_000));
        Assert.Equal("1.5M", Curve.Label(1_500_000, 500_000));
        Assert.Equal("0.3", Curve.Label(0.30000000000000004, 0.1));
        Assert.Equal("-50", Curve.Label(-50, 50));
        var trained = Run(["train", .. SmallPpo, "--steps", "1024", "--out", _root]);
        string run = RunFolderOf(trained.Out);
        Assert.DoesNotContain(">resumed<", File.ReadAllText(Path.Combine(run, "curve.svg")));
        Assert.Equal(0, Run("resume", "--run", run, "--steps", "512").Code);
        Assert.Contains(">resumed<", File.ReadAllText(Path.Combine(run, "curve.svg")));
        Assert.Equal([1024L], ConfigOf(run)["resumes"]!.AsArray().Select(n => n!.GetValue<long>()));
    }
}

[Collection("console")]
public class RunProgressTests
{
    [Fact]
    public void A_checkpoint_whose_state_is_damaged_behind_a_valid_checksum_is_refused_in_one_line()
    {
        string root = Directory.CreateTempSubdirectory("purepg-fuzz-").FullName;
        try
        {
            var trained = Run("train", "--env", "Pendulum-v1", "--algo", "ppo", "--envs", "2", "--set", "StepsPerEnv=32", "--set", "BatchSize=32",
                "--set", "Epochs=1", "--steps", "64", "--normalize", "--checkpoints", "1", "--out", root);
            Assert.True(trained.Code == 0, trained.Err);
            string run = RunFolderOf(trained.Out);
            var newest = new RunFolder(run).Checkpoints().First().File;
            byte[] valid = File.ReadAllBytes(newest), body = valid[..^32];
            foreach (var (_, f) in new RunFolder(run).Checkpoints()) File.Delete(f);
            // the layout Checkpoint.Write makes: magic, version, header (7-bit length prefix), state length, state
            int at = 12, headerLength = 0, shift = 0;
            while (true) { byte b = body[at++]; headerLength |= (b & 0x7F) << shift; shift += 7; if (b < 0x80) break; }
            int stateAt = at + headerLength + 8;
            byte[] prefix = body[..(stateAt - 8)], state = body[stateAt..];
            var rng = new Random(7);
            int refused = 0, mustRefuse = 0;
            for (int k = 0; k < 60; k++)
            {
                byte[] damaged = (byte[])state.Clone();
                switch (k % 3)
                {
                    case 0: // a flipped bit anywhere in the state: loads (a changed number) or is refused (a count, a flag)
                        damaged[rng.Next(damaged.Length)] ^= (byte)(1 << rng.Next(8));
                        break;
                    case 1: // cut short
                        damaged = damaged[..rng.Next(damaged.Length)];
                        mustRefuse++;
                        break;
                    default: // bytes after the end
                        damaged = [.. damaged, .. Enumerable.Range(0, 1 + rng.Next(16)).Select(_ => (byte)rng.Next(256))];
                        mustRefuse++;
                        break;
                }
                byte[] file = [.. prefix, .. BitConverter.GetBytes((long)damaged.Length), .. damaged];
                File.WriteAllBytes(newest, [.. file, .. System.Security.Cryptography.SHA256.HashData(file)]);
                var eval = Run("eval", "--run", run, "--episodes", "1");
                Assert.True(eval.Code is 0 or 1, $"case {k}: exit {eval.Code}: {eval.Err}");
                Assert.DoesNotContain("   at ", eval.Err);
                if (k % 3 != 0) Assert.True(eval.Code == 1, $"case {k}: a state of {damaged.Length} bytes (valid: {state.Length}) was loaded");
                if (eval.Code == 1) Assert.All(eval.Err.Trim().Split('\n'), line => Assert.StartsWith("purepg: ", line));
                refused += eval.Code;
            }
            Assert.InRange(refused, mustRefuse, 60);
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact]
    public void The_rolling_statistics_cover_the_last_100_episodes_and_survive_a_checkpoint_header()
    {
        var progress = new RunProgress { WallSeconds = 12.5, Evaluations = 3, BestEvaluation = 400, BestEvaluationSteps = 9000 };
        var episodes = Enumerable.Range(1, 250).Select(k => new PurePg.Rl.Rollouts.EpisodeStatistics(k, 2 * k)).ToArray();
        progress.Add(episodes);
        var (mean, std, length) = progress.Rolling();
        var last = episodes[^100..].Select(e => e.Return).ToArray();   // 151 … 250
        Assert.Equal(last.Average(), mean, 12);
        Assert.Equal(Math.Sqrt(last.Average(r => (r - last.Average()) * (r - last.Average()))), std, 12);
        Assert.Equal(2 * last.Average(), length, 12);
        Assert.Equal(250, progress.Episodes);
        var header = new JsonObject();
        progress.WriteTo(header);
        var restored = RunProgress.ReadFrom(JsonNode.Parse(header.ToJsonString())!);
        Assert.Equal(progress.Rolling(), restored.Rolling());
        Assert.Equal((250L, 12.5, 3, (double?)400, 9000L), (restored.Episodes, restored.WallSeconds, restored.Evaluations, restored.BestEvaluation, restored.BestEvaluationSteps));
    }
}
