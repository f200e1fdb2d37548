using PurePg.Autodiff.Kernels;

namespace PurePg.Autodiff;

// Matrix products on our GEMM. For C = op(A)·op(B) with upstream gradient G = ∂L/∂C:
//   ∂L/∂op(A) = G·op(B)ᵀ and ∂L/∂op(B) = op(A)ᵀ·G, each written back in A's and B's stored orientation.
public sealed partial class Tape<T>
{
    /// <summary>
    /// C = op(A)·op(B), where op(X) is X or Xᵀ as <paramref name="transA"/> and <paramref name="transB"/> say.
    /// op(A) must be [M, K] and op(B) [K, N]; C is [M, N].
    /// </summary>
    public Var<T> MatMul(Var<T> a, Var<T> b, bool transA = false, bool transB = false)
    {
        int ai = Id(a), bi = Id(b);
        Shape sa = _nodes[ai].Shape, sb = _nodes[bi].Shape;
        int m = transA ? sa.Cols : sa.Rows, k = transA ? sa.Rows : sa.Cols;
        int kb = transB ? sb.Cols : sb.Rows, nn = transB ? sb.Rows : sb.Cols;
        if (k != kb)
            ThrowShape($"MatMul(transA: {transA}, transB: {transB})", sa, sb, $"do not chain: op(A) has {k} columns but op(B) has {kb} rows");
        int i = Push(Op.MatMul, new Shape(m, nn), _nodes[ai].NeedsGrad || _nodes[bi].NeedsGrad);
        ref Node<T> node = ref _nodes[i];
        node.A = ai;
        node.B = bi;
        node.TransA = transA;
        node.TransB = transB;
        Gemm.Multiply<T>(Val(ai), transA, Val(bi), transB, Val(i), m, nn, k, accumulate: false);
        return Finish(i);
    }

    private void MatMulBackward(int i, in Node<T> n)
    {
        Shape sa = _nodes[n.A].Shape, sb = _nodes[n.B].Shape;
        int m = n.Shape.Rows, nn = n.Shape.Cols, k = n.TransA ? sa.Rows : sa.Cols;
        ReadOnlySpan<T> g = Grad(i);
        if (NeedsGrad(n.A))
        {
            Span<T> ga = GradTarget(n.A, out bool overwrite);
            if (!n.TransA) Gemm.Multiply<T>(g, false, Val(n.B), !n.TransB, ga, m, k, nn, accumulate: !overwrite);   // dA = G·op(B)ᵀ
            else Gemm.Multiply<T>(Val(n.B), n.TransB, g, true, ga, k, m, nn, accumulate: !overwrite);              // dA = op(B)·Gᵀ
        }
        if (NeedsGrad(n.B))
        {
            Span<T> gb = GradTarget(n.B, out bool overwrite);
            if (!n.TransB) Gemm.Multiply<T>(Val(n.A), !n.TransA, g, false, gb, k, nn, m, accumulate: !overwrite);  // dB = op(A)ᵀ·G
            else Gemm.Multiply<T>(g, true, Val(n.A), n.TransA, gb, nn, k, m, accumulate: !overwrite);              // dB = Gᵀ·op(A)
        }
    }

    /// <summary>
    /// Fused affine layer y = x·Wᵀ + b with x [batch, in], W [out, in] (row-major, as stored in θ) and b [1, out].
    /// Backward: ∂L/∂x = G·W, ∂L/∂W = Gᵀ·x, ∂L/∂b = Σ_rows G.
    /// </summary>
    public Var<T> Linear(Var<T> x, Var<T> weight, Var<T> bias) => Finish(PushLinear(Op.Linear, "Linear (x·Wᵀ + b)", x, weight, bias));

