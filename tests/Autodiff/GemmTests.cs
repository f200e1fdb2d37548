using PurePg.Autodiff.Kernels;

namespace PurePg.Autodiff.Tests;

/// <summary>Our GEMM against a naive triple loop in double precision: every path, every micro-kernel this machine has, every orientation.</summary>
public class GemmTests
{
    private static readonly GemmPath[] Paths = [GemmPath.Auto, GemmPath.Packed, GemmPath.SmallK, GemmPath.SmallM, GemmPath.Dots, GemmPath.TransposedSmallM];

    /// <summary>
    /// Every micro-kernel, whatever this machine accelerates: where Vector512 (or Vector256) is not accelerated,
    /// .NET emulates it in software — slowly, but with the same results — so each kernel's logic is proven here.
    /// </summary>
    private static readonly GemmIsa[] Isas = [GemmIsa.Scalar, GemmIsa.Vector256, GemmIsa.Vector512];

    /// <summary>
    /// Checks C = op(A)·op(B) (+ C0) against the exact product within the standard rounding bound of a length-k dot
    /// product, |ĉ − c| ≤ 2·k·u·Σ_p |a_ip||b_pj| (u the unit roundoff of T), plus the rounding of the accumulate.
    /// A missing or misplaced term is off by about |a_ip b_pj|, far outside that bound.
    /// </summary>
    private static void CheckOne<T>(int m, int n, int k, bool ta, bool tb, bool accumulate, GemmPath path, GemmIsa isa, ulong seed, bool bias = false)
        where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        var rng = new Rng(seed);
        double[] a = Generators.Uniform(rng, m * k, -1, 1), b = Generators.Uniform(rng, k * n, -1, 1), c0 = Generators.Uniform(rng, m * n, -1, 1);
        double[] v = Generators.Uniform(rng, n, -1, 1);
        T[] at = a.Select(T.CreateTruncating).ToArray(), bt = b.Select(T.CreateTruncating).ToArray(), ct = c0.Select(T.CreateTruncating).ToArray();
        T[] vt = v.Select(T.CreateTruncating).ToArray();
        Gemm.PathOverride = path;
        Gemm.IsaOverride = isa;
        try
        {
            if (bias) Gemm.MultiplyAddBias<T>(at, ta, bt, tb, vt, ct, m, n, k);
            else Gemm.Multiply<T>(at, ta, bt, tb, ct, m, n, k, accumulate);
        }
        finally { Gemm.PathOverride = GemmPath.Auto; Gemm.IsaOverride = null; }

