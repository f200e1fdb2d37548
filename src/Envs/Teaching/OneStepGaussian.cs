using PurePg.Envs.Random;

namespace PurePg.Envs.Teaching;

/// <summary>
/// The score-function warm-up: one step, one action x ∈ ℝ, reward f(x) = a·x² + b·x + c, then the episode terminates.
/// For a Gaussian policy x ~ N(μ, σ²) the objective and its gradient are known exactly:
/// E[f] = a(μ² + σ²) + bμ + c, ∂/∂μ = 2aμ + b, ∂/∂σ = 2aσ (so ∂/∂log σ = 2aσ²).
/// The default f(x) = −(x − 1)² has its optimum at μ = 1, σ → 0. The observation is the constant (0).
/// </summary>
public sealed class OneStepGaussian : Env
{
    /// <summary>f(x) = a·x² + b·x + c.</summary>
    public OneStepGaussian(double a = -1.0, double b = 2.0, double c = -1.0)
        : base(new Box([0f], [0f]), Box.Uniform(1, float.NegativeInfinity, float.PositiveInfinity))
    {
        if (!double.IsFinite(a) || !double.IsFinite(b) || !double.IsFinite(c))
            throw new ArgumentException($"f's coefficients must be finite: a = {a}, b = {b}, c = {c}.");
        (A, B, C) = (a, b, c);
    }

    /// <summary>The coefficient of x².</summary>
    public double A { get; }

    /// <summary>The coefficient of x.</summary>
    public double B { get; }

    /// <summary>The constant term.</summary>
    public double C { get; }

    /// <summary>f(x) = a·x² + b·x + c.</summary>
    public double F(double x) => A * x * x + B * x + C;

    /// <summary>J(μ, σ) = E_{x~N(μ,σ²)}[f(x)] = a(μ² + σ²) + bμ + c.</summary>
    public double ExpectedReward(double mu, double sigma) => A * (mu * mu + sigma * sigma) + B * mu + C;

    /// <summary>∂J/∂μ = 2aμ + b.</summary>
    public double GradientMu(double mu, double sigma) => 2 * A * mu + B;

    /// <summary>∂J/∂σ = 2aσ.</summary>
    public double GradientSigma(double mu, double sigma) => 2 * A * sigma;

    /// <inheritdoc/>
    protected override void ResetCore(NumpyRandom random, Span<float> observation) => observation[0] = 0;

    /// <inheritdoc/>
    protected override (double Reward, bool Terminated) StepCore(ReadOnlySpan<float> action, NumpyRandom random, Span<float> observation) =>
        (F(action[0]), true);
}
