using PurePg.Autodiff;
using PurePg.Envs.Teaching;
using PurePg.Rl.Estimators;
using PurePg.Rl.Optimizers;

namespace PurePg.Rl.Tests;

public class WarmupAndOptimizerTests
{
    [Theory]
    [InlineData(0.3, 0.8, false)]
    [InlineData(0.3, 0.8, true)]
    [InlineData(-1.0, 1.5, false)]
    [InlineData(-1.0, 1.5, true)]
    public void Score_function_warmup_is_unbiased_with_and_without_a_baseline(double mu, double sigma, bool baseline)
    {
        var env = new OneStepGaussian(a: -1.0, b: 2.0, c: -1.0);
        var rng = new Rng(5);
        const int n = 100_000;
        // the baseline is the mean reward of an independent batch (so it does not depend on the sample it is used with)
        double b = 0;
        if (baseline)
        {
            for (int i = 0; i < 10_000; i++) b += env.F(mu + sigma * rng.NextGaussian());
            b /= 10_000;
        }
        var gMu = new double[n];
        var gSigma = new double[n];
        env.Reset(seed: 0);
        for (int i = 0; i < n; i++)
        {
            double x = mu + sigma * rng.NextGaussian();
            double fx = env.Step((float)x).Reward; // the environment's reward for this action
            (gMu[i], gSigma[i]) = ScoreFunction.GaussianEstimate((float)x, fx, mu, sigma, b);
            env.Reset();
        }
        DistributionTests.WithinStandardErrors(env.GradientMu(mu, sigma), gMu, "∂J/∂μ", 4.5);
        DistributionTests.WithinStandardErrors(env.GradientSigma(mu, sigma), gSigma, "∂J/∂σ", 4.5);
    }

    // J(θ) = −½ Σ (θ_i − t_i)² so g = ∇J = t − θ; each optimizer against its update written out by hand.
    static readonly double[] Target = [1.0, -2.0, 0.5];
    static double[] Gradient(double[] theta) => theta.Select((x, i) => Target[i] - x).ToArray();

    static double[][] Run(Optimizer<double> optimizer, int steps)
    {
        var theta = new double[3];
        var path = new double[steps][];
        for (int k = 0; k < steps; k++)
        {
            optimizer.Ascend(theta, Gradient(theta));
            path[k] = (double[])theta.Clone();
        }
        return path;
    }

    static void Same(double[][] expected, double[][] actual)
    {
        for (int k = 0; k < expected.Length; k++)
            for (int i = 0; i < 3; i++) Assert.Equal(expected[k][i], actual[k][i], 12);
    }

    [Fact]
    public void Sgd_with_momentum_follows_its_update_rule()
    {
        // v1 = g0 = t; θ1 = 0.1 t.  g1 = 0.9 t; v2 = 0.5 t + 0.9 t = 1.4 t; θ2 = 0.1 t + 0.14 t = 0.24 t.
        // g2 = 0.76 t; v3 = 0.7 t + 0.76 t = 1.46 t; θ3 = 0.24 t + 0.146 t = 0.386 t.
        double[][] expected = [Target.Select(t => 0.1 * t).ToArray(), Target.Select(t => 0.24 * t).ToArray(), Target.Select(t => 0.386 * t).ToArray()];
        Same(expected, Run(new Sgd<double>(3, LearningRateSchedule.Constant(0.1), momentum: 0.5), 3));
    }

    [Fact]
    public void Adam_follows_its_update_rule()
    {
        // Step 1: m̂ = g, v̂ = g², so θ1 = α g/(|g| + ε) = α·sign(t) (to ε).
        var path = Run(new Adam<double>(3, LearningRateSchedule.Constant(0.01), epsilon: 0), 2);
        for (int i = 0; i < 3; i++) Assert.Equal(0.01 * Math.Sign(Target[i]), path[0][i], 14);
        // Step 2 by hand: g1 = t − θ1; m = 0.9·0.1 g0 + 0.1 g1 → m̂ = m/(1 − 0.81); v likewise with 0.999.
        for (int i = 0; i < 3; i++)
        {
            double g0 = Target[i], g1 = Target[i] - path[0][i];
            double m = 0.9 * (0.1 * g0) + 0.1 * g1, v = 0.999 * (0.001 * g0 * g0) + 0.001 * g1 * g1;
            double expected = path[0][i] + 0.01 * (m / (1 - 0.81)) / Math.Sqrt(v / (1 - 0.999 * 0.999));
            Assert.Equal(expected, path[1][i], 12);
        }
    }

