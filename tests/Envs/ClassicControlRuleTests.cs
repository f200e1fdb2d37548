using PurePg.Envs.ClassicControl;

namespace PurePg.Envs.Tests;

/// <summary>Each classic-control environment's rules, checked from its definition (boundaries, limits, rewards on each
/// kind of step, wrap-around, clipping) rather than against recorded numbers.</summary>
public class ClassicControlRuleTests
{
    static double[] State(Env env)
    {
        var s = new double[env.StateLength];
        env.GetState(s);
        return s;
    }

    [Fact]
    public void Registered_ids_carry_Gymnasium_time_limits_and_thresholds()
    {
        (string Id, int Limit, double? Threshold)[] expected =
        [
            ("CartPole-v1", 500, 475.0), ("Pendulum-v1", 200, null), ("Acrobot-v1", 500, -100.0),
            ("MountainCar-v0", 200, -110.0), ("MountainCarContinuous-v0", 999, 90.0),
        ];
        foreach (var (id, limit, threshold) in expected)
        {
            var env = EnvRegistry.Make(id);
            Assert.Equal(limit, env.MaxEpisodeSteps);
            Assert.Equal(id, env.Id);
            Assert.Equal(threshold, EnvRegistry.Spec(id).RewardThreshold);
        }
        var error = Assert.Throws<ArgumentException>(() => EnvRegistry.Make("CartPole-v0"));
        Assert.Contains("'CartPole-v0'", error.Message);
        Assert.Contains("CartPole-v1", error.Message);
    }

    [Fact]
    public void CartPole_terminates_strictly_beyond_the_thresholds_and_rewards_the_terminating_step()
    {
        var env = new CartPole();
        env.Reset(seed: 0);
        // x' = x + τ·ẋ: exactly at x = 2.4 the episode goes on (the test is x > 2.4)…
        env.SetState([2.4, 0.0, 0, 0]);
        var r = env.Step(1);
        Assert.Equal(2.4, State(env)[0]);
        Assert.False(r.Terminated);
        // …and from x = 2.39 with ẋ = 1 the cart goes beyond.
        env.SetState([2.39, 1.0, 0, 0]);
        r = env.Step(0);
        Assert.True(r.Terminated);
        Assert.Equal(1.0, r.Reward);
        Assert.False(r.Truncated);
        // Pole angle beyond 12°.
        env.Reset(seed: 1);
        env.SetState([0, 0, 12 * Math.PI / 180 - 0.001, 0.1]);
        Assert.True(env.Step(0).Terminated);
        env.Reset(seed: 1);
        env.SetState([0, 0, -(12 * Math.PI / 180 - 0.001), -0.1]);
        Assert.True(env.Step(1).Terminated);
        // Gymnasium's sutton_barto_reward: 0 per step, −1 on termination.
        var sutton = new CartPole(suttonBartoReward: true);
        sutton.Reset(seed: 0);
        Assert.Equal(0.0, sutton.Step(0).Reward);
        sutton.SetState([2.39, 1.0, 0, 0]);
        Assert.Equal(-1.0, sutton.Step(0).Reward);
        Assert.Equal(float.PositiveInfinity, env.ObservationSpace.High[1]); // Gymnasium 1.x bounds the velocities by ±inf
    }

    [Fact]
    public void CartPole_observation_is_the_float32_state_and_reset_is_within_five_hundredths()
    {
        var env = new CartPole();
        for (int seed = 0; seed < 200; seed++)
        {
            var obs = env.Reset(seed);
            var s = State(env);
            for (int i = 0; i < 4; i++)
            {
                Assert.InRange(s[i], -0.05, 0.05);
                Assert.Equal((float)s[i], obs[i]);
            }
        }
        Assert.Equal(env.Reset(seed: 7).ToArray(), env.Reset(seed: 7).ToArray());
        Assert.NotEqual(env.Reset(seed: 7).ToArray(), env.Reset(seed: 8).ToArray());
    }

    [Fact]
    public void Time_limit_truncates_at_the_registered_step_and_then_stepping_is_an_error()
    {
        var env = EnvRegistry.Make("CartPole-v1");
        env.Reset(seed: 0);
        for (int t = 1; t <= 500; t++)
        {
            env.SetState([0, 0, 0, 0]); // keep the pole upright; the step count continues
            var r = env.Step(t % 2);
            Assert.False(r.Terminated);
            Assert.Equal(t == 500, r.Truncated);
        }
        Assert.Equal(500, env.ElapsedSteps);
        var error = Assert.Throws<InvalidOperationException>(() => env.Step(0));
        Assert.Contains("truncated", error.Message);
        Assert.Contains("Reset()", error.Message);
    }

