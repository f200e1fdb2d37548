using System.Text.Json.Nodes;
using PurePg.Rl.Imitation;

namespace PurePg.Cli.Tests;

/// <summary><c>purepg record</c> and <c>purepg train --init-from-bc</c>: demonstrations from the scripted expert and from
/// a run's policy, a PPO run started from the clone (it evaluates at the threshold before its first policy update, the
/// value warm-up's steps counted), its record in config.json and bc.csv, a resumed BC run that does not clone again, and
/// every bad input refused in one line before a run folder is made.</summary>
[Collection("console")]
public class BehaviourCloningCliTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("purepg-bc-cli-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Demos(string env = "CartPole-v1", int episodes = 10)
    {
        string file = Path.Combine(_root, $"{env.Replace('/', '_')}-{episodes}.bin");
        var (code, output, error) = Cli.Run("record", "--expert", "scripted", "--env", env, "--episodes", episodes.ToString(), "--out", file);
        Assert.True(code == 0, error);
        Assert.Contains($"{episodes} episodes", output);
        return file;
    }

    [Fact]
    public void A_ppo_run_starts_from_the_clone_of_ten_scripted_episodes_at_the_threshold()
    {
        string demos = Demos();
        Assert.Equal(5_000, Demonstrations.Load(demos).Steps);
        string runs = Path.Combine(_root, "runs");
        var (code, output, error) = Cli.Run("train", "--env", "CartPole-v1", "--algo", "ppo", "--init-from-bc", demos, "--bc-epochs", "30",
            "--value-warmup", "1", "--set", "StepsPerEnv=64", "--set", "BatchSize=128", "--envs", "4", "--steps", "512", "--eval-every", "256",
            "--eval-episodes", "5", "--out", runs);
        Assert.True(code == 0, error + output);
        Assert.Contains("behaviour cloning on 10 episodes (5,000 steps, mean return 500.0)", output);
        Assert.Contains("value warm-up: 1 value-only iterations (256 steps)", output);
        string run = Cli.RunFolderOf(output);
        // the first evaluation during training, after one policy update, is the clone's: at the threshold
        var eval = Cli.Metrics(run)["eval_return_mean"].Where(double.IsFinite).ToArray();
        Assert.True(eval[0] >= 475, $"first evaluation {eval[0]}");
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "config.json")))!;
        Assert.Equal(Path.GetFullPath(demos), config["init_from_bc"]!["file"]!.GetValue<string>());
        Assert.Equal(30, config["init_from_bc"]!["epochs"]!.GetValue<int>());
        var bcCsv = File.ReadAllLines(Path.Combine(run, "bc.csv"));
        Assert.Equal("epoch,train_loss,heldout_loss,heldout_accuracy", bcCsv[0]);
        Assert.Equal(31, bcCsv.Length);
        Assert.True(double.Parse(bcCsv[^1].Split(',')[3], System.Globalization.CultureInfo.InvariantCulture) > 0.95);

        // a resume continues from the checkpoint (the clone is in θ) and does not clone again
        var (resumed, resumeOut, resumeErr) = Cli.Run("resume", "--run", run, "--steps", "256");
        Assert.True(resumed == 0, resumeErr);
        Assert.DoesNotContain("behaviour cloning", resumeOut);

        // the trained policy records demonstrations too (its mode), named as the expert
        string fromRun = Path.Combine(_root, "from-run.bin");
        var (recorded, recordOut, recordErr) = Cli.Run("record", "--run", run, "--episodes", "2", "--out", fromRun, "--seed", "3");
        Assert.True(recorded == 0, recordErr);
        Assert.Contains("policy.pgp (ppo,", Demonstrations.Load(fromRun).Expert);
        Assert.Contains("deterministic", recordOut);
    }

    [Fact]
    public void Bad_bc_inputs_are_refused_in_one_line_before_a_run_folder_is_made()
    {
        string demos = Demos("MountainCar-v0", 1);
        string damaged = Path.Combine(_root, "damaged.bin");
        var bytes = File.ReadAllBytes(demos);
        bytes[100] ^= 1;
        File.WriteAllBytes(damaged, bytes);
        string runs = Path.Combine(_root, "runs");
        (string[] Args, string Message)[] cases =
        [
            (["--env", "CartPole-v1", "--algo", "ppo", "--init-from-bc", demos], "recorded on MountainCar-v0, not CartPole-v1"),
            (["--env", "MountainCar-v0", "--algo", "ppo", "--init-from-bc", damaged], "fails its checksum"),
            (["--env", "MountainCar-v0", "--algo", "ppo", "--init-from-bc", Path.Combine(_root, "none.bin")], "No demonstrations file"),
            (["--env", "MountainCar-v0", "--algo", "a2c", "--init-from-bc", demos, "--value-warmup", "2"], "--value-warmup is PPO's"),
            (["--env", "MountainCar-v0", "--algo", "ppo", "--value-warmup", "2"], "go with --init-from-bc"),
            (["--env", "MountainCar-v0", "--algo", "es", "--init-from-bc", demos], "not es"),
            (["--env", "MountainCar-v0", "--algo", "ppo", "--init-from-bc", demos, "--bc-epochs", "0"], "--bc-epochs"),
        ];
        foreach (var (args, message) in cases)
        {
            var (code, _, error) = Cli.Run(["train", .. args, "--out", runs]);
            Assert.Equal(1, code);
            Assert.Contains(message, error);
            Assert.Single(error.Trim().Split('\n'));
        }
        Assert.False(Directory.Exists(runs));

        (string[] Args, string Message)[] records =
        [
            (["--expert", "scripted", "--env", "Pendulum-v1"], "No scripted expert for Pendulum-v1"),
            (["--expert", "oracle", "--env", "CartPole-v1"], "Unknown expert 'oracle'"),
            (["--expert", "scripted", "--env", "CartPole-v1", "--stochastic"], "deterministic"),
            (["--expert", "scripted", "--env", "CartPol-v1"], "CartPole-v1"),
            (["--policy", Path.Combine(_root, "none.pgp")], "No policy file"),
        ];
        foreach (var (args, message) in records)
        {
            var (code, _, error) = Cli.Run(["record", .. args, "--out", Path.Combine(_root, "x.bin")]);
            Assert.Equal(1, code);
            Assert.Contains(message, error);
        }
        Assert.False(File.Exists(Path.Combine(_root, "x.bin")));
    }
}
