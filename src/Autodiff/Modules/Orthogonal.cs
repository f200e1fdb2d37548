using System.Numerics;

namespace PurePg.Autodiff.Modules;

/// <summary>Orthogonal initialization (Saxe et al. 2014), as torch.nn.init.orthogonal_ computes it.</summary>
public static class Orthogonal
{
    /// <summary>
    /// Fills W [rows, cols] with gain · Q, where Q has orthonormal rows (rows ≤ cols) or orthonormal columns
    /// (rows &gt; cols): Q comes from the QR factorization of a standard Gaussian matrix, with the signs of R's
    /// diagonal folded in so that Q is uniformly (Haar) distributed.
    /// </summary>
    public static void Fill<T>(Span<T> weight, int rows, int cols, double gain, Rng rng)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        if (weight.Length != rows * cols) throw new ArgumentException($"Orthogonal.Fill: {weight.Length} values for shape [{rows}, {cols}].", nameof(weight));
        // Work on the tall orientation [big, small]: its columns are orthonormalized.
        int big = Math.Max(rows, cols), small = Math.Min(rows, cols);
        var q = new double[big * small];
        for (int i = 0; i < q.Length; i++) q[i] = rng.NextGaussian();
        // Modified Gram–Schmidt in double precision, column by column; R's diagonal is the norm before scaling (> 0),
        // so the sign correction of torch's QR is already the identity here.
        for (int j = 0; j < small; j++)
        {
            for (int prev = 0; prev < j; prev++)
            {
                double dot = 0;
                for (int i = 0; i < big; i++) dot += q[i * small + j] * q[i * small + prev];
                for (int i = 0; i < big; i++) q[i * small + j] -= dot * q[i * small + prev];
            }
            double norm = 0;
            for (int i = 0; i < big; i++) norm += q[i * small + j] * q[i * small + j];
            norm = Math.Sqrt(norm);
            for (int i = 0; i < big; i++) q[i * small + j] /= norm;
        }
        for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
        {
            double v = rows >= cols ? q[r * small + c] : q[c * small + r];
            weight[r * cols + c] = T.CreateTruncating(gain * v);
        }
    }
}
