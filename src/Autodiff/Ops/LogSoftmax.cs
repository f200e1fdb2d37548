using System.Numerics.Tensors;
using PurePg.Autodiff.Kernels;

namespace PurePg.Autodiff;

// Row-wise log-sum-exp and log-softmax, stable for logits of any magnitude, the gather of one column per row, and
// the fused log-softmax + gather that gives the taken action's log-probability log π(a_i|s_i) = x_{i,a_i} − LSE(x_i).
// Each row keeps m_i = max_j x_ij and log Z_i = log Σ_j exp(x_ij − m_i) apart: x − m is exact in floating point,
// so log-softmax = (x − m) − log Z and softmax = exp((x − m) − log Z) keep full precision even at |x| ~ 1e3,
// where the rounded sum m + log Z alone would already be off by an ulp of 1e3.
public sealed partial class Tape<T>
{
    /// <summary>
    /// y_i = LSE(x_i) = m_i + log Σ_j exp(x_ij − m_i) with m_i = max_j x_ij, shape [rows, 1].
    /// ∂y_i/∂x_ij = softmax(x_i)_j.
    /// </summary>
    public Var<T> LogSumExp(Var<T> x)
    {
        int xi = Id(x);
        Shape sx = _nodes[xi].Shape;
        int i = Push(Op.LogSumExp, new Shape(sx.Rows, 1), _nodes[xi].NeedsGrad);
        _nodes[i].A = xi;
        int saved = SaveRowNormalizers(i, xi);
        TensorPrimitives.Add(Arena(saved, sx.Rows), Arena(saved + sx.Rows, sx.Rows), Val(i));
        return Finish(i);
    }

    private void LogSumExpBackward(int i, in Node<T> n) => AccumulateSoftmaxTimes(n.A, n.SavedValues, Grad(i), negate: false);

    /// <summary>
    /// y_ij = x_ij − LSE(x_i) = (x_ij − m_i) − log Z_i: row-wise log-softmax, finite for logits of any finite magnitude.
    /// ∂: gx_i += g_i − softmax(x_i) · Σ_j g_ij.
    /// </summary>
    public Var<T> LogSoftmax(Var<T> x)
    {
        int i = PushUnary(Op.LogSoftmax, x);
        Shape sx = _nodes[i].Shape;
        int saved = SaveRowNormalizers(i, _nodes[i].A);
        ReadOnlySpan<T> xv = Val(_nodes[i].A);
        Span<T> y = Val(i);
        ReadOnlySpan<T> max = Arena(saved, sx.Rows), logZ = Arena(saved + sx.Rows, sx.Rows);
        for (int r = 0; r < sx.Rows; r++)
        {
            Span<T> yr = y.Slice(r * sx.Cols, sx.Cols);
            TensorPrimitives.Subtract(xv.Slice(r * sx.Cols, sx.Cols), max[r], yr);
            TensorPrimitives.Subtract(yr, logZ[r], yr);
        }
        return Finish(i);
    }

    private void LogSoftmaxBackward(int i, in Node<T> n)
    {
        Shape s = n.Shape;
        ReadOnlySpan<T> g = Grad(i);
        Span<T> gx = GradAcc(n.A), rowTotals = Scratch(s.Rows, 1);
        for (int r = 0; r < s.Rows; r++)
        {
            ReadOnlySpan<T> gr = g.Slice(r * s.Cols, s.Cols);
            rowTotals[r] = TensorPrimitives.Sum(gr);
            TensorPrimitives.Add(gx.Slice(r * s.Cols, s.Cols), gr, gx.Slice(r * s.Cols, s.Cols));
        }
        AccumulateSoftmaxTimes(n.A, n.SavedValues, rowTotals, negate: true);
    }

    /// <summary>y_i = x_{i, index_i}: one column per row, shape [rows, 1]. ∂y_i/∂x_ij = 1[j = index_i].</summary>
    /// <exception cref="ArgumentException">The number of indices differs from the rows, or an index is outside [0, cols).</exception>
    public Var<T> Gather(Var<T> x, ReadOnlySpan<int> index)
    {
        int xi = Id(x);
        Shape sx = _nodes[xi].Shape;
        int saved = SaveIndices("Gather", sx, index);
        int i = Push(Op.Gather, new Shape(sx.Rows, 1), _nodes[xi].NeedsGrad);
        _nodes[i].A = xi;
        _nodes[i].Saved = saved;
        ReadOnlySpan<T> xv = Val(xi);
        Span<T> y = Val(i);
        for (int r = 0; r < sx.Rows; r++) y[r] = xv[r * sx.Cols + index[r]];
        return Finish(i);
    }

