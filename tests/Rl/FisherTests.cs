using System.Numerics.Tensors;
using PurePg.Autodiff;
using PurePg.Autodiff.Modules;
using PurePg.Rl.Policies;
using PurePg.Rl.SecondOrder;

namespace PurePg.Rl.Tests;

public class FisherTests
{
    static double[] Uniform(Rng rng, int n, double lo, double hi) => Enumerable.Range(0, n).Select(_ => lo + (hi - lo) * rng.NextDouble()).ToArray();

    /// <summary>A random small policy of either kind in double, its states, and functions for the mean KL's gradient.</summary>
    sealed class Case
    {
        public required ParameterSet<double> Theta;
        public required FisherVectorProduct<double> Fvp;
        public required double[] Observations;
        public required Func<double[]> KlGradientAtTheta; // ∇θ mean KL(π_old ‖ π_θ) at the current θ, with π_old fixed at θ_old
        public required string Label;
    }

    static Case Make(int seed)
    {
        var rng = new Rng((ulong)seed);
        int obs = 1 + rng.NextInt(4), hidden = 2 + rng.NextInt(6), batch = 1 + rng.NextInt(7);
        bool gaussian = seed % 2 == 1;
        var theta = new ParameterSet<double>();
        double[] states = Uniform(rng, batch * obs, -2, 2);
        if (!gaussian)
        {
            int actions = 2 + rng.NextInt(4);
            var policy = new CategoricalMlpPolicy<double>(theta, obs, [hidden], actions, Activation.Tanh);
            policy.Initialize(rng);
            for (int i = 0; i < theta.Count; i++) theta.Values[i] += 0.5 * (rng.NextDouble() - 0.5); // away from the near-uniform start
            var tape0 = new Tape<double>();
            double[] oldLogits = tape0.Value(policy.Distribution(tape0, tape0.Constant(states, batch, obs)).Logits).ToArray();
            var fvp = FisherVectorProduct<double>.For(policy);
            fvp.Prepare(states);
            return new Case
            {
                Theta = theta, Fvp = fvp, Observations = states, Label = $"categorical seed {seed}",
                KlGradientAtTheta = () =>
                {
                    var t = new Tape<double>();
                    t.Backward(t.Mean(policy.Distribution(t, t.Constant(states, batch, obs)).KlFrom(oldLogits)));
                    return t.GradientOf(theta).ToArray();
                },
            };
        }
        else
        {
            int d = 1 + rng.NextInt(3);
            var policy = new GaussianMlpPolicy<double>(theta, obs, [hidden], d, Activation.Tanh);
            policy.Initialize(rng, initialLogStd: -0.3);
            for (int i = 0; i < theta.Count; i++) theta.Values[i] += 0.5 * (rng.NextDouble() - 0.5);
            var tape0 = new Tape<double>();
            var pi0 = policy.Distribution(tape0, tape0.Constant(states, batch, obs));
            double[] oldMean = tape0.Value(pi0.Mean).ToArray(), oldLogStd = tape0.Value(pi0.LogStd).ToArray();
            var fvp = FisherVectorProduct<double>.For(policy);
            fvp.Prepare(states);
            return new Case
            {
                Theta = theta, Fvp = fvp, Observations = states, Label = $"Gaussian seed {seed}",
                KlGradientAtTheta = () =>
                {
                    var t = new Tape<double>();
                    t.Backward(t.Mean(policy.Distribution(t, t.Constant(states, batch, obs)).KlFrom(oldMean, oldLogStd)));
                    return t.GradientOf(theta).ToArray();
                },
            };
        }
    }

    static double[] Product(FisherVectorProduct<double> fvp, double[] v)
    {
        var result = new double[v.Length];
        fvp.Apply((ReadOnlySpan<double>)v, result);
        return result;
    }

