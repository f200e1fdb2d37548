namespace PurePg.Rl.Normalization;

/// <summary>
/// Running mean and variance of a vector quantity, merged batch by batch (Chan et al.'s parallel update, as
/// Stable-Baselines3's RunningMeanStd): with δ = mean_B − mean, n' = n + n_B,
/// mean' = mean + δ n_B/n', var' = (var·n + var_B·n_B + δ² n n_B/n')/n'. Starts from mean 0, var 1 with weight 10⁻⁴.
/// </summary>
public sealed class RunningMeanStd
{
    /// <summary>Statistics for <paramref name="size"/> components.</summary>
    public RunningMeanStd(int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        Mean = new double[size];
        Variance = Enumerable.Repeat(1.0, size).ToArray();
    }

    /// <summary>The running mean per component.</summary>
    public double[] Mean { get; }

    /// <summary>The running (population) variance per component.</summary>
    public double[] Variance { get; }

    /// <summary>The weight of everything seen, starting at 10⁻⁴.</summary>
    public double Count { get; set; } = 1e-4;

    /// <summary>Merges the statistics of another sample — its per-component mean and population variance over
    /// <paramref name="count"/> rows — by the same parallel update (nothing happens for count 0).</summary>
    public void Merge(ReadOnlySpan<double> mean, ReadOnlySpan<double> variance, double count)
    {
        int size = Mean.Length;
        if (mean.Length != size || variance.Length != size) throw new ArgumentException($"{mean.Length} means and {variance.Length} variances for {size} components.");
        if (count < 0 || !double.IsFinite(count)) throw new ArgumentOutOfRangeException(nameof(count), count, "The count must be finite and ≥ 0.");
        if (count == 0) return;
        double total = Count + count;
        for (int c = 0; c < size; c++)
        {
            double delta = mean[c] - Mean[c];
            Mean[c] += delta * count / total;
            Variance[c] = (Variance[c] * Count + variance[c] * count + delta * delta * Count * count / total) / total;
        }
        Count = total;
    }

    /// <summary>Merges a batch of rows ([rows, size] row-major).</summary>
    public void Update(ReadOnlySpan<float> batch, int rows)
    {
        int size = Mean.Length;
        if (rows <= 0 || batch.Length != rows * size) throw new ArgumentException($"{batch.Length} values are not {rows} rows of {size}.");
        for (int c = 0; c < size; c++)
        {
            double m = 0;
            for (int r = 0; r < rows; r++) m += batch[r * size + c];
            m /= rows;
            double v = 0;
            for (int r = 0; r < rows; r++) v += (batch[r * size + c] - m) * (batch[r * size + c] - m);
            v /= rows;
            double delta = m - Mean[c], total = Count + rows;
            Mean[c] += delta * rows / total;
            Variance[c] = (Variance[c] * Count + v * rows + delta * delta * Count * rows / total) / total;
        }
        Count += rows;
    }
}