    /// <summary>Checks the shapes, records the node of <paramref name="op"/> and stores x·Wᵀ + b as its value (the bias
    /// added as the GEMM stores each tile); returns the node's index.</summary>
    private int PushLinear(Op op, string name, Var<T> x, Var<T> weight, Var<T> bias)
    {
        int xi = Id(x), wi = Id(weight), bi = Id(bias);
        Shape sx = _nodes[xi].Shape, sw = _nodes[wi].Shape, sbias = _nodes[bi].Shape;
        if (sx.Cols != sw.Cols) ThrowShape(name, sx, sw, $"do not match: x has {sx.Cols} features but W [out, in] expects {sw.Cols}");
        if (sbias != new Shape(1, sw.Rows)) ThrowShape(name, sw, sbias, $"do not match: the bias must be [1, {sw.Rows}]");
        int i = Push(op, new Shape(sx.Rows, sw.Rows), _nodes[xi].NeedsGrad || _nodes[wi].NeedsGrad || _nodes[bi].NeedsGrad);
        _nodes[i].A = xi;
        _nodes[i].B = wi;
        _nodes[i].C = bi;
        Gemm.MultiplyAddBias<T>(Val(xi), false, Val(wi), true, Val(bi), Val(i), sx.Rows, sw.Rows, sx.Cols, rowInvariant: BatchInvariant);
        return i;
    }

    private void LinearBackward(int i, in Node<T> n) => LinearProducts(in n, Grad(i), biasDone: false);

    /// <summary>Linear's backward products for the gradient <paramref name="g"/> of its output (pre-activation, when fused);
    /// the bias gradient too unless <paramref name="biasDone"/>.</summary>
    private void LinearProducts(in Node<T> n, ReadOnlySpan<T> g, bool biasDone)
    {
        Shape sx = _nodes[n.A].Shape, sw = _nodes[n.B].Shape;
        int batch = sx.Rows, inF = sx.Cols, outF = sw.Rows;
        if (NeedsGrad(n.A))
        {
            Span<T> gx = GradTarget(n.A, out bool overwrite);
            Gemm.Multiply<T>(g, false, Val(n.B), false, gx, batch, inF, outF, accumulate: !overwrite);
        }
        if (NeedsGrad(n.B))
        {
            Span<T> gw = GradTarget(n.B, out bool overwrite);
            Gemm.Multiply<T>(g, true, Val(n.A), false, gw, outF, inF, batch, accumulate: !overwrite);
        }
        if (NeedsGrad(n.C) && !biasDone) Elementwise.AccumulateColumnSums(g, batch, outF, GradAcc(n.C));
    }

    /// <summary>
    /// A hidden layer in one op: y = tanh(x·Wᵀ + b), shapes as in <see cref="Linear"/>. The same values as
    /// <c>Tanh(Linear(x, W, b))</c>, bit for bit, with one node and one buffer: the bias is added as the GEMM stores each
    /// tile and tanh is applied in place. Backward: with G′ = G ⊙ (1 − y²), ∂L/∂x = G′·W, ∂L/∂W = G′ᵀ·x, ∂L/∂b = Σ_rows G′.
    /// Tangent: ẏ = (1 − y²) ⊙ (ẋ·Wᵀ + x·Ẇᵀ + ḃ).
    /// </summary>
    public Var<T> LinearTanh(Var<T> x, Var<T> weight, Var<T> bias) => LinearActivated(Op.LinearTanh, x, weight, bias);

    /// <summary>
    /// A hidden layer in one op: y = max(x·Wᵀ + b, 0), shapes as in <see cref="Linear"/>; the same values as
    /// <c>Relu(Linear(x, W, b))</c>, bit for bit. Backward: G′ = G where y &gt; 0, else 0; then as <see cref="LinearTanh"/>.
    /// Tangent: ẏ = 1[y &gt; 0] ⊙ (ẋ·Wᵀ + x·Ẇᵀ + ḃ).
    /// </summary>
    public Var<T> LinearRelu(Var<T> x, Var<T> weight, Var<T> bias) => LinearActivated(Op.LinearRelu, x, weight, bias);

    private Var<T> LinearActivated(Op op, Var<T> x, Var<T> weight, Var<T> bias)
    {
        int i = PushLinear(op, op == Op.LinearTanh ? "LinearTanh (tanh(x·Wᵀ + b))" : "LinearRelu (max(x·Wᵀ + b, 0))", x, weight, bias);
        Span<T> y = Val(i);
        if (op == Op.LinearTanh) VectorMath.Tanh<T>(y, y);
        else System.Numerics.Tensors.TensorPrimitives.Max<T>(y, T.Zero, y);
        return Finish(i);
    }

