using Orleans.TestingHost;
using PurePg.Envs;
using PurePg.Envs.Random;
using PurePg.Rl.Algorithms;

namespace PurePg.Distributed.Tests;

/// <summary>Test environments, registered once per process (the in-process silos share the registry).</summary>
internal static class TestEnvs
{
    public const string Slow = "Test/Slow-v0", Failing = "Test/Failing-v0", Hanging = "Test/Hanging-v0";

    static TestEnvs()
    {
        EnvRegistry.Register(new(Slow, null, null, "20 steps of 10 ms", () => new Toy(10, 0, 20)));
        EnvRegistry.Register(new(Failing, null, null, "throws at its 3rd step", () => new Toy(0, 3, 20)));
        EnvRegistry.Register(new(Hanging, null, null, "one step of 1 s", () => new Toy(1_000, 0, 1)));
    }

    public static void Ensure() { }

    /// <summary>Episodes started by any Toy, for tests that act while episodes are under way.</summary>
    public static int Resets;

    /// <summary>Steps taken by any Toy, likewise.</summary>
    public static int Steps;

    /// <summary>Two random observations a step, reward obs₀ for action 1 and −obs₀ for action 0, <c>length</c> steps;
    /// each step sleeps <c>delay</c> ms (a costly simulator); with <c>failAt</c> &gt; 0 that step throws.</summary>
    private sealed class Toy(int delay, int failAt, int length) : Env(Box.Uniform(2, -10, 10), new Discrete(2))
    {
        private float _x;

        protected override void ResetCore(NumpyRandom random, Span<float> observation)
        {
            Interlocked.Increment(ref Resets);
            Observe(random, observation);
        }

        protected override (double Reward, bool Terminated) StepCore(int action, NumpyRandom random, Span<float> observation)
        {
            Interlocked.Increment(ref Steps);
            if (delay > 0) Thread.Sleep(delay);
            if (failAt > 0 && ElapsedSteps + 1 == failAt) throw new InvalidOperationException($"the simulator failed at step {failAt}");
            double reward = action == 1 ? _x : -_x;
            Observe(random, observation);
            return (reward, ElapsedSteps + 1 >= length);
        }

        // its whole state saved, as exact resume and cluster rollouts (a block's state travels with each request) need
        protected override void WriteInternalState(BinaryWriter writer) => writer.Write(_x);

        protected override void ReadInternalState(BinaryReader reader) => _x = reader.ReadSingle();

        private void Observe(NumpyRandom random, Span<float> observation)
        {
            observation[0] = _x = (float)random.Gaussian();
            observation[1] = (float)random.Gaussian();
        }
    }
}

/// <summary>
/// ES on an in-process Orleans cluster (TestingHost, loopback): the evaluator grains give the same bits as local threads —
/// with observation normalization, over several generations —; a silo killed in the middle of a generation loses
/// requests that are sent again and the run stays bit-identical; an exception inside an evaluation stops the run with its
/// own message, not retried; a worker that never answers is reported by name after its attempts.
/// </summary>
public class ClusterEsTests
{
    static ClusterEsTests()
    {
        TestEnvs.Ensure();
        ThreadPool.SetMinThreads(32, 32); // sleeping test simulators on the in-process silos
    }

    private static Task<TestCluster> Start(int silos) => TestClusters.Start(silos);

    private static EsSettings Settings(bool normalize, int pairs = 8) =>
        new() { Pairs = pairs, HiddenSizes = [16], Workers = 2, Seed = 3, Sigma = 0.05, LearningRate = 0.03, NormalizeObservations = normalize };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Generations_evaluated_by_grains_are_bit_identical_to_local_threads(bool normalize)
    {
        var cluster = await Start(2);
        try
        {
            var settings = Settings(normalize);
            var local = new Es(() => EnvRegistry.Make("CartPole-v1"), settings);
            var source = new ClusterEsSource(cluster.Client, "CartPole-v1", settings, workers: 5);
            var remote = new Es(() => EnvRegistry.Make("CartPole-v1"), settings, source);
            for (int k = 0; k < 4; k++) Assert.Equal(local.Iterate().Episodes, remote.Iterate().Episodes);
            Assert.Equal(local.Agent.Theta.Values.ToArray(), remote.Agent.Theta.Values.ToArray());
            Assert.Equal(local.TotalSteps, remote.TotalSteps);
            if (normalize)
            {
                Assert.Equal(local.ObservationStatistics!.Mean, remote.ObservationStatistics!.Mean);
                Assert.Equal(local.ObservationStatistics.Variance, remote.ObservationStatistics.Variance);
            }
            Assert.Equal(0, source.Retries);
        }
        finally { await cluster.StopAllSilosAsync(); await cluster.DisposeAsync(); }
    }

