using PurePg.Autodiff;
using PurePg.Autodiff.Modules;
using PurePg.Envs;
using PurePg.Envs.Vector;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Rollouts;

namespace PurePg.Rl.Tests;

/// <summary>What lets a rollout be split across workers and still be one process's bits: acting is batch-invariant (a
/// copy's action, log π and V do not depend on the copies acted on with it) and every copy has its own stream.</summary>
public class RolloutSourceTests
{
    static bool SameBits(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) return false;
        for (int k = 0; k < a.Length; k++) if (BitConverter.SingleToInt32Bits(a[k]) != BitConverter.SingleToInt32Bits(b[k])) return false;
        return true;
    }

    static int[] RandomBlocks(Rng rng, int n)
    {
        var starts = new List<int> { 0 };
        for (int i = 1; i < n; i++) if (rng.NextInt(3) == 0) starts.Add(i);
        return starts.ToArray();
    }

    [Fact]
    public void A_copys_action_log_probability_and_value_do_not_depend_on_the_copies_batched_with_it()
    {
        var arb = Gen.Choose(0, 1_000_000).ToArbitrary();
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(100), Prop.ForAll(arb, seed =>
        {
            var rng = new Rng((ulong)seed);
            int obs = 1 + rng.NextInt(9), n = 1 + rng.NextInt(40);
            int[] hidden = Enumerable.Range(0, 1 + rng.NextInt(2)).Select(_ => 1 + rng.NextInt(70)).ToArray();
            var activation = rng.NextInt(2) == 0 ? Activation.Tanh : Activation.Relu;
            bool discrete = rng.NextInt(2) == 0;
            int dims = 1 + rng.NextInt(3);
            Space actions = discrete ? new Discrete(2 + rng.NextInt(5)) : new Box(Enumerable.Repeat(-1f, dims).ToArray(), Enumerable.Repeat(1f, dims).ToArray());
            var space = new Box(Enumerable.Repeat(-5f, obs).ToArray(), Enumerable.Repeat(5f, obs).ToArray());
            var agent = new ActorCritic(space, actions, hidden, activation, -0.5, new Rng((ulong)seed + 1));
            for (int i = 0; i < agent.Theta.Count; i++) agent.Theta.Values[i] += (float)(rng.NextDouble() - 0.5);
            for (int i = 0; i < agent.Phi.Count; i++) agent.Phi.Values[i] += (float)(rng.NextDouble() - 0.5);
            float[] x = Enumerable.Range(0, n * obs).Select(_ => (float)(4 * rng.NextDouble() - 2)).ToArray();
            int d0 = agent.ActionSize;
            Rng[] Streams(int from, int count) => Enumerable.Range(from, count).Select(i => RolloutShard.ActingStream(seed, i)).ToArray();

            int[] a = new int[n];
            float[] u = new float[Math.Max(1, n * d0)], lp = new float[n], v = new float[n];
            agent.Act(x, Streams(0, n), a, d0 > 0 ? u : default, lp, v);

            int[] starts = RandomBlocks(rng, n);
            for (int b = 0; b < starts.Length; b++)
            {
                int first = starts[b], m = (b + 1 < starts.Length ? starts[b + 1] : n) - first;
                int[] ab = new int[m];
                float[] ub = new float[Math.Max(1, m * d0)], lpb = new float[m], vb = new float[m];
                agent.Act(x.AsMemory(first * obs, m * obs), Streams(first, m), ab, d0 > 0 ? ub : default, lpb, vb);
                string where = $"copies {first}…{first + m - 1} of {n}, obs {obs}, hidden [{string.Join(",", hidden)}] {activation}, {actions}";
                Assert.True(ab.AsSpan().SequenceEqual(a.AsSpan(first, m)), $"actions differ: {where}");
                if (d0 > 0) Assert.True(SameBits(ub.AsSpan(0, m * d0), u.AsSpan(first * d0, m * d0)), $"continuous actions differ: {where}");
                Assert.True(SameBits(lpb, lp.AsSpan(first, m)), $"log π differs: {where}");
                Assert.True(SameBits(vb, v.AsSpan(first, m)), $"V differs: {where}");
            }
        }));
    }

    internal static void SameRollout(RolloutBuffer expected, RolloutBuffer actual, string what)
    {
        int o = expected.ObservationSize;
        Assert.True(SameBits(expected.Observations, actual.Observations), $"{what}: observations");
        Assert.True(expected.DiscreteActions.AsSpan().SequenceEqual(actual.DiscreteActions), $"{what}: discrete actions");
        Assert.True(SameBits(expected.ContinuousActions, actual.ContinuousActions), $"{what}: continuous actions");
        Assert.True(SameBits(expected.Rewards, actual.Rewards), $"{what}: rewards");
        Assert.True(expected.Terminated.AsSpan().SequenceEqual(actual.Terminated) && expected.Truncated.AsSpan().SequenceEqual(actual.Truncated), $"{what}: flags");
        Assert.True(SameBits(expected.LogProbs, actual.LogProbs) && SameBits(expected.Values, actual.Values), $"{what}: log π or V");
        Assert.True(expected.TimeSteps.AsSpan().SequenceEqual(actual.TimeSteps), $"{what}: step indices");
        Assert.True(SameBits(expected.LastObservations, actual.LastObservations), $"{what}: last observations");
        for (int k = 0; k < expected.Truncated.Length; k++)
            if (expected.Truncated[k])
                Assert.True(SameBits(expected.FinalObservations.AsSpan(k * o, o), actual.FinalObservations.AsSpan(k * o, o)), $"{what}: final observation {k}");
        Assert.Equal(expected.Episodes, actual.Episodes);
        Assert.Equal(expected.EpisodeEnds, actual.EpisodeEnds);
    }

    [Theory]
    [InlineData("CartPole-v1", 7, 40, 4)]
    [InlineData("Pendulum-v1", 5, 90, 3)]
    [InlineData("Acrobot-v1", 4, 260, 2)]
    public void A_rollout_assembled_from_blocks_of_copies_is_the_one_process_rollout_bit_for_bit(string id, int n, int steps, int rollouts)
    {
        const long seed = 11;
        VectorEnv Make(int copies) => id == "CartPole-v1" ? new CartPoleVectorEnv(copies) : new SyncVectorEnv(id, copies);
        var whole = new VectorEnvRolloutSource(Make(n), steps);
        int[] starts = new[] { 0, 1, 3, n - 1 }.Distinct().ToArray();
        var shards = starts.Select((first, b) => new RolloutShard(Make((b + 1 < starts.Length ? starts[b + 1] : n) - first), first, steps)).ToArray();
        var assembled = new RolloutBuffer(steps, n, whole.Buffer.ObservationSize, whole.Buffer.ActionSize);
        var agent = new ActorCritic(whole.SingleObservationSpace, whole.SingleActionSpace, [16, 16], Activation.Tanh, -0.5, new Rng(3));
        whole.Reset(seed);
        foreach (var shard in shards) shard.Reset(seed);
        var rng = new Rng(4);
        int episodes = 0;
        for (int r = 0; r < rollouts; r++)
        {
            whole.Collect(agent);
            assembled.BeginBlocks();
            foreach (var shard in shards.Reverse()) // arrival order must not matter
            {
                shard.Collect(agent);
                assembled.CopyBlock(shard.Buffer, shard.First);
            }
            assembled.EndBlocks();
            SameRollout(whole.Buffer, assembled, $"{id} rollout {r}");
            episodes += whole.Buffer.Episodes.Count;
            for (int i = 0; i < agent.Theta.Count; i++) agent.Theta.Values[i] += (float)(0.2 * (rng.NextDouble() - 0.5)); // a new version
        }
        Assert.True(episodes >= 2, $"{id}: only {episodes} episodes ended; the test must cross episode ends");
    }
}