    private void LinearActivatedBackward(int i, in Node<T> n)
    {
        Span<T> g = Scratch(n.Shape.Length); // G′ = G ⊙ f′, what the unfused activation's rule would pass to Linear's
        int rows = n.Shape.Rows, cols = n.Shape.Cols;
        // ∂L/∂b = Σ_rows G′ summed while G′ is formed where the widths allow (64, 128, … floats), the same bits
        bool biasDone = NeedsGrad(n.C) && (n.Op == Op.LinearTanh
            ? Elementwise.VjpWithColumnSums<T, TanhVjp<T>>(Grad(i), Val(i), g, rows, cols, GradAcc(n.C))
            : Elementwise.VjpWithColumnSums<T, ReluVjp<T>>(Grad(i), Val(i), g, rows, cols, GradAcc(n.C)));
        if (!biasDone)
        {
            if (n.Op == Op.LinearTanh) Elementwise.AccumulateVjp<T, TanhVjp<T>>(Grad(i), Val(i), g, overwrite: true);
            else Elementwise.AccumulateVjp<T, ReluVjp<T>>(Grad(i), Val(i), g, overwrite: true);
        }
        LinearProducts(in n, g, biasDone);
    }

    // Tangent of y = f(x·Wᵀ + b): ẏ = f′ ⊙ (ẋ·Wᵀ + x·Ẇᵀ + ḃ), the pre-activation's tangent formed as LinearTangent forms it.
    private void LinearActivatedTangent(int i, in Node<T> n)
    {
        Span<T> pre = Scratch(n.Shape.Length);
        LinearTangentInto(in n, pre);
        Span<T> dy = Tan(i);
        dy.Clear();
        if (n.Op == Op.LinearTanh) Elementwise.AccumulateVjp<T, TanhVjp<T>>(pre, Val(i), dy);
        else Elementwise.AccumulateVjp<T, ReluVjp<T>>(pre, Val(i), dy);
    }

    // Tangent of C = op(A)·op(B): Ċ = op(Ȧ)·op(B) + op(A)·op(Ḃ).
    private void MatMulTangent(int i, in Node<T> n)
    {
        Shape sa = _nodes[n.A].Shape;
        int m = n.Shape.Rows, nn = n.Shape.Cols, k = n.TransA ? sa.Rows : sa.Cols;
        Span<T> dy = Tan(i);
        bool accumulate = false;
        if (NeedsGrad(n.A))
        {
            Gemm.Multiply<T>(Tan(n.A), n.TransA, Val(n.B), n.TransB, dy, m, nn, k, accumulate: false);
            accumulate = true;
        }
        if (NeedsGrad(n.B)) Gemm.Multiply<T>(Val(n.A), n.TransA, Tan(n.B), n.TransB, dy, m, nn, k, accumulate);
    }

    // Tangent of y = x·Wᵀ + b: ẏ = ẋ·Wᵀ + x·Ẇᵀ + ḃ.
    private void LinearTangent(int i, in Node<T> n) => LinearTangentInto(in n, Tan(i));

    /// <summary>ẋ·Wᵀ + x·Ẇᵀ + ḃ for a linear node's inputs, written to <paramref name="dy"/>.</summary>
    private void LinearTangentInto(in Node<T> n, Span<T> dy)
    {
        Shape sx = _nodes[n.A].Shape, sw = _nodes[n.B].Shape;
        int batch = sx.Rows, inF = sx.Cols, outF = sw.Rows;
        if (NeedsGrad(n.C)) Elementwise.BroadcastRows<T>(Tan(n.C), dy, batch, outF);
        else dy.Clear();
        if (NeedsGrad(n.A)) Gemm.Multiply<T>(Tan(n.A), false, Val(n.B), true, dy, batch, outF, inF, accumulate: true);
        if (NeedsGrad(n.B)) Gemm.Multiply<T>(Val(n.A), false, Tan(n.B), true, dy, batch, outF, inF, accumulate: true);
    }
}