        double u = typeof(T) == typeof(float) ? Math.Pow(2, -24) : Math.Pow(2, -53); // unit roundoff
        for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
        {
            double exact = bias ? double.CreateTruncating(vt[j]) : accumulate ? double.CreateTruncating(T.CreateTruncating(c0[i * n + j])) : 0;
            double magnitude = Math.Abs(exact);
            for (int p = 0; p < k; p++)
            {
                double ap = double.CreateTruncating(at[ta ? p * m + i : i * k + p]), bp = double.CreateTruncating(bt[tb ? j * k + p : p * n + j]);
                exact += ap * bp;
                magnitude += Math.Abs(ap * bp);
            }
            double got = double.CreateTruncating(ct[i * n + j]);
            double bound = 2 * (k + 1) * u * magnitude + 1e-300;
            if (!(Math.Abs(got - exact) <= bound))
                Assert.Fail($"Gemm<{typeof(T).Name}> {path}/{isa} M={m} N={n} K={k} transA={ta} transB={tb} accumulate={accumulate} bias={bias}: C[{i},{j}] = {got}, exact {exact}, error {Math.Abs(got - exact):E3} > bound {bound:E3}");
        }
    }

    private static void CheckAll<T>(int m, int n, int k, ulong seed) where T : unmanaged, System.Numerics.IBinaryFloatingPointIeee754<T>
    {
        foreach (bool ta in (bool[])[false, true])
        foreach (bool tb in (bool[])[false, true])
        foreach (GemmPath path in Paths)
        foreach (GemmIsa isa in path == GemmPath.Packed ? Isas : [Gemm.BestIsa])
            CheckOne<T>(m, n, k, ta, tb, accumulate: seed % 3 == 1, path, isa, seed, bias: seed % 3 == 2);
    }

    private static readonly Arbitrary<(int M, int N, int K, ulong Seed)> Shapes =
        (from m in Generators.Size from n in Generators.Size from k in Generators.Size from s in Gen.Choose(0, int.MaxValue)
         select (m, n, k, (ulong)s)).ToArbitrary();

    [Fact] public void FloatEveryPathAndOrientation() => Generators.ForAll(Shapes, s => CheckAll<float>(s.M, s.N, s.K, s.Seed), maxTest: 60);

    [Fact] public void DoubleEveryPathAndOrientation() => Generators.ForAll(Shapes, s => CheckAll<double>(s.M, s.N, s.K, s.Seed), maxTest: 60);

    /// <summary>Shapes that cross the cache blocks (KC = 256 or 512 by kernel, MC = 120, NC = 1536) and the MLP shapes of the benchmarks.</summary>
    [Theory]
    [InlineData(250, 70, 300)]
    [InlineData(121, 33, 257)]
    [InlineData(19, 40, 1031)] // A read in place: one depth block of 1032; Aᵀ: two of 512 and a short one; a one-vector-wide last panel
    [InlineData(13, 40, 2500)] // A read in place: two depth blocks of 1256 (the last 1244), a one-row last tile
    [InlineData(20, 24, 4900)] // A read in place: three depth blocks of 1640 (the last 1620), 8 + 8 rows of 4-row tiles
    [InlineData(7, 3100, 12)]  // three NC blocks, the last 28 columns
    [InlineData(13, 1600, 530)] // two NC and two KC blocks, Aᵀ packed whole (N ≥ 512), a one-row last tile
    [InlineData(127, 600, 300)] // op(A) = Aᵀ packed whole (N ≥ 512), with an edge panel in each MC block
    [InlineData(200, 530, 40)]  // Aᵀ packed whole; the 80-row block ends in two 4-row panels (6q + 2 rows)
    [InlineData(80, 40, 70)]    // A in place, 6q + 2 rows: two 4-row tiles at the end
    [InlineData(2048, 64, 4)]
    [InlineData(2048, 2, 64)]
    [InlineData(1003, 2, 24)] // the action head, four rows per eight dot products, three rows left over
    [InlineData(70, 1, 64)]   // a value head: eight rows per block, six left over
    [InlineData(9, 4, 16)]    // two rows against four, one left over
    [InlineData(64, 4, 2048)]
    [InlineData(2, 64, 2048)]
    [InlineData(3, 45, 64)]  // two rows at a time: a block of 4·w columns, one vector, five single columns; then one row
    [InlineData(1, 64, 64)]  // acting: y = W·x, eight dot products per reduction
    [InlineData(4, 16, 8)]
    [InlineData(1, 64, 4)]   // acting, observation layer: K = 4 dot products two rows of W per vector
    [InlineData(3, 24, 4)]
    [InlineData(64, 64, 1)]
    public void BlockBoundariesAndMlpShapes(int m, int n, int k)
    {
        foreach (bool ta in (bool[])[false, true])
        foreach (bool tb in (bool[])[false, true])
        {
            CheckOne<float>(m, n, k, ta, tb, accumulate: false, GemmPath.Auto, Gemm.BestIsa, 1);
            CheckOne<double>(m, n, k, ta, tb, accumulate: true, GemmPath.Auto, Gemm.BestIsa, 2);
            if (m * n * k < 3_000_000) CheckOne<float>(m, n, k, ta, tb, accumulate: true, GemmPath.Packed, Gemm.BestIsa, 3);
            if (m * n * k < 3_000_000) CheckOne<float>(m, n, k, ta, tb, accumulate: false, GemmPath.Packed, Gemm.BestIsa, 4, bias: true);
            CheckOne<float>(m, n, k, ta, tb, accumulate: false, GemmPath.Auto, Gemm.BestIsa, 5, bias: true);
        }
    }

    /// <summary>
    /// Aᵀ packed once and reused by every column block (N > NC = 1536): two ic blocks (120 + 7 rows, the last with a
    /// partial panel), two depth blocks (512 + 3) and two column blocks (1536 + 4, the last a partial panel), so each
    /// block's offset in the packed Aᵀ is exercised.
    /// </summary>
    [Fact]
    public void TransposedAPackedOnceAcrossColumnBlocks()
    {
        CheckOne<float>(127, 1540, 515, ta: true, tb: false, accumulate: true, GemmPath.Auto, Gemm.BestIsa, 6);
        CheckOne<double>(127, 1540, 515, ta: true, tb: false, accumulate: false, GemmPath.Auto, Gemm.BestIsa, 7);
    }

    [Fact]
    public void ZeroInnerDimensionClearsOrKeeps()
    {
        float[] c = [1, 2, 3, 4];
        Gemm.Multiply<float>([], false, [], false, c, 2, 2, 0, accumulate: true);
        Assert.Equal([1f, 2, 3, 4], c);
        Gemm.Multiply<float>([], false, [], false, c, 2, 2, 0, accumulate: false);
        Assert.Equal([0f, 0, 0, 0], c);
        Gemm.MultiplyAddBias<float>([], false, [], false, [5, 6], c, 2, 2, 0);
        Assert.Equal([5f, 6, 5, 6], c);
        var e = Assert.Throws<ArgumentException>(() => Gemm.MultiplyAddBias<float>([], false, [], false, [5], c, 2, 2, 0));
        Assert.Contains("bias holds 1 values, fewer than the 2 columns", e.Message);
    }

    [Fact]
    public void ShortSpanNamesTheOperandAndShape()
    {
        var e = Assert.Throws<ArgumentException>(() => Gemm.Multiply<float>(new float[5], false, new float[6], false, new float[6], 2, 2, 3, false));
        Assert.Contains("A holds 5 values", e.Message);
        Assert.Contains("[2, 3]", e.Message);
    }

    /// <summary>
    /// The row-invariant product (what a <see cref="Tape{T}.BatchInvariant"/> tape's linear layers use): row i of C is the
    /// same bits whether computed with all M rows, alone or in any block of rows, whichever micro-kernel override is set —
    /// and still within the rounding bound of the exact product.
    /// </summary>
    [Fact]
    public void Row_invariant_products_give_every_row_the_same_bits_whatever_rows_are_computed_with_it()
    {
        var arb = Gen.Choose(0, 1_000_000).ToArbitrary();
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(150), Prop.ForAll(arb, seed =>
        {
            var rng = new Rng((ulong)seed);
            // half the cases on the shapes that have kernels of their own (N ∈ {1, 2, 4} or a multiple of 8, K = 4 or a multiple of 8)
            int[] special = [1, 2, 4, 8, 16, 64];
            int m = 1 + rng.NextInt(40), n = rng.NextInt(2) == 0 ? special[rng.NextInt(6)] : 1 + rng.NextInt(70);
            int k = rng.NextInt(2) == 0 ? special[2 + rng.NextInt(4)] : 1 + rng.NextInt(70);
            bool tb = rng.NextInt(4) != 0; // a linear layer's W is stored [N, K]
            float[] a = Generators.Uniform(rng, m * k, -1, 1).Select(x => (float)x).ToArray(), b = Generators.Uniform(rng, k * n, -1, 1).Select(x => (float)x).ToArray();
            float[] bias = Generators.Uniform(rng, n, -1, 1).Select(x => (float)x).ToArray();
            float[] all = new float[m * n];
            Gemm.MultiplyAddBias<float>(a, false, b, tb, bias, all, m, n, k, rowInvariant: true);
            foreach (var isa in Isas)
            {
                Gemm.IsaOverride = isa;
                try
                {
                    for (int first = 0; first < m;)
                    {
                        int rows = Math.Min(m - first, 1 + rng.NextInt(9));
                        float[] block = new float[rows * n];
                        Gemm.MultiplyAddBias<float>(a.AsSpan(first * k, rows * k), false, b, tb, bias, block, rows, n, k, rowInvariant: true);
                        for (int q = 0; q < rows * n; q++)
                            if (BitConverter.SingleToInt32Bits(block[q]) != BitConverter.SingleToInt32Bits(all[first * n + q]))
                                Assert.Fail($"M={m} N={n} K={k} transB={tb} {isa}: row {first + q / n} column {q % n} is {block[q]:R} in a block of {rows} rows from {first}, {all[first * n + q]:R} among all {m}");
                        first += rows;
                    }
                }
                finally { Gemm.IsaOverride = null; }
            }
            for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double exact = bias[j], magnitude = Math.Abs(bias[j]);
                for (int p = 0; p < k; p++)
                {
                    double t = (double)a[i * k + p] * b[tb ? j * k + p : p * n + j];
                    exact += t;
                    magnitude += Math.Abs(t);
                }
                Assert.True(Math.Abs(all[i * n + j] - exact) <= 2 * (k + 1) * Math.Pow(2, -24) * magnitude + 1e-30, $"M={m} N={n} K={k}: C[{i},{j}] = {all[i * n + j]}, exact {exact}");
            }
        }));
    }

    /// <summary>
    /// Rows that are mostly zero (Pong's frame differences) skip their all-zero chunks of eight in the dot-product kernel;
    /// the sums must be the dense loop's bits — including rows of −0, rows all zero and rows just either side of the
    /// half-empty switch — and near the exact product.
    /// </summary>
    [Fact]
    public void Skipping_zero_chunks_gives_the_dense_dot_products_bits()
    {
        var arb = Gen.Choose(0, 1_000_000).ToArbitrary();
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(60), Prop.ForAll(arb, seed =>
        {
            var rng = new Rng((ulong)seed);
            int m = 1 + rng.NextInt(6), n = 8 * (1 + rng.NextInt(4)), chunks = 1 + rng.NextInt(120), k = 8 * chunks;
            float[] a = new float[m * k];
            for (int i = 0; i < m; i++)
            {
                // a share of nonzero chunks from none to all, the values sparse within them, some −0
                double share = i == 0 ? 0 : rng.NextDouble();
                for (int q = 0; q < chunks; q++)
                {
                    if (rng.NextDouble() >= share) { if (rng.NextInt(4) == 0) a[i * k + 8 * q + rng.NextInt(8)] = -0f; continue; }
                    for (int l = 0; l < 8; l++) a[i * k + 8 * q + l] = rng.NextInt(3) switch { 0 => 0f, 1 => -0f, _ => (float)(2 * rng.NextDouble() - 1) };
                }
            }
            float[] b = Generators.Uniform(rng, n * k, -1, 1).Select(x => (float)x).ToArray();
            float[] bias = Generators.Uniform(rng, n, -1, 1).Select(x => (float)x).ToArray();
            float[] skipping = new float[m * n], dense = new float[m * n];
            Gemm.MultiplyAddBias<float>(a, false, b, true, bias, skipping, m, n, k, rowInvariant: true);
            GemmSkinny.DenseOnly = true;
            try { Gemm.MultiplyAddBias<float>(a, false, b, true, bias, dense, m, n, k, rowInvariant: true); }
            finally { GemmSkinny.DenseOnly = false; }
            for (int q = 0; q < m * n; q++)
            {
                if (BitConverter.SingleToInt32Bits(skipping[q]) != BitConverter.SingleToInt32Bits(dense[q]))
                    Assert.Fail($"M={m} N={n} K={k}: C[{q / n},{q % n}] = {skipping[q]:R} skipping zero chunks, {dense[q]:R} dense");
                int i = q / n, j = q % n;
                double exact = bias[j], magnitude = Math.Abs(bias[j]);
                for (int p = 0; p < k; p++) { double t = (double)a[i * k + p] * b[j * k + p]; exact += t; magnitude += Math.Abs(t); }
                Assert.True(Math.Abs(skipping[q] - exact) <= 2 * (k + 1) * Math.Pow(2, -24) * magnitude + 1e-30, $"M={m} N={n} K={k}: C[{i},{j}] = {skipping[q]}, exact {exact}");
            }
        }));
    }
}