    [Fact]
    public async Task A_silo_killed_mid_generation_loses_nothing_and_the_run_stays_bit_identical()
    {
        var cluster = await Start(3);
        try
        {
            var settings = Settings(normalize: true, pairs: 12);
            var local = new Es(() => EnvRegistry.Make(TestEnvs.Slow), settings with { Workers = 12 }); // threads do not change the bits
            var source = new ClusterEsSource(cluster.Client, TestEnvs.Slow, settings, workers: 12, new WorkerCallOptions { Timeout = TimeSpan.FromSeconds(2), Attempts = 4 });
            var remote = new Es(() => EnvRegistry.Make(TestEnvs.Slow), settings, source);
            Assert.Equal(local.Iterate().Episodes, remote.Iterate().Episodes);
            // a secondary silo that hosts workers (placement is random: 12 workers on 3 silos)
            var where = await Task.WhenAll(Enumerable.Range(0, 12).Select(w => cluster.Client.GetGrain<IEsEvaluatorGrain>(w).Silo()));
            var doomed = cluster.SecondarySilos.First(s => where.Contains(s.SiloAddress.ToString()));
            // kill it while generation 1 is being evaluated: once every worker has started its first episode (each shard is
            // 2 episodes of 20 steps × 10 ms, so every shard still has ≥ 200 ms to go)
            int before = Volatile.Read(ref TestEnvs.Resets);
            var generation = Task.Run(remote.Iterate);
            var started = System.Diagnostics.Stopwatch.StartNew();
            while (Volatile.Read(ref TestEnvs.Resets) < before + 12 && started.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(5);
            Assert.False(generation.IsCompleted);
            await cluster.KillSiloAsync(doomed);
            var metrics = await generation;
            Assert.Equal(local.Iterate().Episodes, metrics.Episodes);
            Assert.True(source.Retries > 0, "the kill should have lost at least one request in flight");
            for (int k = 0; k < 2; k++) Assert.Equal(local.Iterate().Episodes, remote.Iterate().Episodes);
            Assert.Equal(local.Agent.Theta.Values.ToArray(), remote.Agent.Theta.Values.ToArray());
            Assert.Equal(local.ObservationStatistics!.Mean, remote.ObservationStatistics!.Mean);
            Assert.Equal(local.TotalSteps, remote.TotalSteps);
        }
        finally { await cluster.StopAllSilosAsync(); await cluster.DisposeAsync(); }
    }

    [Fact]
    public async Task An_evaluation_that_throws_stops_the_run_with_its_message_and_a_silent_worker_is_named()
    {
        var cluster = await Start(1);
        try
        {
            var settings = Settings(normalize: false, pairs: 2);
            var failing = new ClusterEsSource(cluster.Client, TestEnvs.Failing, settings, workers: 2);
            var e = Assert.Throws<InvalidOperationException>(() => new Es(() => EnvRegistry.Make(TestEnvs.Failing), settings, failing).Iterate());
            Assert.Contains("the simulator failed at step 3", e.Message);
            Assert.Equal(0, failing.Retries); // not a loss: not sent again

            var silent = new ClusterEsSource(cluster.Client, TestEnvs.Hanging, settings, workers: 1,
                new WorkerCallOptions { Timeout = TimeSpan.FromMilliseconds(300), Attempts = 2 });
            var timeout = Assert.Throws<TimeoutException>(() => new Es(() => EnvRegistry.Make(TestEnvs.Hanging), settings, silent).Iterate());
            Assert.Contains("ES evaluator 0 gave no answer for generation 0 in 2 attempts", timeout.Message);
            Assert.Equal(1, silent.Retries);
        }
        finally { await cluster.StopAllSilosAsync(); await cluster.DisposeAsync(); }
    }

    [Fact]
    public async Task The_READMEs_cluster_example_learns_CartPole()
    {
        var cluster = await Start(2);
        try
        {
            var client = cluster.Client;
            // copied from README.md ("Evolution strategies on a cluster")
            var settings = new EsSettings { NormalizeObservations = true, Seed = 1 };
            var source = new ClusterEsSource(client, "CartPole-v1", settings, workers: 12);    // 12 evaluator grains
            var es = new Es(() => EnvRegistry.Make("CartPole-v1"), settings, source).Learn(100_000);
            Assert.True(es.TotalSteps >= 100_000);
            var result = PurePg.Rl.Policies.Evaluation.Evaluate(PurePg.Rl.Policies.TrainedPolicy.From(es, "CartPole-v1"), EnvRegistry.Make("CartPole-v1"), 10, seed: 5);
            Assert.True(result.Mean >= 475, $"ES on the cluster after {es.TotalSteps:N0} steps: {result.Mean:F1}");
        }
        finally { await cluster.StopAllSilosAsync(); await cluster.DisposeAsync(); }
    }
}
