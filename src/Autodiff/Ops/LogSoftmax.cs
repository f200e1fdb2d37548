using System.Numerics.Tensors;

namespace PurePg.Autodiff;

// Row-wise log-sum-exp and log-softmax, stable for logits of any magnitude (the row maximum is subtracted
// before exponentiating), the gather of one column per row, and the fused log-softmax + gather that gives the
// taken action's log-probability log π(a_i|s_i) = x_{i,a_i} − LSE(x_i).
public sealed partial class Tape<T>
{
    /// <summary>
    /// y_i = LSE(x_i) = m_i + log Σ_j exp(x_ij − m_i) with m_i = max_j x_ij, shape [rows, 1].
    /// ∂y_i/∂x_ij = softmax(x_i)_j = exp(x_ij − y_i).
    /// </summary>
    public Var<T> LogSumExp(Var<T> x)
    {
        int xi = Id(x);
        Shape sx = _nodes[xi].Shape;
        int i = Push(Op.LogSumExp, new Shape(sx.Rows, 1), _nodes[xi].NeedsGrad);
        _nodes[i].A = xi;
        RowLogSumExp(Val(xi), sx, Val(i), Scratch(sx.Cols));
        return Finish(i);
    }

    private void LogSumExpBackward(int i, in Node<T> n)
    {
        Shape sx = _nodes[n.A].Shape;
        ReadOnlySpan<T> x = Val(n.A), y = Val(i), g = Grad(i);
        Span<T> gx = Grad(n.A), p = Scratch(sx.Cols);
        for (int r = 0; r < sx.Rows; r++)
        {
            TensorPrimitives.Subtract(x.Slice(r * sx.Cols, sx.Cols), y[r], p);
            TensorPrimitives.Exp(p, p);
            Span<T> gr = gx.Slice(r * sx.Cols, sx.Cols);
            TensorPrimitives.MultiplyAdd(p, g[r], gr, gr);
        }
    }

    /// <summary>
    /// y_ij = x_ij − LSE(x_i): row-wise log-softmax, finite for logits of any finite magnitude.
    /// ∂: gx_i += g_i − softmax(x_i) · Σ_j g_ij.
    /// </summary>
    public Var<T> LogSoftmax(Var<T> x)
    {
        int i = PushUnary(Op.LogSoftmax, x);
        Shape sx = _nodes[i].Shape;
        ReadOnlySpan<T> xv = Val(_nodes[i].A);
        Span<T> y = Val(i), lse = Scratch(sx.Rows, 1);
        RowLogSumExp(xv, sx, lse, Scratch(sx.Cols));
        for (int r = 0; r < sx.Rows; r++)
            TensorPrimitives.Subtract(xv.Slice(r * sx.Cols, sx.Cols), lse[r], y.Slice(r * sx.Cols, sx.Cols));
        return Finish(i);
    }

    private void LogSoftmaxBackward(int i, in Node<T> n)
    {
        Shape s = n.Shape;
        ReadOnlySpan<T> y = Val(i), g = Grad(i);
        Span<T> gx = Grad(n.A), p = Scratch(s.Cols);
        for (int r = 0; r < s.Rows; r++)
        {
            ReadOnlySpan<T> gr = g.Slice(r * s.Cols, s.Cols);
            Span<T> gxr = gx.Slice(r * s.Cols, s.Cols);
            T total = TensorPrimitives.Sum(gr);
            TensorPrimitives.Exp(y.Slice(r * s.Cols, s.Cols), p);
            TensorPrimitives.Add(gxr, gr, gxr);
            TensorPrimitives.MultiplyAdd(p, -total, gxr, gxr);
        }
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
        Span<T> gx = Grad(n.A);
        for (int r = 0; r < sx.Rows; r++) gx[r * sx.Cols + index[r]] += g[r];
    }

    /// <summary>
    /// Fused log-softmax + gather: y_i = log softmax(x_i)_{a_i} = x_{i,a_i} − LSE(x_i), shape [rows, 1] — the
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
        ReadOnlySpan<T> xv = Val(xi);
        Span<T> y = Val(i);
        RowLogSumExp(xv, sx, y, Scratch(sx.Cols));
        for (int r = 0; r < sx.Rows; r++) y[r] = xv[r * sx.Cols + actions[r]] - y[r];
        return Finish(i);
    }

    private void LogSoftmaxGatherBackward(int i, in Node<T> n)
    {
        Shape sx = _nodes[n.A].Shape;
        ReadOnlySpan<int> index = Ints(n.Saved, sx.Rows);
        ReadOnlySpan<T> x = Val(n.A), y = Val(i), g = Grad(i);
        Span<T> gx = Grad(n.A), p = Scratch(sx.Cols);
        for (int r = 0; r < sx.Rows; r++)
        {
            // LSE_r = x_{r,a} − y_r, so softmax_rj = exp(x_rj − x_{r,a} + y_r).
            T lse = x[r * sx.Cols + index[r]] - y[r];
            TensorPrimitives.Subtract(x.Slice(r * sx.Cols, sx.Cols), lse, p);
            TensorPrimitives.Exp(p, p);
            Span<T> gr = gx.Slice(r * sx.Cols, sx.Cols);
            TensorPrimitives.MultiplyAdd(p, -g[r], gr, gr);
            gr[index[r]] += g[r];
        }
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

    /// <summary>lse_i = m_i + log Σ_j exp(x_ij − m_i), m_i = max_j x_ij; <paramref name="tmp"/> holds one row.</summary>
    internal static void RowLogSumExp(ReadOnlySpan<T> x, Shape s, Span<T> lse, Span<T> tmp)
    {
        for (int r = 0; r < s.Rows; r++)
        {
            ReadOnlySpan<T> row = x.Slice(r * s.Cols, s.Cols);
            T m = TensorPrimitives.Max(row);
            if (!T.IsFinite(m))
            {
                lse[r] = m; // +∞ stays +∞, NaN stays NaN; CheckFinite reports where it entered
                continue;
            }
            TensorPrimitives.Subtract(row, m, tmp);
            TensorPrimitives.Exp(tmp, tmp);
            lse[r] = m + T.Log(TensorPrimitives.Sum(tmp));
        }
    }
}
