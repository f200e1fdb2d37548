using System.Numerics.Tensors;

namespace PurePg.Rl.SecondOrder;

/// <summary>The outcome of a conjugate-gradient solve (<see cref="ConjugateGradient"/>).</summary>
/// <param name="Iterations">Matrix-vector products taken.</param>
/// <param name="ResidualNorm">‖b − A x‖₂ of the returned x (the recurrence's residual).</param>
/// <param name="Converged">Whether ‖r‖ ≤ tolerance·‖b‖ was reached within the iteration cap.</param>
public readonly record struct ConjugateGradientResult(int Iterations, double ResidualNorm, bool Converged);

/// <summary>
/// Conjugate gradient for A x = b with A symmetric positive definite given only as a product v ↦ A v (here F + λI, the
/// damped Fisher): x ← x + α p, r ← r − α A p, p ← r + β p with α = rᵀr / pᵀA p and β = r'ᵀr' / rᵀr, from x = 0.
/// Everything accumulates in double precision, whatever precision the product runs in.
/// </summary>
public static class ConjugateGradient
{
    /// <summary>Solves A x = b into <paramref name="x"/>, stopping after <paramref name="maxIterations"/> products or when
    /// ‖r‖₂ ≤ <paramref name="relativeTolerance"/>·‖b‖₂.</summary>
    /// <exception cref="ArgumentException">b holds a NaN or ±∞ (named by index).</exception>
    /// <exception cref="ArithmeticException">A·p is NaN, or pᵀA p ≤ 0: A is not positive definite along p (names the iteration).</exception>
    public static ConjugateGradientResult Solve(Action<ReadOnlySpan<double>, Span<double>> multiply, ReadOnlySpan<double> b, Span<double> x,
        int maxIterations = 10, double relativeTolerance = 1e-10) =>
        Solve(multiply, b, x, new double[3 * b.Length], maxIterations, relativeTolerance);

    /// <summary>The same, with the three work vectors (r, p, A p) in <paramref name="workspace"/> (3·n doubles), so a solve
    /// allocates nothing.</summary>
    public static ConjugateGradientResult Solve(Action<ReadOnlySpan<double>, Span<double>> multiply, ReadOnlySpan<double> b, Span<double> x,
        double[] workspace, int maxIterations = 10, double relativeTolerance = 1e-10)
    {
        ArgumentNullException.ThrowIfNull(multiply);
        ArgumentNullException.ThrowIfNull(workspace);
        if (x.Length != b.Length) throw new ArgumentException($"x has {x.Length} elements, b {b.Length}.", nameof(x));
        if (workspace.Length < 3 * b.Length) throw new ArgumentException($"The workspace needs 3·{b.Length} doubles, got {workspace.Length}.", nameof(workspace));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxIterations);
        if (!(relativeTolerance >= 0)) throw new ArgumentOutOfRangeException(nameof(relativeTolerance), relativeTolerance, "The tolerance must be ≥ 0.");
        int n = b.Length;
        var r = workspace.AsSpan(0, n);
        var p = workspace.AsSpan(n, n);
        var ap = workspace.AsSpan(2 * n, n);
        b.CopyTo(r);
        b.CopyTo(p);
        x.Clear();
        double rr = TensorPrimitives.Dot<double>(r, r);
        if (!double.IsFinite(rr))
            for (int i = 0; i < n; i++)
                if (!double.IsFinite(b[i])) throw new ArgumentException($"Conjugate gradient: b[{i}] is {b[i]}; the right-hand side (the gradient) must be finite.", nameof(b));
        double target = relativeTolerance * Math.Sqrt(rr);
        if (Math.Sqrt(rr) <= target || rr == 0) return new(0, Math.Sqrt(rr), true);
        for (int k = 1; k <= maxIterations; k++)
        {
            multiply(p, ap);
            double pAp = TensorPrimitives.Dot<double>(p, ap);
            if (double.IsNaN(pAp))
                throw new ArithmeticException($"Conjugate gradient, iteration {k}: the product A·p is not finite (a NaN in the Fisher-vector product or the policy).");
            if (!(pAp > 0) || !double.IsFinite(pAp))
                throw new ArithmeticException($"Conjugate gradient, iteration {k}: pᵀAp = {pAp}; the matrix is not positive definite along p (add damping).");
            double alpha = rr / pAp;
            for (int i = 0; i < n; i++)
            {
                x[i] += alpha * p[i];
                r[i] -= alpha * ap[i];
            }
            double rrNext = TensorPrimitives.Dot<double>(r, r);
            if (Math.Sqrt(rrNext) <= target) return new(k, Math.Sqrt(rrNext), true);
            double beta = rrNext / rr;
            for (int i = 0; i < n; i++) p[i] = r[i] + beta * p[i];
            rr = rrNext;
        }
        return new(maxIterations, Math.Sqrt(rr), false);
    }
}
