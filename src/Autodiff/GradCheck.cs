namespace PurePg.Autodiff;

/// <summary>The outcome of <see cref="GradCheck.Check"/> in its worst direction.</summary>
/// <param name="Analytic">⟨∇f(θ), u⟩ from reverse mode.</param>
/// <param name="Numeric">(f(θ + εu) − f(θ − εu)) / 2ε.</param>
/// <param name="RelativeError">|Analytic − Numeric| / max(‖∇f(θ)‖₂, |Numeric|, 1e-8).</param>
/// <param name="Passed">RelativeError ≤ the tolerance in every direction tried.</param>
public readonly record struct GradCheckResult(double Analytic, double Numeric, double RelativeError, bool Passed)
{
    /// <inheritdoc/>
    public override string ToString() =>
        $"{(Passed ? "passed" : "FAILED")}: analytic {Analytic:R}, numeric {Numeric:R}, relative error {RelativeError:E3}";
}

/// <summary>
/// Checks a reverse-mode gradient the way JAX's check_grads and PyTorch's fast gradcheck do: a dot-product test in
/// random unit directions u, ⟨∇f(θ), u⟩ against the central finite difference (f(θ + εu) − f(θ − εu)) / 2ε, in
/// double precision. Use it on your own losses.
/// </summary>
public static class GradCheck
{
    /// <summary>
    /// Checks ∇f at the current θ of <paramref name="parameters"/>, where f is the scalar that <paramref name="loss"/>
    /// records on the tape it is given. θ is restored afterwards. The error is relative to ‖∇f‖₂, the largest
    /// ⟨∇f, u⟩ can be, so it does not depend on the loss's scale.
    /// </summary>
    /// <param name="parameters">θ; the check perturbs all of it.</param>
    /// <param name="loss">Records f(θ) on the tape and returns the [1, 1] result. Called 1 + 2·directions times.</param>
    /// <param name="seed">Seed of the random directions.</param>
    /// <param name="directions">Number of random directions u.</param>
    /// <param name="epsilon">Finite-difference step along the unit direction.</param>
    /// <param name="tolerance">Largest relative error that passes.</param>
    public static GradCheckResult Check(ParameterSet<double> parameters, Func<Tape<double>, Var<double>> loss,
        ulong seed = 0, int directions = 3, double epsilon = 1e-6, double tolerance = 1e-6)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(loss);
        if (directions <= 0) throw new ArgumentOutOfRangeException(nameof(directions), $"GradCheck: need at least one direction, got {directions}.");
        if (!(epsilon > 0)) throw new ArgumentOutOfRangeException(nameof(epsilon), $"GradCheck: epsilon must be positive, got {epsilon}.");
        var tape = new Tape<double> { CheckFinite = true };
        tape.Backward(loss(tape));
        double[] gradient = tape.GradientOf(parameters).ToArray();
        double gradientNorm = Math.Sqrt(System.Numerics.Tensors.TensorPrimitives.Dot<double>(gradient, gradient));

        Span<double> theta = parameters.Values;
        double[] saved = theta.ToArray();
        var u = new double[theta.Length];
        var rng = new Rng(seed);
        GradCheckResult worst = default;
        for (int d = 0; d < directions; d++)
        {
            for (int i = 0; i < u.Length; i++) u[i] = rng.NextGaussian();
            double norm = Math.Sqrt(System.Numerics.Tensors.TensorPrimitives.Dot<double>(u, u));
            for (int i = 0; i < u.Length; i++) u[i] /= norm;

            double analytic = System.Numerics.Tensors.TensorPrimitives.Dot<double>(gradient, u);
            double plus = Evaluate(tape, parameters, loss, saved, u, epsilon);
            double minus = Evaluate(tape, parameters, loss, saved, u, -epsilon);
            saved.CopyTo(theta);
            double numeric = (plus - minus) / (2 * epsilon);
            double error = Math.Abs(analytic - numeric) / Math.Max(Math.Max(gradientNorm, Math.Abs(numeric)), 1e-8);
            if (d == 0 || !(error <= worst.RelativeError)) worst = new GradCheckResult(analytic, numeric, error, false);
        }
        return worst with { Passed = worst.RelativeError <= tolerance };
    }

    private static double Evaluate(Tape<double> tape, ParameterSet<double> parameters, Func<Tape<double>, Var<double>> loss,
        double[] theta0, double[] u, double step)
    {
        Span<double> theta = parameters.Values;
        for (int i = 0; i < theta.Length; i++) theta[i] = theta0[i] + step * u[i];
        tape.Reset();
        return tape.Scalar(loss(tape));
    }
}
