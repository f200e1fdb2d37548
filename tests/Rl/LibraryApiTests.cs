using PurePg.Autodiff;
using PurePg.Envs;
using PurePg.Envs.Vector;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Normalization;
using PurePg.Rl.Policies;
using PurePg.Rl.Training;

namespace PurePg.Rl.Tests;

/// <summary>The library at Stable-Baselines3's ease: Learn with callbacks, a policy file, Predict and Evaluate.</summary>
public class LibraryApiTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("purepg-api-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void The_SB3_four_lines_in_CSharp_learn_save_load_predict_and_evaluate()
    {
        string path = Path.Combine(_dir, "ppo_cartpole.pgp");
        // model = PPO("MlpPolicy", "CartPole-v1").learn(100_000, callback=eval_cb)
        var settings = new PpoSettings { NumEnvs = 8, StepsPerEnv = 32, BatchSize = 256, Epochs = 20, GaeLambda = 0.8, Gamma = 0.98, LearningRate = 1e-3,
                                         AnnealLearningRate = true };
        var evaluation = new EvaluationCallback(EnvRegistry.Make("CartPole-v1"), every: 10_000) { StopAtThreshold = 475 };
        var model = new Ppo(new CartPoleVectorEnv(8), settings).Learn(100_000, [evaluation]);
        // model.save("ppo_cartpole"); model = PPO.load("ppo_cartpole")
        TrainedPolicy.From(model, "CartPole-v1").Save(path);
        var policy = TrainedPolicy.Load(path);
        // action, _ = model.predict(obs, deterministic=True)
        var env = EnvRegistry.Make("CartPole-v1");
        int action = policy.Predict(env.Reset(seed: 3), deterministic: true);
        Assert.InRange(action, 0, 1);
        // mean, std = evaluate_policy(model, env, n_eval_episodes=20)
        var (mean, std, _, lengths) = Evaluation.Evaluate(policy, env, episodes: 20);
        Assert.True(mean >= 475, $"mean {mean} ± {std} after {model.TotalSteps} steps; evaluations {string.Join(", ", evaluation.History.Select(h => $"{h.Steps}: {h.Result.Mean:F0}"))}");
        Assert.Equal(20, lengths.Count);
        Assert.True(model.TotalSteps < 100_000 || evaluation.History[^1].Result.Mean < 475, "the threshold stop did not stop");
    }

    [Theory]
    [InlineData("CartPole-v1")]
    [InlineData("Pendulum-v1")]
    public void A_saved_policy_acts_as_the_trained_agent_does_with_its_normalization(string id)
    {
        var env = new NormalizedVectorEnv(new SyncVectorEnv(id, 2));
        IOnPolicyAlgorithm a2c = new A2c(env, new A2cSettings { NumEnvs = 2, Seed = 4 }).Learn(400);
        string path = Path.Combine(_dir, "a2c.pgp");
        TrainedPolicy.From(a2c, id).Save(path);
        var loaded = TrainedPolicy.Load(path);
        Assert.True(loaded.NormalizesObservations);
        Assert.Equal(a2c.Agent.Theta.Values.ToArray(), loaded.Parameters.ToArray());
        var rng = new Rng(8);
        var tape = new Tape<float>();
        int o = loaded.ObservationSize, d = a2c.Agent.ActionSize;
        for (int trial = 0; trial < 50; trial++)
        {
            float[] raw = Enumerable.Range(0, o).Select(_ => (float)(4 * rng.NextDouble() - 2)).ToArray(), z = new float[o];
            env.NormalizeObservation(raw, z);
            if (d == 0)
            {
                int[] expected = new int[1];
                a2c.Agent.Categorical!.Act(tape, z, rng, expected, new float[1], deterministic: true);
                Assert.Equal(expected[0], loaded.Predict(raw));
            }
            else
            {
                float[] expected = new float[d], got = new float[d];
                a2c.Agent.Gaussian!.Act(tape, z, rng, expected, new float[1], deterministic: true);
                loaded.Predict(raw, got);
                Assert.Equal(expected.Select(x => Math.Clamp(x, -2f, 2f)).ToArray(), got); // clipped to Pendulum's torque range
            }
        }
    }

    [Fact]
    public void The_TensorBoard_callback_logs_SB3_tags_at_environment_steps()
    {
        var tensorBoard = new TensorBoardCallback(Path.Combine(_dir, "tb"));
        new Ppo(new CartPoleVectorEnv(2), new PpoSettings { NumEnvs = 2, StepsPerEnv = 64, BatchSize = 64, Epochs = 1 }).Learn(512, [tensorBoard]);
        byte[] file = File.ReadAllBytes(tensorBoard.Path!);
        string text = System.Text.Encoding.UTF8.GetString(file);
        foreach (string tag in new[] { "brain.Event:2", "rollout/ep_rew_mean", "rollout/ep_len_mean", "time/fps", "train/approx_kl", "train/entropy_loss" })
            Assert.Contains(tag, text);
        Assert.Equal(4, System.Text.RegularExpressions.Regex.Matches(text, "train/approx_kl").Count); // one per iteration of 128 steps
    }

    [Fact]
    public void An_A3C_policy_keeps_its_action_bounds_though_A3C_has_no_vector_env()
    {
        var a3c = new A3c(() => EnvRegistry.Make("Pendulum-v1"), new A3cSettings { Workers = 1 });
        var policy = TrainedPolicy.From(a3c, "Pendulum-v1");
        var box = Assert.IsType<Box>(policy.ActionSpace);
        Assert.Equal([-2f], box.Low.ToArray());
        Assert.Equal([2f], box.High.ToArray());
    }

    [Fact]
    public void Predicting_allocates_nothing_after_the_first_call()
    {
        var policy = TrainedPolicy.From(new Ppo(new CartPoleVectorEnv(1), new PpoSettings { StepsPerEnv = 64 }), "CartPole-v1");
        float[] obs = [0.01f, -0.2f, 0.03f, 0.1f];
        int[] batch = new int[8];
        float[] observations = new float[32];
        int i = 0;
        Allocations.NoneInSteadyState(() =>
        {
            policy.Predict(obs, deterministic: i++ % 2 == 0);
            policy.Predict(observations, batch);
        }, calls: 1000, warmUp: 1, what: "Predict calls (one observation and a batch of 8)");
    }

    [Fact]
    public void A_damaged_or_foreign_policy_file_is_refused_naming_the_file_and_the_fault()
    {
        string path = Path.Combine(_dir, "p.pgp");
        TrainedPolicy.From(new A2c(new CartPoleVectorEnv(8), new A2cSettings()), "CartPole-v1").Save(path);
        byte[] valid = File.ReadAllBytes(path);
        Assert.Equal(TrainedPolicy.Load(path).Parameters.ToArray(), TrainedPolicy.Load(path).Parameters.ToArray());
        (byte[] Bytes, string Message)[] cases =
        [
            (valid[..(valid.Length / 2)], "fails its checksum"),
            (valid[..10], "is truncated"),
            ([.. "PUREPGCK"u8, .. valid[8..]], "is not a PurePg policy file"),
            (Flip(valid, valid.Length / 2), "fails its checksum"),
        ];
        foreach (var (bytes, message) in cases)
        {
            File.WriteAllBytes(path, bytes);
            var e = Assert.Throws<InvalidDataException>(() => TrainedPolicy.Load(path));
            Assert.Contains(path, e.Message);
            Assert.Contains(message, e.Message);
        }
        Assert.Throws<FileNotFoundException>(() => TrainedPolicy.Load(Path.Combine(_dir, "none.pgp")));
        var folder = Assert.Throws<FileNotFoundException>(() => TrainedPolicy.Load(_dir));
        Assert.Contains("holds no policy file", folder.Message);
    }

    private static byte[] Flip(byte[] bytes, int at)
    {
        var copy = (byte[])bytes.Clone();
        copy[at] ^= 0x10;
        return copy;
    }

    [Fact]
    public void Learn_plans_the_run_calls_back_stops_and_cancels()
    {
        var ppo = new Ppo(new CartPoleVectorEnv(2), new PpoSettings { NumEnvs = 2, StepsPerEnv = 64, BatchSize = 64, Epochs = 1, AnnealLearningRate = true });
        ppo.Learn(256);
        Assert.Equal(256, ppo.TotalSteps);
        Assert.Equal(256, ppo.PlannedSteps);
        ppo.Learn(256); // continues: the plan moves to 512, the rate goes on from where it is
        Assert.Equal(512, ppo.PlannedSteps);
        var counter = new Counting(stopAfter: 2);
        ppo.Learn(10_000, [counter]);
        Assert.Equal((1, 2, 1), (counter.Starts, counter.Iterations, counter.Ends));
        Assert.Equal(512 + 2 * 128, ppo.TotalSteps);
        Assert.True(counter.Episodes > 0);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Throws<OperationCanceledException>(() => ppo.Learn(1_000, [counter], cancelled.Token));
        Assert.Equal(2, counter.Ends); // OnEnd runs on cancellation too
    }

    private sealed class Counting(int stopAfter) : TrainingCallback
    {
        public int Starts, Iterations, Ends, Episodes;
        public override void OnStart(IOnPolicyAlgorithm algorithm) => Starts++;
        public override bool OnEpisode(IOnPolicyAlgorithm algorithm, Rollouts.EpisodeStatistics episode) { Episodes++; return true; }
        public override bool OnIteration(IOnPolicyAlgorithm algorithm, IterationMetrics metrics) => ++Iterations < stopAfter;
        public override void OnEnd(IOnPolicyAlgorithm algorithm) => Ends++;
    }
}