    [Fact]
    public void Fisher_vector_product_is_the_Hessian_of_the_mean_KL_at_theta_old()
    {
        var arb = Gen.Choose(0, 100_000).ToArbitrary();
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(40), Prop.ForAll(arb, seed =>
        {
            var c = Make(seed);
            var rng = new Rng((ulong)seed + 1);
            double[] v = Uniform(rng, c.Theta.Count, -1, 1);
            double[] fv = Product(c.Fvp, v);
            // H v ≈ (∇KL(θ + εv) − ∇KL(θ − εv)) / 2ε, θ_old held fixed
            double[] theta0 = c.Theta.Values.ToArray();
            const double eps = 1e-5;
            for (int i = 0; i < theta0.Length; i++) c.Theta.Values[i] = theta0[i] + eps * v[i];
            double[] plus = c.KlGradientAtTheta();
            for (int i = 0; i < theta0.Length; i++) c.Theta.Values[i] = theta0[i] - eps * v[i];
            double[] minus = c.KlGradientAtTheta();
            theta0.CopyTo(c.Theta.Values);
            double norm = Math.Sqrt(TensorPrimitives.Dot<double>(fv, fv)) + 1e-12;
            for (int i = 0; i < fv.Length; i++)
            {
                double hv = (plus[i] - minus[i]) / (2 * eps);
                Assert.True(Math.Abs(hv - fv[i]) <= 1e-6 * norm, $"{c.Label}, element {i}: F·v {fv[i]:R}, Hessian·v {hv:R}");
            }
        }));
    }

    [Fact]
    public void Fisher_vector_product_equals_the_assembled_Fisher_of_a_categorical_policy()
    {
        var arb = Gen.Choose(0, 50_000).Select(s => 2 * s).ToArbitrary(); // even seeds: categorical
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(20), Prop.ForAll(arb, seed =>
        {
            var rng = new Rng((ulong)seed);
            int obs = 1 + rng.NextInt(3), batch = 1 + rng.NextInt(5), actions = 2 + rng.NextInt(3);
            var theta = new ParameterSet<double>();
            var policy = new CategoricalMlpPolicy<double>(theta, obs, [3], actions, Activation.Tanh);
            policy.Initialize(rng);
            for (int i = 0; i < theta.Count; i++) theta.Values[i] += rng.NextDouble() - 0.5;
            double[] states = Uniform(rng, batch * obs, -2, 2);
            int d = theta.Count;
            // F = (1/N) Σ_s Σ_a π(a|s) ∇log π(a|s) ∇log π(a|s)ᵀ, by one backward pass per (s, a)
            var fisher = new double[d, d];
            for (int s = 0; s < batch; s++)
                for (int a = 0; a < actions; a++)
                {
                    var t = new Tape<double>();
                    var logProb = policy.Distribution(t, t.Constant(states.AsSpan(s * obs, obs), 1, obs)).LogProb([a]);
                    double p = Math.Exp(t.Scalar(logProb));
                    t.Backward(logProb);
                    double[] g = t.GradientOf(theta).ToArray();
                    for (int i = 0; i < d; i++)
                        for (int j = 0; j < d; j++) fisher[i, j] += p * g[i] * g[j] / batch;
                }
            var fvp = FisherVectorProduct<double>.For(policy, damping: 0.1);
            fvp.Prepare(states);
            double[] v = Uniform(rng, d, -1, 1);
            double[] fv = Product(fvp, v);
            for (int i = 0; i < d; i++)
            {
                double expected = 0.1 * v[i];
                for (int j = 0; j < d; j++) expected += fisher[i, j] * v[j];
                Assert.True(Math.Abs(expected - fv[i]) <= 1e-11 * (1 + Math.Abs(expected)), $"seed {seed}, element {i}: {fv[i]:R} vs assembled {expected:R}");
            }
        }));
    }

    [Fact]
    public void Fisher_vector_product_equals_the_assembled_Fisher_of_a_Gaussian_policy()
    {
        // F = (1/N) Σ_s E_{a~π(·|s)}[∇log π(a|s) ∇log π(a|s)ᵀ]. The score of a Gaussian is quadratic in a, so the outer
        // product is a polynomial of degree 4 and three-point Gauss–Hermite quadrature per action dimension (nodes 0, ±√3,
        // weights 2/3, 1/6, 1/6 for a standard normal) gives the expectation exactly: one backward pass per node.
        double[] nodes = [-Math.Sqrt(3), 0, Math.Sqrt(3)], weights = [1.0 / 6, 2.0 / 3, 1.0 / 6];
        var arb = Gen.Choose(0, 50_000).ToArbitrary();
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(20), Prop.ForAll(arb, seed =>
        {
            var rng = new Rng((ulong)seed);
            int obs = 1 + rng.NextInt(3), batch = 1 + rng.NextInt(4), dims = 1 + rng.NextInt(2);
            var theta = new ParameterSet<double>();
            var policy = new GaussianMlpPolicy<double>(theta, obs, [3], dims, Activation.Tanh);
            policy.Initialize(rng, initialLogStd: -0.5 + rng.NextDouble());
            for (int i = 0; i < theta.Count; i++) theta.Values[i] += rng.NextDouble() - 0.5; // log σ too: the weight 2 matters
            double[] states = Uniform(rng, batch * obs, -2, 2);
            int d = theta.Count;
            var fisher = new double[d, d];
            var action = new double[dims];
            for (int s = 0; s < batch; s++)
            {
                var t0 = new Tape<double>();
                var pi = policy.Distribution(t0, t0.Constant(states.AsSpan(s * obs, obs), 1, obs));
                double[] mean = t0.Value(pi.Mean).ToArray(), logStd = t0.Value(pi.LogStd).ToArray();
                int points = (int)Math.Pow(3, dims);
                for (int q = 0; q < points; q++)
                {
                    double w = 1;
                    for (int k = 0, code = q; k < dims; k++, code /= 3)
                    {
                        action[k] = mean[k] + Math.Exp(logStd[k]) * nodes[code % 3];
                        w *= weights[code % 3];
                    }
                    var t = new Tape<double>();
                    var logProb = policy.Distribution(t, t.Constant(states.AsSpan(s * obs, obs), 1, obs)).LogProb(action);
                    t.Backward(logProb);
                    double[] g = t.GradientOf(theta).ToArray();
                    for (int i = 0; i < d; i++)
                        for (int j = 0; j < d; j++) fisher[i, j] += w * g[i] * g[j] / batch;
                }
            }
            var fvp = FisherVectorProduct<double>.For(policy, damping: 0.1);
            fvp.Prepare(states);
            double[] v = Uniform(rng, d, -1, 1);
            double[] fv = Product(fvp, v);
            for (int i = 0; i < d; i++)
            {
                double expected = 0.1 * v[i];
                for (int j = 0; j < d; j++) expected += fisher[i, j] * v[j];
                Assert.True(Math.Abs(expected - fv[i]) <= 1e-11 * (1 + Math.Abs(expected)), $"seed {seed}, element {i}: {fv[i]:R} vs assembled {expected:R}");
            }
        }));
    }

    [Fact]
    public void Fisher_vector_product_is_symmetric_and_positive_semidefinite()
    {
        var arb = Gen.Choose(0, 100_000).ToArbitrary();
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(60), Prop.ForAll(arb, seed =>
        {
            var c = Make(seed);
            var rng = new Rng((ulong)seed + 7);
            double[] u = Uniform(rng, c.Theta.Count, -1, 1), v = Uniform(rng, c.Theta.Count, -1, 1);
            double[] fu = Product(c.Fvp, u), fv = Product(c.Fvp, v);
            double uFv = TensorPrimitives.Dot<double>(u, fv), vFu = TensorPrimitives.Dot<double>(v, fu);
            double scale = Math.Sqrt(TensorPrimitives.Dot<double>(u, u) * TensorPrimitives.Dot<double>(fv, fv)) + 1e-300;
            Assert.True(Math.Abs(uFv - vFu) <= 1e-12 * scale, $"{c.Label}: uᵀFv = {uFv:R}, vᵀFu = {vFu:R}");
            Assert.True(TensorPrimitives.Dot<double>(v, fv) >= -1e-14 * scale, $"{c.Label}: vᵀFv = {TensorPrimitives.Dot<double>(v, fv):R}");
        }));
    }

    [Fact]
    public void Conjugate_gradient_matches_a_dense_solve_and_stops_at_its_tolerance()
    {
        var rng = new Rng(4);
        const int n = 12;
        var a = new double[n, n];
        double[] basis = Uniform(rng, n * n, -1, 1);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                for (int k = 0; k < n; k++) a[i, j] += basis[k * n + i] * basis[k * n + j];
                if (i == j) a[i, j] += 0.5;
            }
        void Multiply(ReadOnlySpan<double> x, Span<double> y)
        {
            for (int i = 0; i < n; i++)
            {
                double s = 0;
                for (int j = 0; j < n; j++) s += a[i, j] * x[j];
                y[i] = s;
            }
        }
        double[] b = Uniform(rng, n, -1, 1);
        // the dense solution by Gaussian elimination
        var m = (double[,])a.Clone();
        var rhs = (double[])b.Clone();
        for (int col = 0; col < n; col++)
            for (int r = col + 1; r < n; r++)
            {
                double f = m[r, col] / m[col, col];
                for (int j = col; j < n; j++) m[r, j] -= f * m[col, j];
                rhs[r] -= f * rhs[col];
            }
        var dense = new double[n];
        for (int r = n - 1; r >= 0; r--)
        {
            double s = rhs[r];
            for (int j = r + 1; j < n; j++) s -= m[r, j] * dense[j];
            dense[r] = s / m[r, r];
        }
        var x = new double[n];
        var result = ConjugateGradient.Solve(Multiply, b, x, maxIterations: 200, relativeTolerance: 1e-12);
        Assert.True(result.Converged);
        for (int i = 0; i < n; i++) Assert.Equal(dense[i], x[i], 9);

        var loose = ConjugateGradient.Solve(Multiply, b, x, maxIterations: 200, relativeTolerance: 1e-2);
        Assert.True(loose.Converged && loose.Iterations < result.Iterations);
        Assert.True(loose.ResidualNorm <= 1e-2 * Math.Sqrt(TensorPrimitives.Dot<double>(b, b)));
        var residual = new double[n];
        Multiply(x, residual);
        for (int i = 0; i < n; i++) residual[i] = b[i] - residual[i];
        Assert.Equal(loose.ResidualNorm, Math.Sqrt(TensorPrimitives.Dot<double>(residual, residual)), 8);

        var capped = ConjugateGradient.Solve(Multiply, b, x, maxIterations: 2, relativeTolerance: 1e-12);
        Assert.False(capped.Converged);
        Assert.Equal(2, capped.Iterations);
        // a negative definite "matrix" is refused, naming the iteration
        var error = Assert.Throws<ArithmeticException>(() => ConjugateGradient.Solve((p, y) => { for (int i = 0; i < n; i++) y[i] = -p[i]; }, b, x));
        Assert.Contains("iteration 1", error.Message);
    }

    [Fact]
    public void Conjugate_gradient_on_a_float_policy_solves_the_damped_Fisher_system()
    {
        var rng = new Rng(9);
        var theta = new ParameterSet<float>();
        var policy = new CategoricalMlpPolicy<float>(theta, 4, [16, 16], 2);
        policy.Initialize(rng);
        var states = Uniform(rng, 256 * 4, -2, 2).Select(x => (float)x).ToArray();
        var fvp = FisherVectorProduct<float>.For(policy, damping: 0.1);
        fvp.Prepare(states);
        double[] g = Uniform(rng, theta.Count, -1, 1);
        var x = new double[theta.Count];
        var result = ConjugateGradient.Solve(fvp.Apply, g, x, maxIterations: 100, relativeTolerance: 1e-4);
        Assert.True(result.Converged, $"{result}");
        var fx = new double[theta.Count];
        fvp.Apply((ReadOnlySpan<double>)x, fx);
        double err = Math.Sqrt(g.Zip(fx, (a, b) => (a - b) * (a - b)).Sum()) / Math.Sqrt(g.Sum(a => a * a));
        Assert.True(err < 1e-3, $"‖g − (F + λI)x‖/‖g‖ = {err}");
    }
}
