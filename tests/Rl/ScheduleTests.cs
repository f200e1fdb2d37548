using PurePg.Envs;
using PurePg.Envs.Vector;
using PurePg.Rl.Algorithms;

namespace PurePg.Rl.Tests;

public class ScheduleTests
{
    private static Ppo Small(long planned) => new(new CartPoleVectorEnv(2), new PpoSettings
    {
        NumEnvs = 2, StepsPerEnv = 64, BatchSize = 64, Epochs = 1, LearningRate = 0.002, AnnealLearningRate = true, TotalTimesteps = planned, Seed = 1,
    });

    [Fact]
    public void Ppo_anneals_once_per_iteration_over_the_planned_steps_and_refuses_to_train_at_rate_zero()
    {
        var ppo = Small(planned: 512);
        var rates = new List<double>();
        while (ppo.TotalSteps < 512) rates.Add(ppo.Update().LearningRate);
        Assert.Equal([0.002, 0.0015, 0.001, 0.0005], rates); // α(1 − S_i/S) at S_i = 0, 128, 256, 384
        var e = Assert.Throws<InvalidOperationException>(() => ppo.Update());
        Assert.Contains("planned 512 steps", e.Message);
        ppo.PlannedSteps = 1024; // extended: the rate goes on from where the run is, over the new plan
        Assert.Equal(0.002 * (1 - 512.0 / 1024), ppo.Update().LearningRate);
        Assert.Throws<ArgumentOutOfRangeException>(() => ppo.PlannedSteps = 0);
    }

    [Fact]
    public void Rmsprop_in_the_A3C_papers_form_puts_epsilon_inside_the_root()
    {
        var paper = new Optimizers.RmsProp<double>(1, Optimizers.LearningRateSchedule.Constant(0.5), rho: 0.9, epsilon: 0.1, epsilonInsideRoot: true);
        var pytorch = new Optimizers.RmsProp<double>(1, Optimizers.LearningRateSchedule.Constant(0.5), rho: 0.9, epsilon: 0.1);
        double[] a = [1.0], b = [1.0];
        paper.Ascend(a, [2.0]);
        pytorch.Ascend(b, [2.0]);
        double v = 0.1 * 4.0; // v = ρ·0 + (1 − ρ)g²
        Assert.Equal(1.0 + 0.5 * 2.0 / Math.Sqrt(v + 0.1), a[0], 14);
        Assert.Equal(1.0 + 0.5 * 2.0 / (Math.Sqrt(v) + 0.1), b[0], 14);
    }

    [Fact]
    public void One_step_over_two_parameter_groups_clips_globally_and_equals_two_optimizers_fed_the_jointly_clipped_gradient()
    {
        var rng = new Autodiff.Rng(3);
        float[] Random(int n, double scale) => Enumerable.Range(0, n).Select(_ => (float)(scale * rng.NextGaussian())).ToArray();
        float[] theta = Random(37, 1), phi = Random(21, 1);
        float[] thetaRef = (float[])theta.Clone(), phiRef = (float[])phi.Clone();
        var grouped = new Optimizers.Adam<float>(58, Optimizers.LearningRateSchedule.Constant(0.01), maxGradientNorm: 0.5);
        var first = new Optimizers.Adam<float>(37, Optimizers.LearningRateSchedule.Constant(0.01));
        var second = new Optimizers.Adam<float>(21, Optimizers.LearningRateSchedule.Constant(0.01));
        for (int step = 0; step < 5; step++)
        {
            float[] g1 = Random(37, 2), g2 = Random(21, 2);
            grouped.Ascend(theta, g1, phi, g2);
            // the reference: the global norm over both, the scale min(1, c/‖g‖) applied to each, then each group alone
            double norm = Math.Sqrt((double)System.Numerics.Tensors.TensorPrimitives.SumOfSquares<float>(g1) + System.Numerics.Tensors.TensorPrimitives.SumOfSquares<float>(g2));
            float scale = norm > 0.5 ? (float)(0.5 / norm) : 1f;
            Assert.True(norm > 0.5); // the clip is exercised
            first.Ascend(thetaRef, g1.Select(x => x * scale).ToArray());
            second.Ascend(phiRef, g2.Select(x => x * scale).ToArray());
            Assert.Equal(norm, grouped.LastGradientNorm, 12);
        }
        Assert.Equal(thetaRef, theta);
        Assert.Equal(phiRef, phi);
        var e = Assert.Throws<ArgumentException>(() => grouped.Ascend(theta, new float[37], phi, Enumerable.Repeat(float.NaN, 21).ToArray()));
        Assert.Contains("gradient element 0 of group 2 is NaN", e.Message);
    }

    [Fact]
    public void A3c_anneals_its_shared_step_size_to_zero_at_the_planned_steps()
    {
        float[] Trained(bool anneal, long planned)
        {
            var a3c = new A3c(() => EnvRegistry.Make("CartPole-v1"), new A3cSettings { Workers = 1, Seed = 2, AnnealLearningRate = anneal, TotalTimesteps = planned });
            a3c.Train(300);
            return a3c.Agent.Theta.Values.ToArray();
        }
        var initial = new A3c(() => EnvRegistry.Make("CartPole-v1"), new A3cSettings { Workers = 1, Seed = 2 }).Agent.Theta.Values.ToArray();
        Assert.Equal(initial, Trained(anneal: true, planned: 1));    // every update at T ≥ T_max: η = 0
        Assert.NotEqual(initial, Trained(anneal: true, planned: 1_000_000));
        Assert.NotEqual(initial, Trained(anneal: false, planned: 1));
    }

    [Fact]
    public void A3c_workers_seed_their_environment_once_so_episodes_start_from_different_states()
    {
        var starts = new HashSet<float>();
        var a3c = new A3c(() => new FirstObservationRecorder(starts), new A3cSettings { Workers = 1, Seed = 3 });
        a3c.Train(3_000);
        Assert.True(a3c.LastEpisodes.Count > 20);
        Assert.True(starts.Count >= a3c.LastEpisodes.Count, $"{a3c.LastEpisodes.Count} episodes began from {starts.Count} distinct states");
    }

    /// <summary>Episodes of 5 steps whose first observation is a uniform draw from the environment's own stream, recorded.</summary>
    private sealed class FirstObservationRecorder(HashSet<float> starts) : Env(new Box([-1f, -1f], [1f, 1f]), new Discrete(2))
    {
        private int _t;

        protected override void ResetCore(Envs.Random.NumpyRandom random, Span<float> observation)
        {
            observation[0] = (float)random.Uniform(-1, 1);
            observation[1] = 0;
            _t = 0;
            lock (starts) starts.Add(observation[0]);
        }

        protected override (double Reward, bool Terminated) StepCore(int action, Envs.Random.NumpyRandom random, Span<float> observation)
        {
            observation[1] = ++_t / 5f;
            return (action, _t == 5);
        }
    }
}
