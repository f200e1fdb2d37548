using PurePg.Envs.ClassicControl;
using PurePg.Envs.Vector;

namespace PurePg.Envs.Tests;

public class VectorEnvTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(64)]
    public void CartPole_structure_of_arrays_equals_separate_envs_bit_for_bit(int n)
    {
        var soa = new CartPoleVectorEnv(n, maxEpisodeSteps: 60);
        var sync = new SyncVectorEnv(() => new CartPole { MaxEpisodeSteps = 60 }, n);
        soa.Reset(seed: 11);
        sync.Reset(seed: 11);
        Assert.Equal(sync.Observations.ToArray(), soa.Observations.ToArray());
        var random = new System.Random(5);
        var actions = new int[n];
        int episodesEnded = 0;
        for (int t = 0; t < 400; t++)
        {
            for (int i = 0; i < n; i++) actions[i] = random.Next(2);
            soa.Step(actions);
            sync.Step(actions);
            Assert.Equal(sync.Observations.ToArray(), soa.Observations.ToArray());
            Assert.Equal(sync.Rewards.ToArray(), soa.Rewards.ToArray());
            Assert.Equal(sync.Terminated.ToArray(), soa.Terminated.ToArray());
            Assert.Equal(sync.Truncated.ToArray(), soa.Truncated.ToArray());
            for (int i = 0; i < n; i++)
                if (sync.Terminated[i] || sync.Truncated[i])
                {
                    episodesEnded++;
                    Assert.Equal(sync.FinalObservations.Slice(i * 4, 4).ToArray(), soa.FinalObservations.Slice(i * 4, 4).ToArray());
                }
        }
        Assert.True(episodesEnded > n, $"only {episodesEnded} episodes ended: the autoreset path was not exercised");
    }

    [Fact]
    public void Copy_i_is_a_single_env_reset_with_seed_plus_i()
    {
        var vec = new SyncVectorEnv("CartPole-v1", 3);
        vec.Reset(seed: 100);
        for (int i = 0; i < 3; i++)
        {
            var single = EnvRegistry.Make("CartPole-v1");
            Assert.Equal(single.Reset(seed: 100 + i).ToArray(), vec.Observations.Slice(i * 4, 4).ToArray());
        }
        Assert.NotEqual(vec.Observations.Slice(0, 4).ToArray(), vec.Observations.Slice(4, 4).ToArray());
    }

    [Fact]
    public void Same_step_autoreset_keeps_the_final_observation_and_returns_the_new_first_one()
    {
        var vec = new SyncVectorEnv("CartPole-v1", 2);
        vec.Reset(seed: 3);
        var reference = EnvRegistry.Make("CartPole-v1");
        reference.Reset(seed: 3);
        // Push copy 0 right until it terminates; mirror it on a single env to know the final observation.
        for (int t = 0; t < 200; t++)
        {
            vec.Step([1, 0]);
            var r = reference.Step(1);
            if (r.Terminated)
            {
                Assert.True(vec.Terminated[0]);
                Assert.False(vec.Truncated[0]);
                Assert.Equal(1f, vec.Rewards[0]); // CartPole rewards the terminating step
                Assert.Equal(r.Observation.ToArray(), vec.FinalObservations.Slice(0, 4).ToArray());
                Assert.Equal(reference.Reset().ToArray(), vec.Observations.Slice(0, 4).ToArray()); // the stream continues
                return;
            }
            Assert.False(vec.Terminated[0]);
        }
        Assert.Fail("copy 0 never terminated");
    }

    [Fact]
    public void Time_limit_truncates_and_resets()
    {
        var vec = new SyncVectorEnv(() => new Pendulum { MaxEpisodeSteps = 5 }, 2);
        vec.Reset(seed: 0);
        var actions = new float[2];
        for (int t = 1; t <= 5; t++)
        {
            vec.Step(actions);
            Assert.Equal(t == 5, vec.Truncated[0]);
            Assert.False(vec.Terminated[0]);
        }
        vec.Step(actions); // the copies were reset in step 5, so this is step 1 of new episodes
        Assert.False(vec.Truncated[0]);
    }

    [Fact]
    public void Bad_actions_are_rejected_with_the_copy_named()
    {
        var vec = new CartPoleVectorEnv(3);
        Assert.Contains("before Reset", Assert.Throws<InvalidOperationException>(() => vec.Step([0, 1, 0])).Message);
        vec.Reset(seed: 0);
        Assert.Contains("Expected 3 actions", Assert.Throws<ArgumentException>(() => vec.Step([0, 1])).Message);
        Assert.Contains("actions[2] = 2", Assert.Throws<ArgumentOutOfRangeException>(() => vec.Step([0, 1, 2])).Message);
        var continuous = new SyncVectorEnv("Pendulum-v1", 2);
        continuous.Reset(seed: 0);
        Assert.Contains("copy 1, element 0, is NaN", Assert.Throws<ArgumentException>(() => continuous.Step([0f, float.NaN])).Message);
        Assert.Throws<InvalidOperationException>(() => continuous.Step([0, 1]));
    }

    [Fact]
    public void Stepping_allocates_nothing()
    {
        var vec = new CartPoleVectorEnv(64);
        vec.Reset(seed: 0);
        var actions = new int[64];
        Allocations.NoneInSteadyState(() => vec.Step(actions), calls: 1000, warmUp: 100, what: "CartPoleVectorEnv steps");

        var sync = new SyncVectorEnv("Acrobot-v1", 4);
        sync.Reset(seed: 0);
        var a = new int[4];
        Allocations.NoneInSteadyState(() => sync.Step(a), calls: 1000, warmUp: 100, what: "SyncVectorEnv steps");
    }

    [Fact]
    public void Polynomial_sin_cos_is_within_one_ulp_of_the_C_library_on_the_quarter_period()
    {
        var random = new System.Random(9);
        int n = 100_003;
        var x = new double[n];
        for (int i = 0; i < n; i++) x[i] = (random.NextDouble() * 2 - 1) * Math.PI / 4;
        x[0] = 0; x[1] = Math.PI / 4; x[2] = -Math.PI / 4; x[3] = 1e-300; x[4] = -0.2094;
        var sin = new double[n];
        var cos = new double[n];
        SinCosPolynomial.Compute(x, sin, cos);
        long worst = 0;
        int differing = 0;
        for (int i = 0; i < n; i++)
        {
            var (s, c) = Math.SinCos(x[i]);
            long ds = Math.Abs(BitConverter.DoubleToInt64Bits(sin[i]) - BitConverter.DoubleToInt64Bits(s));
            long dc = Math.Abs(BitConverter.DoubleToInt64Bits(cos[i]) - BitConverter.DoubleToInt64Bits(c));
            worst = Math.Max(worst, Math.Max(ds, dc));
            if (ds != 0 || dc != 0) differing++;
        }
        Assert.True(worst <= 1, $"worst difference {worst} ulp");
        // Outside [−π/4, π/4] the C library is used: exact.
        double[] far = [1.0, -2.5, 3.0, 100.0, 0.1];
        var fs = new double[5];
        var fc = new double[5];
        SinCosPolynomial.Compute(far, fs, fc);
        for (int i = 0; i < 4; i++) Assert.Equal(Math.SinCos(far[i]), (fs[i], fc[i]));
    }

    [Fact]
    public void Fast_trigonometry_gives_the_same_episode_statistics()
    {
        // A random policy's mean CartPole episode length is about 22 (Gymnasium's known figure): both paths must agree
        // with it and with each other within sampling error.
        double MeanLength(bool fast)
        {
            var vec = new CartPoleVectorEnv(256, fastTrigonometry: fast);
            vec.Reset(seed: 1);
            var random = new System.Random(2);
            var actions = new int[256];
            long steps = 0, episodes = 0;
            for (int t = 0; t < 400; t++)
            {
                for (int i = 0; i < actions.Length; i++) actions[i] = random.Next(2);
                vec.Step(actions);
                steps += 256;
                for (int i = 0; i < 256; i++) if (vec.Terminated[i] || vec.Truncated[i]) episodes++;
            }
            return (double)steps / episodes;
        }
        double exact = MeanLength(false), fast = MeanLength(true);
        Assert.InRange(exact, 21.0, 23.5);
        Assert.InRange(fast, exact - 0.6, exact + 0.6);
    }
}