/// <summary>The threaded local source against the one-thread one.</summary>
public class ParallelRolloutSourceTests
{
    [Theory]
    [InlineData("CartPole-v1", 7, 60, true)]
    [InlineData("Acrobot-v1", 5, 120, true)]
    [InlineData("PurePg/PongDiff80-v0", 5, 200, false)] // 6,400 mostly-zero features: acting skips the zero chunks
    public void Blocks_stepped_on_threads_give_the_one_thread_rollout_bit_for_bit(string id, int n, int steps, bool values)
    {
        const long seed = 5;
        var one = new VectorEnvRolloutSource(Training.AlgorithmCatalog.MakeVectorEnv(id, n), steps);
        var agent = new ActorCritic(one.SingleObservationSpace, one.SingleActionSpace, [24], Activation.Relu, 0, new Rng(8));
        one.Reset(seed);
        var threaded = Enumerable.Range(2, 2).Select(w => new ParallelRolloutSource(m => Training.AlgorithmCatalog.MakeVectorEnv(id, m), n, steps, w)).ToArray();
        foreach (var source in threaded) source.Reset(seed);
        var rng = new Rng(9);
        for (int r = 0; r < 3; r++)
        {
            one.Collect(agent, values);
            foreach (var source in threaded)
            {
                source.Collect(agent, values);
                RolloutSourceTests.SameRollout(one.Buffer, source.Buffer, $"{id}, {source.Threads} threads, rollout {r}");
            }
            if (!values) Assert.All(one.Buffer.Values, v => Assert.Equal(0f, v));
            for (int i = 0; i < agent.Theta.Count; i++) agent.Theta.Values[i] += (float)(0.2 * (rng.NextDouble() - 0.5));
        }
        // a saved state resumes in a new source of the same blocks
        var saved = new MemoryStream();
        threaded[0].WriteState(new BinaryWriter(saved));
        saved.Position = 0;
        var resumed = new ParallelRolloutSource(m => Training.AlgorithmCatalog.MakeVectorEnv(id, m), n, steps, threaded[0].Threads);
        resumed.ReadState(new BinaryReader(saved));
        one.Collect(agent, values);
        resumed.Collect(agent, values);
        RolloutSourceTests.SameRollout(one.Buffer, resumed.Buffer, $"{id} after a resume");
    }
}
