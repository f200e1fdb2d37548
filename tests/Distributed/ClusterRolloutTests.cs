using Orleans.TestingHost;
using PurePg.Envs;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Rollouts;
using PurePg.Rl.Training;

namespace PurePg.Distributed.Tests;

/// <summary>
/// PPO, A2C and TRPO with their rollouts stepped by worker grains on an in-process Orleans cluster (TestingHost,
/// loopback): bit-identical to one process with the same number of copies, whatever the number of workers; a silo killed
/// while a rollout is under way loses requests that are sent again, and the run stays bit-identical; a learner restarted
/// from its saved state carries on as if it had never stopped; an environment that throws stops the run with its message.
/// </summary>
public class ClusterRolloutTests
{
    static ClusterRolloutTests()
    {
        TestEnvs.Ensure();
        ThreadPool.SetMinThreads(32, 32); // sleeping test simulators on the in-process silos
    }

    private static Task<TestCluster> Start(int silos) => TestClusters.Start(silos);

    private static PpoSettings Ppo(int envs, int steps) =>
        new() { NumEnvs = envs, StepsPerEnv = steps, BatchSize = envs * steps / 4, Epochs = 3, HiddenSizes = [16, 16], Seed = 5, LearningRate = 1e-3 };

    private static void SameRun(IOnPolicyAlgorithm expected, IOnPolicyAlgorithm actual, int iterations)
    {
        for (int k = 0; k < iterations; k++)
        {
            var (e, a) = (expected.Iterate(), actual.Iterate());
            Assert.Equal(e.Episodes, a.Episodes);
            Assert.Equal(e.Losses, a.Losses); // every loss and diagnostic, to the bit
        }
        Assert.Equal(expected.Agent.Theta.Values.ToArray(), actual.Agent.Theta.Values.ToArray());
        Assert.Equal(expected.Agent.Phi.Values.ToArray(), actual.Agent.Phi.Values.ToArray());
        Assert.Equal(expected.TotalSteps, actual.TotalSteps);
    }

    private static ClusterRolloutSource Source(TestCluster cluster, string env, int envs, int steps, int workers, WorkerCallOptions? options = null) =>
        new(cluster.Client, env, envs, steps, [16, 16], PurePg.Autodiff.Modules.Activation.Tanh, workers, options);

    [Fact]
    public async Task Ppo_a2c_and_trpo_on_worker_grains_are_bit_identical_to_one_process()
    {
        var cluster = await Start(3);
        try
        {
            foreach (int workers in new[] { 3, 8 })
            {
                var settings = Ppo(8, 32);
                var source = Source(cluster, "CartPole-v1", 8, 32, workers);
                SameRun(new Ppo(AlgorithmCatalog.MakeVectorEnv("CartPole-v1", 8), settings), new Ppo(source, settings), 4);
                Assert.Equal(4, source.Version);
                Assert.Equal(0, source.Retries);
            }
            var a2c = new A2cSettings { NumEnvs = 4, StepsPerEnv = 5, HiddenSizes = [16, 16], Seed = 2 };
            SameRun(new A2c(AlgorithmCatalog.MakeVectorEnv("Acrobot-v1", 4), a2c), new A2c(Source(cluster, "Acrobot-v1", 4, 5, 3), a2c), 6);
            var trpo = new TrpoSettings { NumEnvs = 3, StepsPerEnv = 64, HiddenSizes = [16, 16], Seed = 4 };
            SameRun(new Trpo(AlgorithmCatalog.MakeVectorEnv("Pendulum-v1", 3), trpo), new Trpo(Source(cluster, "Pendulum-v1", 3, 64, 2), trpo), 3);
        }
        finally { await cluster.StopAllSilosAsync(); await cluster.DisposeAsync(); }
    }

