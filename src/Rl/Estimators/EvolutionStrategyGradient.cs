using PurePg.Autodiff;

namespace PurePg.Rl.Estimators;

/// <summary>
/// The evolution-strategies gradient of the lectures, sampling in parameter space: for U(μ) = E_{θ~N(μ, σ²I)}[F(θ)],
/// ∇_μ U = E[F(μ + σε) ε]/σ, estimated from n perturbations ε_j ~ N(0, I) by ĝ = (1/(nσ)) Σ_j F(μ + σε_j) ε_j, or with
/// antithetic pairs by ĝ = (1/(2nσ)) Σ_j (F(μ + σε_j) − F(μ − σε_j)) ε_j (Salimans et al. 2017). The perturbations are
/// never stored: ε_j of generation k is regenerated from (seed, k, j), so what travels between an evaluator and the
/// update is a seed and a return.
/// </summary>
public static class EvolutionStrategyGradient
{
    /// <summary>ε_j ~ N(0, I) of generation <paramref name="generation"/>, the same for the same (seed, generation, j).</summary>
    public static void Noise(ulong seed, long generation, int j, Span<double> epsilon)
    {
        var rng = new Rng(Mix(seed, (ulong)generation, (ulong)j));
        for (int i = 0; i < epsilon.Length; i++) epsilon[i] = rng.NextGaussian();
    }

    private static ulong Mix(ulong a, ulong b, ulong c)
    {
        ulong h = a * 0x9E3779B97F4A7C15UL ^ (b + 0xD1B54A32D192ED03UL) * 0xBF58476D1CE4E5B9UL ^ (c + 0x94D049BB133111EBUL) * 0x94D049BB133111EBUL;
        h ^= h >> 31;
        return h * 0xBF58476D1CE4E5B9UL + 1;
    }

    /// <summary>
    /// ĝ into <paramref name="gradient"/> (length d) from the candidates' fitnesses: with <paramref name="antithetic"/>,
    /// fitness[2j] = F(μ + σε_j) and fitness[2j + 1] = F(μ − σε_j); otherwise fitness[j] = F(μ + σε_j).
    /// </summary>
    public static void Estimate(ReadOnlySpan<double> fitness, bool antithetic, double sigma, ulong seed, long generation, Span<double> gradient)
    {
        if (!(sigma > 0)) throw new ArgumentOutOfRangeException(nameof(sigma), sigma, "σ must be positive.");
        if (antithetic && fitness.Length % 2 != 0) throw new ArgumentException($"Antithetic pairs need an even number of fitnesses, got {fitness.Length}.");
        int n = antithetic ? fitness.Length / 2 : fitness.Length;
        if (n == 0) throw new ArgumentException("No candidates.");
        gradient.Clear();
        var epsilon = new double[gradient.Length];
        for (int j = 0; j < n; j++)
        {
            Noise(seed, generation, j, epsilon);
            double w = antithetic ? (fitness[2 * j] - fitness[2 * j + 1]) / (2 * n * sigma) : fitness[j] / (n * sigma);
            for (int i = 0; i < epsilon.Length; i++) gradient[i] += w * epsilon[i];
        }
    }

    /// <summary>Centered ranks (Salimans et al.'s fitness shaping): the i-th smallest of m values becomes i/(m − 1) − ½,
    /// ties in order of index; invariant to any increasing transform of the returns.</summary>
    public static void CenteredRanks(ReadOnlySpan<double> values, Span<double> ranks)
    {
        int m = values.Length;
        if (ranks.Length != m) throw new ArgumentException($"{m} values but {ranks.Length} outputs.");
        if (m == 1) { ranks[0] = 0; return; }
        var order = new int[m];
        for (int i = 0; i < m; i++) order[i] = i;
        var copy = values.ToArray();
        Array.Sort(order, (x, y) => copy[x] != copy[y] ? copy[x].CompareTo(copy[y]) : x.CompareTo(y));
        for (int r = 0; r < m; r++) ranks[order[r]] = (double)r / (m - 1) - 0.5;
    }
}
