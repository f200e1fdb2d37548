using PurePg.Autodiff.Kernels;

namespace PurePg.Autodiff.Tests;

/// <summary>The bias kernels (column sums, row broadcast) against plain loops, on every path they take: wide rows, narrow
/// rows whose width divides a vector, and widths that do neither.</summary>
public class ElementwiseTests
{
    public static TheoryData<int, int> Shapes()
    {
        var data = new TheoryData<int, int>();
        foreach (int rows in (int[])[1, 3, 64, 1001])
        foreach (int cols in (int[])[1, 2, 3, 4, 7, 8, 9, 16, 63, 64, 65, 130])
            data.Add(rows, cols);
        return data;
    }

    [Theory, MemberData(nameof(Shapes))]
    public void ColumnSumsMatchALoop(int rows, int cols)
    {
        Check<float>(rows, cols, 1e-5);
        Check<double>(rows, cols, 1e-13);

        static void Check<T>(int rows, int cols, double tolerance) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
        {
            var rng = new Rng((ulong)(rows * 1000 + cols));
            T[] x = Enumerable.Range(0, rows * cols).Select(_ => T.CreateTruncating(rng.NextGaussian())).ToArray();
            T[] s = Enumerable.Range(0, cols).Select(_ => T.CreateTruncating(rng.NextGaussian())).ToArray();
            double[] expected = new double[cols];
            for (int j = 0; j < cols; j++)
            {
                expected[j] = double.CreateTruncating(s[j]);
                for (int r = 0; r < rows; r++) expected[j] += double.CreateTruncating(x[r * cols + j]);
            }
            Elementwise.AccumulateColumnSums<T>(x, rows, cols, s);
            for (int j = 0; j < cols; j++)
                Assert.True(Math.Abs(double.CreateTruncating(s[j]) - expected[j]) <= tolerance * Math.Sqrt(rows + 1) * 4,
                    $"{typeof(T).Name} [{rows}, {cols}] column {j}: {s[j]} vs {expected[j]}");
        }
    }

    [Theory, MemberData(nameof(Shapes))]
    public void BroadcastRowsCopiesTheVectorIntoEveryRow(int rows, int cols)
    {
        float[] v = Enumerable.Range(1, cols).Select(i => (float)i).ToArray();
        float[] y = Enumerable.Repeat(float.NaN, rows * cols + 5).ToArray();
        Elementwise.BroadcastRows<float>(v, y, rows, cols);
        for (int r = 0; r < rows; r++)
        for (int j = 0; j < cols; j++)
            Assert.Equal(v[j], y[r * cols + j]);
        Assert.All(y[(rows * cols)..], value => Assert.True(float.IsNaN(value), "wrote past the matrix"));
    }
}
