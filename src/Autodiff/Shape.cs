namespace PurePg.Autodiff;

/// <summary>
/// The shape of a dense row-major tensor of rank ≤ 2: <c>[Rows, Cols]</c>. A vector of length n is
/// <c>[1, n]</c> when it broadcasts over rows (a bias) and <c>[n, 1]</c> when it holds one value per row.
/// </summary>
/// <param name="Rows">Number of rows (the batch dimension in RL code).</param>
/// <param name="Cols">Number of columns (features).</param>
public readonly record struct Shape(int Rows, int Cols)
{
    /// <summary>Number of elements, Rows · Cols.</summary>
    public int Length => Rows * Cols;

    /// <summary>Formats as <c>[rows, cols]</c>, the form every shape error uses.</summary>
    public override string ToString() => $"[{Rows}, {Cols}]";
}