    [Fact]
    public void Stepping_a_terminated_episode_or_before_reset_is_an_error()
    {
        var env = EnvRegistry.Make("CartPole-v1");
        Assert.Contains("before Reset", Assert.Throws<InvalidOperationException>(() => env.Step(0)).Message);
        env.Reset(seed: 0);
        StepResult r;
        do r = env.Step(1); while (!r.Terminated);
        Assert.Contains("terminated", Assert.Throws<InvalidOperationException>(() => env.Step(1)).Message);
        env.Reset();
        env.Step(1); // a new episode runs
    }

    [Fact]
    public void Bad_actions_name_the_problem()
    {
        var cartPole = EnvRegistry.Make("CartPole-v1");
        cartPole.Reset(seed: 0);
        Assert.Contains("action 2 is not in Discrete(2)", Assert.Throws<ArgumentOutOfRangeException>(() => cartPole.Step(2)).Message);
        Assert.Contains("pass an integer action", Assert.Throws<InvalidOperationException>(() => cartPole.Step(0.5f)).Message);
        var pendulum = EnvRegistry.Make("Pendulum-v1");
        pendulum.Reset(seed: 0);
        Assert.Contains("action[0] is NaN", Assert.Throws<ArgumentException>(() => pendulum.Step(float.NaN)).Message);
        Assert.Contains("is Infinity", Assert.Throws<ArgumentException>(() => pendulum.Step(float.PositiveInfinity)).Message);
        Assert.Contains("1 element(s), got 2", Assert.Throws<ArgumentException>(() => pendulum.Step([0f, 0f])).Message);
        Assert.Contains("not the integer 1", Assert.Throws<InvalidOperationException>(() => pendulum.Step(1)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => pendulum.Reset(seed: -1));
        pendulum.Step(0f); // the rejected calls did not end the episode
    }

    [Fact]
    public void Pendulum_clips_torque_and_speed_wraps_the_angle_in_the_cost_and_never_terminates()
    {
        var a = new Pendulum();
        var b = new Pendulum();
        a.Reset(seed: 0);
        b.Reset(seed: 0);
        a.SetState([0.5, 1.0]);
        b.SetState([0.5, 1.0]);
        var ra = a.Step(2f);
        var rb = b.Step(7.5f); // clipped to 2, so the same transition and the same cost
        Assert.Equal(ra.Reward, rb.Reward);
        Assert.Equal(State(a), State(b));
        // cost = norm(θ)² + 0.1 θ̇² + 0.001 u² with norm(θ) = θ for θ in (−π, π); Gymnasium (NumPy 2) computes the
        // torque term in float32, because the action is float32
        Assert.Equal(-(0.25 + 0.1 * 1.0 + (double)(0.001f * 4f)), ra.Reward, 12);
        // θ̇ clipped at 8
        a.SetState([0.0, 7.99]);
        a.Step(2f);
        Assert.Equal(8.0, State(a)[1]);
        Assert.Equal(0.0 + 8.0 * 0.05, State(a)[0], 15);
        // the cost measures the angle modulo 2π: θ = 2π + 0.3 costs as θ = 0.3
        a.SetState([2 * Math.PI + 0.3, 0]);
        b.SetState([0.3, 0]);
        Assert.Equal(b.Step(0f).Reward, a.Step(0f).Reward, 12);
        Assert.Equal(Math.PI, Pendulum.AngleNormalize(-Math.PI) + 2 * Math.PI, 12); // −π maps to −π
        Assert.Equal(-Math.PI, Pendulum.AngleNormalize(Math.PI), 12);                // π maps to −π (floor modulo)
        // the observation is (cos θ, sin θ, θ̇) in float32
        a.SetState([1.0, -2.0]);
        Assert.Equal([(float)Math.Cos(1.0), (float)Math.Sin(1.0), -2f], a.Observation.ToArray());
        var env = EnvRegistry.Make("Pendulum-v1");
        env.Reset(seed: 3);
        for (int t = 1; t <= 200; t++)
        {
            var r = env.Step(0f);
            Assert.False(r.Terminated);
            Assert.Equal(t == 200, r.Truncated);
            Assert.InRange(r.Reward, -(Math.PI * Math.PI + 0.1 * 64 + 0.001 * 4), 0);
        }
    }

    [Fact]
    public void Acrobot_wraps_angles_bounds_velocities_and_rewards_zero_only_on_termination()
    {
        var env = new Acrobot();
        env.Reset(seed: 0);
        var random = new System.Random(1);
        for (int t = 0; t < 2000; t++)
        {
            if (t % 50 == 0) env.SetState([random.NextDouble() * 6 - 3, random.NextDouble() * 6 - 3, random.NextDouble() * 30 - 15, random.NextDouble() * 60 - 30]);
            var r = env.Step(random.Next(3));
            var s = State(env);
            Assert.InRange(s[0], -Math.PI, Math.PI);
            Assert.InRange(s[1], -Math.PI, Math.PI);
            Assert.InRange(s[2], -4 * Math.PI, 4 * Math.PI);
            Assert.InRange(s[3], -9 * Math.PI, 9 * Math.PI);
            bool above = -Math.Cos(s[0]) - Math.Cos(s[1] + s[0]) > 1.0;
            Assert.Equal(above, r.Terminated);
            Assert.Equal(above ? 0.0 : -1.0, r.Reward);
            if (r.Terminated) env.Reset();
        }
        Assert.Equal(-Math.PI + 0.5, Acrobot.Wrap(Math.PI + 0.5, -Math.PI, Math.PI), 12);
        Assert.Equal(0.25, Acrobot.Wrap(0.25 + 4 * Math.PI, -Math.PI, Math.PI), 12);
        // Both links pointing up: the tip is at height 2 > 1.
        env.Reset(seed: 0);
        env.SetState([Math.PI, 0, 0, 0]);
        var up = env.Step(1);
        Assert.True(up.Terminated);
        Assert.Equal(0.0, up.Reward);
    }

    [Fact]
    public void MountainCar_stops_at_the_left_wall_clips_speed_and_terminates_at_the_flag()
    {
        var env = new MountainCar();
        env.Reset(seed: 0);
        env.SetState([-1.19, -0.05]);
        var r = env.Step(0);
        Assert.Equal([-1.2, 0.0], State(env)); // hit the wall moving left: velocity zeroed
        Assert.Equal(-1.0, r.Reward);
        env.SetState([-Math.PI / 6, 0.0699]); // cos(3x) = 0: no gravity term, so v + 0.001 exceeds 0.07
        env.Step(2);
        Assert.Equal(0.07, State(env)[1]); // speed clipped
        env.SetState([0.49, 0.02]);
        r = env.Step(2);
        Assert.True(r.Terminated);
        Assert.Equal(-1.0, r.Reward); // −1 on the terminating step too
        env.Reset(seed: 1);
        env.SetState([0.55, -0.01]); // past the flag but moving back: not a goal
        Assert.False(env.Step(0).Terminated);
        for (int seed = 0; seed < 100; seed++)
        {
            env.Reset(seed);
            Assert.InRange(State(env)[0], -0.6, -0.4);
            Assert.Equal(0.0, State(env)[1]);
        }
    }

    [Fact]
    public void MountainCarContinuous_rewards_the_unclipped_action_and_the_goal()
    {
        var a = new MountainCarContinuous();
        var b = new MountainCarContinuous();
        a.Reset(seed: 0);
        b.Reset(seed: 0);
        var ra = a.Step(1f);
        var rb = b.Step(3f); // the force is clipped to 1, the penalty is not
        Assert.Equal(State(a), State(b));
        Assert.Equal(-0.1, ra.Reward, 12);
        Assert.Equal(-0.9, rb.Reward, 6);
        a.SetState([0.44, 0.02]);
        var goal = a.Step(0.5f);
        Assert.True(goal.Terminated);
        Assert.Equal(100.0 - 0.1 * 0.25, goal.Reward, 12);
        a.Reset(seed: 2);
        a.SetState([-1.195, -0.02]);
        a.Step(-1f);
        Assert.Equal([-1.2, 0.0], State(a).Select(v => Math.Round(v, 6)).ToArray());
    }
}

public class ReadmeExampleTests
{
    [Fact]
    public void The_README_environment_example_compiles_and_runs()
    {
        var env = EnvRegistry.Make("CartPole-v1");
        var obs = env.Reset(seed: 42);
        var (next, reward, terminated, truncated) = env.Step(1);
        Assert.Equal(4, obs.Length);
        Assert.Equal(4, next.Length);
        Assert.Equal(1.0, reward);
        Assert.False(terminated || truncated);
    }
}
