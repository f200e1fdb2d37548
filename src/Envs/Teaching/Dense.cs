namespace PurePg.Envs.Teaching;

/// <summary>Small dense float64 matrices for the teaching environments' exact answers (sizes of a few dozen at most).</summary>
static class Dense
{
    public static double[,] Identity(int n)
    {
        var m = new double[n, n];
        for (int i = 0; i < n; i++) m[i, i] = 1;
        return m;
    }

    public static double[,] Multiply(double[,] a, double[,] b)
    {
        int n = a.GetLength(0), k = a.GetLength(1), m = b.GetLength(1);
        if (b.GetLength(0) != k) throw new ArgumentException($"Cannot multiply {n}×{k} by {b.GetLength(0)}×{m}.");
        var c = new double[n, m];
        for (int i = 0; i < n; i++)
            for (int p = 0; p < k; p++)
            {
                double aip = a[i, p];
                for (int j = 0; j < m; j++) c[i, j] += aip * b[p, j];
            }
        return c;
    }

    public static double[,] Transpose(double[,] a)
    {
        var t = new double[a.GetLength(1), a.GetLength(0)];
        for (int i = 0; i < a.GetLength(0); i++)
            for (int j = 0; j < a.GetLength(1); j++) t[j, i] = a[i, j];
        return t;
    }

    public static double[,] Add(double[,] a, double[,] b, double scaleB = 1)
    {
        var c = (double[,])a.Clone();
        for (int i = 0; i < a.GetLength(0); i++)
            for (int j = 0; j < a.GetLength(1); j++) c[i, j] += scaleB * b[i, j];
        return c;
    }

    public static double[,] Scale(double[,] a, double s) => Add(new double[a.GetLength(0), a.GetLength(1)], a, s);

    public static double Trace(double[,] a)
    {
        double t = 0;
        for (int i = 0; i < a.GetLength(0); i++) t += a[i, i];
        return t;
    }

    /// <summary>X with A·X = B, by Gaussian elimination with partial pivoting.</summary>
    /// <exception cref="ArgumentException">A is singular to working precision.</exception>
    public static double[,] Solve(double[,] a, double[,] b)
    {
        int n = a.GetLength(0), m = b.GetLength(1);
        var lu = (double[,])a.Clone();
        var x = (double[,])b.Clone();
        for (int col = 0; col < n; col++)
        {
            int pivot = col;
            for (int r = col + 1; r < n; r++)
                if (Math.Abs(lu[r, col]) > Math.Abs(lu[pivot, col])) pivot = r;
            if (Math.Abs(lu[pivot, col]) < 1e-300) throw new ArgumentException("The matrix is singular.");
            if (pivot != col)
            {
                for (int j = 0; j < n; j++) (lu[col, j], lu[pivot, j]) = (lu[pivot, j], lu[col, j]);
                for (int j = 0; j < m; j++) (x[col, j], x[pivot, j]) = (x[pivot, j], x[col, j]);
            }
            for (int r = col + 1; r < n; r++)
            {
                double f = lu[r, col] / lu[col, col];
                if (f == 0) continue;
                for (int j = col; j < n; j++) lu[r, j] -= f * lu[col, j];
                for (int j = 0; j < m; j++) x[r, j] -= f * x[col, j];
            }
        }
        for (int col = n - 1; col >= 0; col--)
            for (int j = 0; j < m; j++)
            {
                double s = x[col, j];
                for (int k = col + 1; k < n; k++) s -= lu[col, k] * x[k, j];
                x[col, j] = s / lu[col, col];
            }
        return x;
    }

    /// <summary>A lower-triangular L with L·Lᵀ = A for a symmetric positive-definite A.</summary>
    public static double[,] Cholesky(double[,] a)
    {
        int n = a.GetLength(0);
        var l = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++)
            {
                double s = a[i, j];
                for (int k = 0; k < j; k++) s -= l[i, k] * l[j, k];
                if (i == j)
                {
                    if (s <= 0) throw new ArgumentException("The matrix is not positive definite.");
                    l[i, i] = Math.Sqrt(s);
                }
                else l[i, j] = s / l[j, j];
            }
        return l;
    }

    public static double[,] Copy(double[,] a) => (double[,])a.Clone();
}