    private void GatherBackward(int i, in Node<T> n)
    {
        Shape sx = _nodes[n.A].Shape;
        ReadOnlySpan<int> index = Ints(n.Saved, sx.Rows);
        ReadOnlySpan<T> g = Grad(i);
        Span<T> gx = GradAcc(n.A);
        for (int r = 0; r < sx.Rows; r++) gx[r * sx.Cols + index[r]] += g[r];
    }

    /// <summary>
    /// Fused log-softmax + gather: y_i = log softmax(x_i)_{a_i} = (x_{i,a_i} − m_i) − log Z_i, shape [rows, 1] — the
    /// log-probability log π(a_i|s_i) of the taken actions under a categorical policy with logits x.
    /// ∂y_i/∂x_ij = 1[j = a_i] − softmax(x_i)_j. Equal to <c>Gather(LogSoftmax(x), a)</c> in one pass, without the
    /// [rows, cols] intermediate.
    /// </summary>
    public Var<T> LogSoftmaxGather(Var<T> x, ReadOnlySpan<int> actions)
    {
        int xi = Id(x);
        Shape sx = _nodes[xi].Shape;
        int saved = SaveIndices("LogSoftmaxGather", sx, actions);
        int i = Push(Op.LogSoftmaxGather, new Shape(sx.Rows, 1), _nodes[xi].NeedsGrad);
        _nodes[i].A = xi;
        _nodes[i].Saved = saved;
        int savedValues = SaveRowNormalizers(i, xi);
        ReadOnlySpan<T> xv = Val(xi);
        Span<T> y = Val(i);
        ReadOnlySpan<T> max = Arena(savedValues, sx.Rows), logZ = Arena(savedValues + sx.Rows, sx.Rows);
        for (int r = 0; r < sx.Rows; r++) y[r] = xv[r * sx.Cols + actions[r]] - max[r] - logZ[r];
        return Finish(i);
    }

    // ∂y_i/∂x_ij = 1[j = a_i] − softmax(x_i)_j: the softmax part here, the indicator part is Gather's backward.
    private void LogSoftmaxGatherBackward(int i, in Node<T> n)
    {
        AccumulateSoftmaxTimes(n.A, n.SavedValues, Grad(i), negate: true);
        GatherBackward(i, in n);
    }

    // Tangents, with p = softmax(x_i) and ⟨p, ẋ⟩_i = Σ_j p_ij ẋ_ij: LogSumExp ẏ_i = ⟨p, ẋ⟩_i; LogSoftmax ẏ_ij = ẋ_ij − ⟨p, ẋ⟩_i;
    // Gather ẏ_i = ẋ_{i,a_i}; LogSoftmaxGather ẏ_i = ẋ_{i,a_i} − ⟨p, ẋ⟩_i.
    private void LogSoftmaxFamilyTangent(int i, in Node<T> n)
    {
        Shape sx = _nodes[n.A].Shape;
        int cols = sx.Cols;
        ReadOnlySpan<T> dx = Tan(n.A);
        Span<T> dy = Tan(i);
        if (n.Op == Op.Gather)
        {
            ReadOnlySpan<int> index = Ints(n.Saved, sx.Rows);
            for (int r = 0; r < sx.Rows; r++) dy[r] = dx[r * cols + index[r]];
            return;
        }
        Span<T> expected = Scratch(sx.Rows, 1);
        SoftmaxDotRows(n.A, n.SavedValues, dx, expected);
        switch (n.Op)
        {
            case Op.LogSumExp: expected.CopyTo(dy); break;
            case Op.LogSoftmax:
                for (int r = 0; r < sx.Rows; r++)
                    TensorPrimitives.Subtract(dx.Slice(r * cols, cols), expected[r], dy.Slice(r * cols, cols));
                break;
            default: // LogSoftmaxGather
            {
                ReadOnlySpan<int> index = Ints(n.Saved, sx.Rows);
                for (int r = 0; r < sx.Rows; r++) dy[r] = dx[r * cols + index[r]] - expected[r];
                break;
            }
        }
    }

    /// <summary>result_i = Σ_j softmax(x_i)_j · v_ij, with the softmax rebuilt from the saved row normalizers.</summary>
    private void SoftmaxDotRows(int xi, int saved, ReadOnlySpan<T> v, Span<T> result)
    {
        Shape sx = _nodes[xi].Shape;
        int cols = sx.Cols;
        ReadOnlySpan<T> x = Val(xi), max = Arena(saved, sx.Rows), logZ = Arena(saved + sx.Rows, sx.Rows);
        Span<T> p = Scratch(sx.Length);
        for (int r = 0; r < sx.Rows; r++)
        {
            ReadOnlySpan<T> row = x.Slice(r * cols, cols);
            Span<T> pr = p.Slice(r * cols, cols);
            for (int j = 0; j < cols; j++) pr[j] = row[j] - max[r] - logZ[r];
        }
        VectorMath.Exp<T>(p, p);
        for (int r = 0; r < sx.Rows; r++) result[r] = TensorPrimitives.Dot(p.Slice(r * cols, cols), v.Slice(r * cols, cols));
    }

