using PurePg.Envs;
using PurePg.Envs.Random;
using static PurePg.Cli.Tests.Cli;

namespace PurePg.Cli.Tests;

// ---- copied from README.md ("Writing an environment") ----
[RegisterEnvironment("MyCorp/Line-v0", MaxEpisodeSteps = 50, RewardThreshold = 0.9, Description = "walk right to the end of a line")]
public sealed class Line : Env
{
    private const int Length = 10;
    private int _position;

    // observation: the position scaled to [0, 1]; actions: 0 = left, 1 = right
    public Line() : base(new Box([0f], [1f]), new Discrete(2)) { }

    protected override void ResetCore(NumpyRandom random, Span<float> observation)
    {
        _position = 0;
        observation[0] = 0;
    }

    protected override (double Reward, bool Terminated) StepCore(int action, NumpyRandom random, Span<float> observation)
    {
        _position = Math.Clamp(_position + (action == 1 ? 1 : -1), 0, Length - 1);
        observation[0] = _position / (float)(Length - 1);
        bool reached = _position == Length - 1;
        return (reached ? 1.0 : -0.01, reached); // the best return: 9 steps, 1 − 8 × 0.01 = 0.92
    }
}
// ---- end of the README's example ----

/// <summary>A user's environment, trained by the program from its assembly (here this test assembly).</summary>
[Collection("console")]
public class UserEnvironmentTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("purepg-user-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void The_program_trains_a_users_environment_from_its_assembly_to_the_optimum()
    {
        string assembly = typeof(Line).Assembly.Location;
        var trained = Run("train", "--env-assembly", assembly, "--env", "MyCorp/Line-v0", "--algo", "ppo", "--steps", "12288",
            "--set", "StepsPerEnv=64", "--set", "BatchSize=128", "--out", _root);
        Assert.True(trained.Code == 0, trained.Err);
        Assert.Contains("evaluation (20 episodes, deterministic): 0.9 ± 0.0 — solved (threshold 0.9)", trained.Out);
        string run = RunFolderOf(trained.Out);
        var eval = Run("eval", "--run", run, "--episodes", "3", "--deterministic", "--json"); // the run remembers the assembly
        Assert.True(eval.Code == 0, eval.Err);
        Assert.Equal(0.92, System.Text.Json.Nodes.JsonNode.Parse(eval.Out)!["mean"]!.GetValue<double>(), 9);
    }

    [Fact]
    public void A_missing_file_a_non_assembly_and_an_assembly_without_environments_are_one_line_errors()
    {
        string text = Path.Combine(_root, "notes.dll");
        File.WriteAllText(text, "not an assembly");
        (string Path, string Message)[] cases =
        [
            (Path.Combine(_root, "missing.dll"), "--env-assembly: no file"),
            (text, "is not a .NET assembly"),
            (typeof(PurePg.Rl.Algorithms.Ppo).Assembly.Location, "registers no environment"),
        ];
        foreach (var (path, message) in cases)
        {
            var (code, _, err) = Run("train", "--env-assembly", path, "--env", "MyCorp/Line-v0", "--algo", "ppo", "--out", _root);
            Assert.Equal(1, code);
            Assert.Contains(message, err);
            Assert.Single(err.Trim().Split('\n'));
        }
    }
}