    [Fact]
    public async Task A_silo_killed_mid_rollout_loses_nothing_and_the_run_stays_bit_identical()
    {
        var cluster = await Start(3);
        try
        {
            const int envs = 6, steps = 20, workers = 6;
            var settings = Ppo(envs, steps);
            var local = new Ppo(AlgorithmCatalog.MakeVectorEnv(TestEnvs.Slow, envs), settings);
            var source = Source(cluster, TestEnvs.Slow, envs, steps, workers, new WorkerCallOptions { Timeout = TimeSpan.FromSeconds(3), Attempts = 4 });
            var remote = new Ppo(source, settings);
            SameRun(local, remote, 1);
            // a secondary silo that hosts workers (placement is random: 6 workers on 3 silos)
            var where = await Task.WhenAll(Enumerable.Range(0, workers).Select(w => cluster.Client.GetGrain<IRolloutWorkerGrain>(w).Silo()));
            var doomed = cluster.SecondarySilos.First(s => where.Contains(s.SiloAddress.ToString()));
            // kill it while rollout 2 is under way: once every block has taken 2 of its 20 steps of 10 ms
            int before = Volatile.Read(ref TestEnvs.Steps);
            var iteration = Task.Run(remote.Iterate);
            var started = System.Diagnostics.Stopwatch.StartNew();
            while (Volatile.Read(ref TestEnvs.Steps) < before + 2 * workers && started.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(2);
            Assert.False(iteration.IsCompleted);
            await cluster.KillSiloAsync(doomed);
            var metrics = await iteration;
            var expected = local.Iterate();
            Assert.Equal(expected.Episodes, metrics.Episodes);
            Assert.Equal(expected.Losses, metrics.Losses);
            Assert.True(source.Retries > 0, "the kill should have lost at least one request in flight");
            SameRun(local, remote, 1);
        }
        finally { await cluster.StopAllSilosAsync(); await cluster.DisposeAsync(); }
    }

    [Fact]
    public async Task A_restarted_learner_resumes_from_its_saved_state_and_the_workers_follow_its_version()
    {
        var cluster = await Start(2);
        try
        {
            var settings = Ppo(6, 16);
            var local = new Ppo(AlgorithmCatalog.MakeVectorEnv("CartPole-v1", 6), settings);
            var first = new Ppo(Source(cluster, "CartPole-v1", 6, 16, 3), settings);
            SameRun(local, first, 2);
            using var saved = new MemoryStream();
            using (var w = new BinaryWriter(saved, System.Text.Encoding.UTF8, leaveOpen: true)) first.WriteState(w);
            // a new learner process: new source, new algorithm, the saved state — the same grains, which still hold version 2
            var source = Source(cluster, "CartPole-v1", 6, 16, 3);
            var second = new Ppo(source, settings);
            saved.Position = 0;
            using (var r = new BinaryReader(saved)) second.ReadState(r);
            Assert.Equal(2, source.Version);
            SameRun(local, second, 2);
            Assert.Equal(4, source.Version);
        }
        finally { await cluster.StopAllSilosAsync(); await cluster.DisposeAsync(); }
    }

    [Fact]
    public async Task An_environment_that_throws_stops_the_run_with_its_message_and_a_block_of_another_size_is_refused()
    {
        var cluster = await Start(1);
        try
        {
            var settings = Ppo(4, 8);
            var failing = Source(cluster, TestEnvs.Failing, 4, 8, 2);
            var e = Assert.Throws<InvalidOperationException>(() => new Ppo(failing, settings).Iterate());
            Assert.Contains("the simulator failed at step 3", e.Message);
            Assert.Equal(0, failing.Retries); // not a loss: not sent again

            var mismatch = Assert.Throws<ArgumentException>(() => new Ppo(Source(cluster, "CartPole-v1", 4, 9, 2), settings));
            Assert.Contains("steps 9 times per copy but StepsPerEnv = 8", mismatch.Message);
            Assert.Throws<ArgumentException>(() => Source(cluster, "CartPole-v1", 2, 8, 3)); // more workers than copies
        }
        finally { await cluster.StopAllSilosAsync(); await cluster.DisposeAsync(); }
    }

    [Fact]
    public async Task The_READMEs_rollout_example_runs_and_matches_one_process()
    {
        var cluster = await Start(2);
        try
        {
            var client = cluster.Client;
            // copied from README.md ("Training on a cluster")
            var ppoSettings = new PpoSettings { NumEnvs = 8, Seed = 1 };
            var rollouts = new ClusterRolloutSource(client, "CartPole-v1", 8, ppoSettings.StepsPerEnv, ppoSettings.HiddenSizes,
                ppoSettings.Activation, workers: 4);                                          // 4 blocks of 2 copies
            var ppo = new Ppo(rollouts, ppoSettings);                                         // or A2c, Trpo, NaturalPolicyGradient
            SameRun(new Ppo(AlgorithmCatalog.MakeVectorEnv("CartPole-v1", 8), ppoSettings), ppo, 1);
            Assert.Equal(8 * 2048, ppo.TotalSteps);
        }
        finally { await cluster.StopAllSilosAsync(); await cluster.DisposeAsync(); }
    }

    [Fact]
    public async Task Asynchronous_impala_on_worker_grains_solves_CartPole()
    {
        var cluster = await Start(3);
        try
        {
            var settings = new ImpalaSettings { NumEnvs = 8, Blocks = 4, Seed = 1 };
            var source = new AsyncClusterRolloutSource(cluster.Client, "CartPole-v1", 8, settings.StepsPerEnv, 4, settings.HiddenSizes, settings.Activation);
            var impala = new Impala(source, settings);
            var lags = new List<double>();
            long next = 10_000;
            double reached = double.NaN;
            while (impala.TotalSteps < 200_000)
            {
                lags.Add(impala.Iterate().Losses.First(l => l.Name == "lag").Value);
                if (impala.TotalSteps < next) continue;
                next += 10_000;
                reached = impala.Agent.EvaluateReturn(EnvRegistry.Make("CartPole-v1"), 10, seed: 1_000_000).Mean;
                if (reached >= 475) break;
            }
            Assert.True(reached >= 475, $"asynchronous IMPALA on 3 silos: {reached:F1} after {impala.TotalSteps:N0} steps (lags {lags.Min()}–{lags.Max()})");
            Assert.True(lags.Max() >= 1, "the learner never learned from a rollout acted by an older version");
            Assert.Equal(impala.Version, source.Received); // every rollout received was learned from once
        }
        finally { await cluster.StopAllSilosAsync(); await cluster.DisposeAsync(); }
    }

    [Fact]
    public async Task Asynchronous_learning_goes_on_through_a_silo_killed_mid_rollout_and_learns_from_every_rollout_once()
    {
        var cluster = await Start(3);
        try
        {
            const int blocks = 6;
            var settings = new ImpalaSettings { NumEnvs = blocks, Blocks = blocks, StepsPerEnv = 60, HiddenSizes = [16], Seed = 2 };
            var source = new AsyncClusterRolloutSource(cluster.Client, TestEnvs.Slow, blocks, 60, blocks, settings.HiddenSizes, settings.Activation,
                new WorkerCallOptions { Timeout = TimeSpan.FromSeconds(3), Attempts = 4 });
            var impala = new Impala(source, settings);
            for (int k = 0; k < blocks; k++) impala.Iterate(); // every block has answered once: the workers are placed
            var where = await Task.WhenAll(Enumerable.Range(0, blocks).Select(w => cluster.Client.GetGrain<IRolloutWorkerGrain>(w).Silo()));
            var doomed = cluster.SecondarySilos.First(s => where.Contains(s.SiloAddress.ToString()));
            // (asking a grain where it runs waits for its rollout: now every block's last answer is in, none is in flight)
            // learn on: the next calls take the answers in and send every block its next rollout, 60 steps of 10 ms;
            // kill once each has taken 2 of them (killing an in-process silo takes ~0.1 s, and a rollout that finishes
            // before the silo is gone still answers)
            int before = Volatile.Read(ref TestEnvs.Steps);
            var learning = Task.Run(() => { for (int k = 0; k < 3 * blocks; k++) impala.Iterate(); });
            var started = System.Diagnostics.Stopwatch.StartNew();
            while (Volatile.Read(ref TestEnvs.Steps) < before + 2 * blocks && started.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(2);
            Assert.False(learning.IsCompleted);
            await cluster.KillSiloAsync(doomed);
            await learning;
            // Whether a request is lost depends on the race between the in-process silo's shutdown and its grains' answers
            // (2 of 3 runs lost one here); the retry rule itself is proven with a fake grain factory (ClusterEsSourceTests).
            // What must hold either way: the learner went on, and every rollout was learned from exactly once.
            Assert.Equal(impala.Version, source.Received);
            Assert.Equal(4 * blocks * 60, impala.TotalSteps); // one copy × 60 steps per rollout, each counted once
        }
        finally { await cluster.StopAllSilosAsync(); await cluster.DisposeAsync(); }
    }
}
