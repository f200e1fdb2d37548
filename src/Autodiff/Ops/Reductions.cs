using System.Numerics.Tensors;

namespace PurePg.Autodiff;

// Sums and means, over everything ([1, 1]) or per row ([rows, 1]). Their backward broadcasts g back.
public sealed partial class Tape<T>
{
    /// <summary>y = Σ_ij x_ij, shape [1, 1]. ∂y/∂x_ij = 1.</summary>
    public Var<T> Sum(Var<T> x) => Reduce(Op.Sum, x);

    /// <summary>y = (1/n) Σ_ij x_ij over all n elements, shape [1, 1]. ∂y/∂x_ij = 1/n.</summary>
    public Var<T> Mean(Var<T> x) => Reduce(Op.Mean, x);

    /// <summary>y_i = Σ_j x_ij, shape [rows, 1]. ∂y_i/∂x_ij = 1.</summary>
    public Var<T> SumRows(Var<T> x) => Reduce(Op.SumRows, x);

    /// <summary>y_i = (1/cols) Σ_j x_ij, shape [rows, 1]. ∂y_i/∂x_ij = 1/cols.</summary>
    public Var<T> MeanRows(Var<T> x) => Reduce(Op.MeanRows, x);

    private Var<T> Reduce(Op op, Var<T> x)
    {
        int xi = Id(x);
        Shape sx = _nodes[xi].Shape;
        bool perRow = op is Op.SumRows or Op.MeanRows;
        int i = Push(op, perRow ? new Shape(sx.Rows, 1) : new Shape(1, 1), _nodes[xi].NeedsGrad);
        _nodes[i].A = xi;
        ReadOnlySpan<T> xv = Val(xi);
        Span<T> y = Val(i);
        if (perRow)
        {
            T scale = op == Op.MeanRows ? T.One / T.CreateTruncating(sx.Cols) : T.One;
            for (int r = 0; r < sx.Rows; r++) y[r] = TensorPrimitives.Sum(xv.Slice(r * sx.Cols, sx.Cols)) * scale;
        }
        else
        {
            y[0] = TensorPrimitives.Sum(xv);
            if (op == Op.Mean) y[0] /= T.CreateTruncating(sx.Length);
        }
        return Finish(i);
    }

    private void SumBackward(int i, in Node<T> n)
    {
        Span<T> gx = GradAcc(n.A);
        T g = Grad(i)[0];
        if (n.Op == Op.Mean) g /= T.CreateTruncating(gx.Length);
        TensorPrimitives.Add(gx, g, gx);
    }

    private void SumRowsBackward(int i, in Node<T> n)
    {
        Shape sx = _nodes[n.A].Shape;
        Span<T> gx = GradAcc(n.A);
        ReadOnlySpan<T> g = Grad(i);
        T scale = n.Op == Op.MeanRows ? T.One / T.CreateTruncating(sx.Cols) : T.One;
        for (int r = 0; r < sx.Rows; r++)
        {
            Span<T> row = gx.Slice(r * sx.Cols, sx.Cols);
            TensorPrimitives.Add(row, g[r] * scale, row);
        }
    }

    // Tangents: the same reduction of ẋ.
    private void ReduceTangent(int i, in Node<T> n)
    {
        Shape sx = _nodes[n.A].Shape;
        ReadOnlySpan<T> dx = Tan(n.A);
        Span<T> dy = Tan(i);
        if (n.Op is Op.SumRows or Op.MeanRows)
        {
            T scale = n.Op == Op.MeanRows ? T.One / T.CreateTruncating(sx.Cols) : T.One;
            for (int r = 0; r < sx.Rows; r++) dy[r] = TensorPrimitives.Sum(dx.Slice(r * sx.Cols, sx.Cols)) * scale;
        }
        else
        {
            dy[0] = TensorPrimitives.Sum(dx);
            if (n.Op == Op.Mean) dy[0] /= T.CreateTruncating(sx.Length);
        }
    }
}