    private int SaveIndices(string op, Shape sx, ReadOnlySpan<int> index)
    {
        if (index.Length != sx.Rows)
            throw new ArgumentException($"{op}: {index.Length} indices for input of shape {sx}; one per row ({sx.Rows}) is needed.");
        for (int r = 0; r < index.Length; r++)
            if ((uint)index[r] >= (uint)sx.Cols)
                throw new ArgumentOutOfRangeException(nameof(index), $"{op}: index {index[r]} at row {r} is outside [0, {sx.Cols}) for input of shape {sx}.");
        int saved = AllocateInts(index.Length);
        index.CopyTo(Ints(saved, index.Length));
        return saved;
    }

    /// <summary>
    /// Computes and saves on node <paramref name="i"/> each row's m_r = max_j x_rj and log Z_r = log Σ_j exp(x_rj − m_r);
    /// returns the arena offset of [m_0 … m_{rows−1}, log Z_0 … log Z_{rows−1}]. It allocates, so call it before
    /// taking any span of the arena. The exponentials go in one pass over the whole matrix, not one call per row:
    /// policy heads have few columns and many rows.
    /// </summary>
    private int SaveRowNormalizers(int i, int xi)
    {
        Shape sx = _nodes[xi].Shape;
        int saved = Allocate(2 * sx.Rows);
        _nodes[i].SavedValues = saved;
        Span<T> max = Arena(saved, sx.Rows), logZ = Arena(saved + sx.Rows, sx.Rows), e = Scratch(sx.Length);
        ReadOnlySpan<T> x = Val(xi);
        int cols = sx.Cols;
        for (int r = 0; r < sx.Rows; r++)
        {
            ReadOnlySpan<T> row = x.Slice(r * cols, cols);
            T m = cols <= 16 ? ScalarMax(row) : TensorPrimitives.Max(row);
            max[r] = m;
            Span<T> er = e.Slice(r * cols, cols);
            for (int j = 0; j < cols; j++) er[j] = row[j] - m;
        }
        VectorMath.Exp<T>(e, e);
        for (int r = 0; r < sx.Rows; r++)
        {
            ReadOnlySpan<T> er = e.Slice(r * cols, cols);
            logZ[r] = cols <= 16 ? ScalarSum(er) : TensorPrimitives.Sum(er);
        }
        // batch-invariant: one scalar log per row (a vectorized log over the rows computes a row differently depending
        // on how many rows there are: scalars below a vector's length, vectors above)
        if (BatchInvariant) for (int r = 0; r < sx.Rows; r++) logZ[r] = T.Log(logZ[r]);
        else TensorPrimitives.Log(logZ, logZ);
        for (int r = 0; r < sx.Rows; r++)
            if (!T.IsFinite(max[r])) logZ[r] = T.Zero; // +∞ stays +∞, NaN stays NaN; CheckFinite reports where it entered
        return saved;
    }

    /// <summary>gx_r ±= c_r · softmax(x_r), with softmax_rj = exp((x_rj − m_r) − log Z_r) from the saved normalizers.</summary>
    private void AccumulateSoftmaxTimes(int xi, int saved, ReadOnlySpan<T> c, bool negate)
    {
        Shape sx = _nodes[xi].Shape;
        int cols = sx.Cols;
        ReadOnlySpan<T> x = Val(xi), max = Arena(saved, sx.Rows), logZ = Arena(saved + sx.Rows, sx.Rows);
        Span<T> gx = GradAcc(xi), p = Scratch(sx.Length);
        for (int r = 0; r < sx.Rows; r++)
        {
            ReadOnlySpan<T> row = x.Slice(r * cols, cols);
            Span<T> pr = p.Slice(r * cols, cols);
            for (int j = 0; j < cols; j++) pr[j] = row[j] - max[r] - logZ[r];
        }
        VectorMath.Exp<T>(p, p);
        for (int r = 0; r < sx.Rows; r++)
        {
            T cr = negate ? -c[r] : c[r];
            Span<T> gr = gx.Slice(r * cols, cols);
            ReadOnlySpan<T> pr = p.Slice(r * cols, cols);
            for (int j = 0; j < cols; j++) gr[j] += cr * pr[j];
        }
    }

    private static T ScalarMax(ReadOnlySpan<T> row)
    {
        T m = row[0];
        for (int j = 1; j < row.Length; j++)
            if (row[j] > m || T.IsNaN(row[j])) m = row[j];
        return m;
    }

    private static T ScalarSum(ReadOnlySpan<T> row)
    {
        T s = T.Zero;
        foreach (T v in row) s += v;
        return s;
    }
}
