using PurePg.Envs;
using PurePg.Envs.ClassicControl;
using PurePg.Envs.Vector;
using PurePg.Rl.Rollouts;

namespace PurePg.Rl.Tests;

public class RolloutTests
{
    /// <summary>Random discrete or continuous actions from a seeded stream; no critic.</summary>
    static RolloutBuffer.ActFunction RandomActions(int seed, int numActions)
    {
        var random = new System.Random(seed);
        return (obs, discrete, continuous, logProbs, values) =>
        {
            for (int i = 0; i < discrete.Length; i++) discrete[i] = random.Next(numActions);
            for (int i = 0; i < continuous.Length; i++) continuous[i] = (float)(4 * random.NextDouble() - 2);
        };
    }

    [Fact]
    public void Reward_to_go_bootstraps_on_truncation_and_at_the_rollout_end_but_not_on_termination()
    {
        // CartPole terminates; a 9-step limit truncates. 3 copies × 40 steps cross several episode ends of both kinds.
        var env = new SyncVectorEnv(() => new CartPole { MaxEpisodeSteps = 9 }, 3);
        env.Reset(seed: 1);
        var buffer = new RolloutBuffer(40, 3, 4, 0);
        buffer.Collect(env, RandomActions(2, 2));
        Assert.Contains(true, buffer.Terminated);
        Assert.Contains(true, buffer.Truncated.Zip(buffer.Terminated, (tr, te) => tr && !te));

        const double gamma = 0.9;
        var truncatedValues = Enumerable.Range(0, 120).Select(k => 100f + k).ToArray(); // V(s_final) markers
        float[] lastValues = [1000f, 2000f, 3000f];                                    // V(s_T) markers
        var g = new float[120];
        buffer.RewardToGo(gamma, truncatedValues, lastValues, g);

        // reference: walk each copy's steps forward, cutting episodes, and sum each episode's discounted tail directly
        for (int i = 0; i < 3; i++)
        {
            int start = 0;
            for (int t = 0; t <= 40; t++)
            {
                bool end = t == 40 || buffer.Terminated[t * 3 + i] || buffer.Truncated[t * 3 + i];
                if (!end) continue;
                int last = Math.Min(t, 39);
                double tail = t == 40 ? lastValues[i] : buffer.Terminated[last * 3 + i] ? 0 : truncatedValues[last * 3 + i];
                for (int s = start; s <= last; s++)
                {
                    double expected = 0, discount = 1;
                    for (int u = s; u <= last; u++, discount *= gamma) expected += discount * buffer.Rewards[u * 3 + i];
                    expected += discount * tail;
                    Assert.True(Math.Abs(expected - g[s * 3 + i]) <= 1e-6 * (1 + Math.Abs(expected)), $"copy {i}, step {s}: {g[s * 3 + i]} vs reference {expected}"); // one float rounding
                }
                start = last + 1;
                if (t == 40) break;
            }
        }
    }

    [Fact]
    public void Episodes_spanning_rollouts_keep_their_running_return_and_truncated_steps_keep_their_final_observation()
    {
        var env = new SyncVectorEnv(() => new Pendulum { MaxEpisodeSteps = 25 }, 2);
        env.Reset(seed: 3);
        var buffer = new RolloutBuffer(10, 2, 3, 1);
        var act = RandomActions(4, 0);
        var perCopy = new double[2];
        var finished = new List<EpisodeStatistics>();
        for (int rollout = 0; rollout < 6; rollout++)
        {
            buffer.Collect(env, act);
            finished.AddRange(buffer.Episodes);
            for (int t = 0; t < 10; t++)
                for (int i = 0; i < 2; i++)
                {
                    perCopy[i] += buffer.Rewards[t * 2 + i];
                    if (buffer.Truncated[t * 2 + i])
                    {
                        Assert.Contains(finished, e => e.Length == 25 && Math.Abs(e.Return - perCopy[i]) < 1e-3);
                        Assert.NotEqual(0f, buffer.FinalObservations[(t * 2 + i) * 3 + 2] + buffer.FinalObservations[(t * 2 + i) * 3]);
                        perCopy[i] = 0;
                    }
                }
        }
        Assert.Equal(4, finished.Count); // 60 steps per copy, episodes of 25: two per copy, each spanning rollouts
        Assert.All(finished, e => Assert.Equal(25, e.Length));
        Assert.Equal(env.Observations.ToArray(), buffer.LastObservations);
    }
}
