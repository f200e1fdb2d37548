using PurePg.Rl.Rollouts;
using PurePg.Autodiff;
using PurePg.Autodiff.Modules;
using PurePg.Envs;
using PurePg.Envs.Vector;
using PurePg.Rl.Algorithms;

namespace PurePg.Rl.Tests;

/// <summary>The collect-and-estimate path PPO, A2C, TRPO and NPG share: an episode cut by the time limit is bootstrapped
/// from V(s_final); one that terminated is not.</summary>
public class TruncationBootstrapTests
{
    /// <summary>Reward 1 a step, observation t/10; terminates after 3 steps, or never (then the time limit of 3 cuts it).</summary>
    private sealed class Counter(bool terminates) : Env(new Box([0f], [10f]), new Discrete(2))
    {
        private int _t;
        protected override void ResetCore(Envs.Random.NumpyRandom random, Span<float> observation) => observation[0] = _t = 0;
        protected override (double Reward, bool Terminated) StepCore(int action, Envs.Random.NumpyRandom random, Span<float> observation)
        {
            observation[0] = ++_t / 10f;
            return (1.0, terminates && _t == 3);
        }
    }

    [Fact]
    public void A_time_limit_bootstraps_from_the_final_observation_and_a_termination_does_not()
    {
        const double gamma = 0.9;
        int made = 0;
        var env = new SyncVectorEnv(() => made++ == 0 ? new Counter(terminates: false) { MaxEpisodeSteps = 3 } : new Counter(terminates: true), 2);
        var agent = new ActorCritic(new Box([0f], [10f]), new Discrete(2), [8], Activation.Tanh, 0, new Rng(5));
        var source = new VectorEnvRolloutSource(env, stepsPerEnv: 4);
        var rollout = new OnPolicyRollout(source, agent, new Rng(6));
        source.Reset(0);
        rollout.CollectAndEstimate(gamma, lambda: 1.0);

        // V of the observation the cut episode ended in, 3/10, computed independently
        float[] final = [0.3f], value = new float[1];
        agent.PredictValues(final, value);
        Assert.NotEqual(0f, value[0]);
        int N = 2;
        // step t = 2 (the episode's third) is the last of each episode: [T, N] step-major, copy 0 truncated, copy 1 terminated
        Assert.True(rollout.Buffer.Truncated[2 * N + 0] && !rollout.Buffer.Terminated[2 * N + 0]);
        Assert.True(rollout.Buffer.Terminated[2 * N + 1]);
        Assert.Equal(1 + gamma * value[0], rollout.Returns[2 * N + 0], 5);
        Assert.Equal(1.0, rollout.Returns[2 * N + 1], 6);
        // and earlier steps carry it back: R₀ = 1 + γ + γ²(1 + γ V(s_final)) for the cut episode, 1 + γ + γ² for the other
        Assert.Equal(1 + gamma + gamma * gamma * (1 + gamma * value[0]), rollout.Returns[0 * N + 0], 5);
        Assert.Equal(1 + gamma + gamma * gamma, rollout.Returns[0 * N + 1], 5);
    }
}
