using PurePg.Envs;
using PurePg.Envs.Vector;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Policies;
using PurePg.Rl.Training;

namespace PurePg.Cli.Tests;

[Collection("console")] // it changes the working directory
public class ReadmeLibraryExampleTests
{
    [Fact]
    public void The_README_library_example_compiles_and_learns()
    {
        Directory.SetCurrentDirectory(Directory.CreateTempSubdirectory("purepg-readme-").FullName);
        var progress = new StringWriter();
        // copied from README.md ("Using the library from C#"); Console.Out → progress
        var settings = new PpoSettings { NumEnvs = 8, StepsPerEnv = 32, BatchSize = 256, Epochs = 20, GaeLambda = 0.8,
                                         Gamma = 0.98, LearningRate = 1e-3, AnnealLearningRate = true };
        var evalCallback = new EvaluationCallback(EnvRegistry.Make("CartPole-v1"), every: 10_000) { StopAtThreshold = 475 };

        var model = new Ppo(new CartPoleVectorEnv(8), settings).Learn(100_000, [evalCallback, new ProgressCallback(progress)]);
        TrainedPolicy.From(model, "CartPole-v1").Save("ppo_cartpole.pgp");
        var policy = TrainedPolicy.Load("ppo_cartpole.pgp");          // also a run folder of the program: its best policy
        int action = policy.Predict(EnvRegistry.Make("CartPole-v1").Reset(seed: 0), deterministic: true);
        var (mean, std, _, _) = Evaluation.Evaluate(policy, EnvRegistry.Make("CartPole-v1"), episodes: 20);
        // end of the copy
        Assert.True(mean >= 475, $"{mean} ± {std}\n{progress}");
        Assert.InRange(action, 0, 1);
    }
}
