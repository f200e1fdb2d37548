namespace PurePg.Rl.Estimators;

/// <summary>
/// The score-function warm-up of the lectures: ∇_θ E_{x~P_θ}[f(x)] = E[f(x) ∇_θ log P_θ(x)], for the one-step Gaussian
/// x ~ N(μ, σ²) with θ = (μ, σ): ∇_μ log p = (x − μ)/σ², ∇_σ log p = ((x − μ)² − σ²)/σ³.
/// </summary>
public static class ScoreFunction
{
    /// <summary>The per-sample estimate (f(x) − b)·∇_θ log p(x) as (∂μ, ∂σ).</summary>
    public static (double Mu, double Sigma) GaussianEstimate(double x, double fx, double mu, double sigma, double baseline = 0)
    {
        if (!(sigma > 0)) throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "σ must be positive.");
        double z = x - mu, w = fx - baseline;
        return (w * z / (sigma * sigma), w * (z * z - sigma * sigma) / (sigma * sigma * sigma));
    }
}