    [Fact]
    public void Adam_on_long_vectors_takes_the_same_steps_as_its_scalar_rule()
    {
        // 37 elements: several SIMD blocks and a tail, in float as training runs it
        var rng = new Rng(3);
        int n = 37;
        var theta = Enumerable.Range(0, n).Select(_ => (float)rng.NextGaussian()).ToArray();
        var reference = (float[])theta.Clone();
        var m = new float[n];
        var v = new float[n];
        var adam = new Adam<float>(n, LearningRateSchedule.Constant(0.01), maxGradientNorm: 1.0);
        for (int k = 1; k <= 5; k++)
        {
            var g = Enumerable.Range(0, n).Select(_ => (float)rng.NextGaussian()).ToArray();
            adam.Ascend(theta, g);
            double norm = Math.Sqrt(g.Sum(x => (double)x * x));
            float scale = norm > 1.0 ? (float)(1.0 / norm) : 1f;
            float c1 = (float)(1 - Math.Pow(0.9, k)), c2 = (float)(1 - Math.Pow(0.999, k));
            for (int i = 0; i < n; i++)
            {
                float gi = scale * g[i];
                m[i] = 0.9f * m[i] + 0.1f * gi;
                v[i] = 0.999f * v[i] + (1f - 0.999f) * gi * gi;
                reference[i] += 0.01f * (m[i] / c1) / (MathF.Sqrt(v[i] / c2) + 1e-8f);
            }
            for (int i = 0; i < n; i++) Assert.True(Math.Abs(reference[i] - theta[i]) <= 1e-6f * (1 + Math.Abs(reference[i])), $"step {k}, element {i}");
        }
    }

    [Fact]
    public void AdaGrad_and_RmsProp_follow_their_update_rules()
    {
        var ada = Run(new AdaGrad<double>(3, LearningRateSchedule.Constant(0.5), epsilon: 0), 2);
        var rms = Run(new RmsProp<double>(3, LearningRateSchedule.Constant(0.5), rho: 0.9, epsilon: 0), 2);
        for (int i = 0; i < 3; i++)
        {
            double g0 = Target[i];
            Assert.Equal(0.5 * Math.Sign(g0), ada[0][i], 14);                          // 0.5 g/√(g²)
            double g1 = g0 - ada[0][i];
            Assert.Equal(ada[0][i] + 0.5 * g1 / Math.Sqrt(g0 * g0 + g1 * g1), ada[1][i], 12);
            Assert.Equal(0.5 * g0 / Math.Sqrt(0.1 * g0 * g0), rms[0][i], 12);          // v = 0.1 g²
            double h1 = g0 - rms[0][i];
            Assert.Equal(rms[0][i] + 0.5 * h1 / Math.Sqrt(0.9 * 0.1 * g0 * g0 + 0.1 * h1 * h1), rms[1][i], 12);
        }
    }

    [Fact]
    public void Clipping_schedules_and_errors()
    {
        // ‖g0‖ = √5.25 > 1: clipped to norm 1, so θ1 = 0.1 g0/‖g0‖
        var sgd = new Sgd<double>(3, LearningRateSchedule.Linear(0.1, totalUpdates: 4), maxGradientNorm: 1.0);
        var theta = new double[3];
        sgd.Ascend(theta, Gradient(theta));
        double norm = Math.Sqrt(Target.Sum(t => t * t));
        for (int i = 0; i < 3; i++) Assert.Equal(0.1 * Target[i] / norm, theta[i], 14);
        Assert.Equal(norm, sgd.LastGradientNorm, 14);
        Assert.Equal(0.075, sgd.LearningRate.At(1), 14);
        Assert.Equal(0.0, sgd.LearningRate.At(9), 14);
        Assert.Contains("gradient element 1 is NaN at update 1", Assert.Throws<ArgumentException>(() => sgd.Ascend(theta, [0, double.NaN, 0])).Message);
        Assert.Throws<ArgumentException>(() => sgd.Ascend(theta, [0, 0]));
    }
}
