using System.Numerics.Tensors;
using PurePg.Autodiff.Kernels;

namespace PurePg.Autodiff;

// Elementwise functions y = f(x). Each forward sits beside its vector-Jacobian product gx += g ⊙ f'(x),
// written with whichever of x and y makes f' cheapest.
public sealed partial class Tape<T>
{
    /// <summary>y = exp(x). ∂y/∂x = y.</summary>
    public Var<T> Exp(Var<T> x)
    {
        int i = PushUnary(Op.Exp, x);
        VectorMath.Exp(Val(_nodes[i].A), Val(i));
        return Finish(i);
    }

    private void ExpBackward(int i, in Node<T> n) => AccumulateProduct(Grad(i), Val(i), GradAcc(n.A));

    /// <summary>y = log(x) (natural log; x ≤ 0 gives NaN or −∞, caught when <see cref="CheckFinite"/> is on). ∂y/∂x = 1/x.</summary>
    public Var<T> Log(Var<T> x)
    {
        int i = PushUnary(Op.Log, x);
        TensorPrimitives.Log(Val(_nodes[i].A), Val(i));
        return Finish(i);
    }

    private void LogBackward(int i, in Node<T> n) => PointwiseBackward<LogVjp<T>>(i, Val(n.A), n.A);

    /// <summary>
    /// ∂L/∂x (+)= TVjp(∂L/∂y, u) for an elementwise y = f(x): stored, not added, when this is the first gradient to reach
    /// x in the pass — its buffer then needs no clearing first.
    /// </summary>
    private void PointwiseBackward<TVjp>(int i, ReadOnlySpan<T> u, int a) where TVjp : IPointwiseVjp<T>
    {
        Span<T> gx = GradTarget(a, out bool overwrite);
        Elementwise.AccumulateVjp<T, TVjp>(Grad(i), u, gx, overwrite);
    }

    /// <summary>y = tanh(x). ∂y/∂x = 1 − y².</summary>
    public Var<T> Tanh(Var<T> x)
    {
        int i = PushUnary(Op.Tanh, x);
        VectorMath.Tanh(Val(_nodes[i].A), Val(i));
        return Finish(i);
    }

    private void TanhBackward(int i, in Node<T> n) => PointwiseBackward<TanhVjp<T>>(i, Val(i), n.A);

    /// <summary>y = max(x, 0). ∂y/∂x = 1 where x &gt; 0, else 0.</summary>
    public Var<T> Relu(Var<T> x)
    {
        int i = PushUnary(Op.Relu, x);
        TensorPrimitives.Max(Val(_nodes[i].A), T.Zero, Val(i));
        return Finish(i);
    }

    private void ReluBackward(int i, in Node<T> n) => PointwiseBackward<ReluVjp<T>>(i, Val(i), n.A);

    /// <summary>y = σ(x) = 1 / (1 + exp(−x)). ∂y/∂x = y (1 − y).</summary>
    public Var<T> Sigmoid(Var<T> x)
    {
        int i = PushUnary(Op.Sigmoid, x);
        VectorMath.Sigmoid(Val(_nodes[i].A), Val(i));
        return Finish(i);
    }

    private void SigmoidBackward(int i, in Node<T> n) => PointwiseBackward<SigmoidVjp<T>>(i, Val(i), n.A);

    /// <summary>
    /// y = softplus(x) = log(1 + exp(x)), computed as max(x, 0) + log(1 + exp(−|x|)) so that it neither overflows
    /// for large x nor loses precision for very negative x. ∂y/∂x = σ(x).
    /// </summary>
    public Var<T> Softplus(Var<T> x)
    {
        int i = PushUnary(Op.Softplus, x);
        ReadOnlySpan<T> xv = Val(_nodes[i].A);
        Span<T> y = Val(i), t = Scratch(xv.Length);
        TensorPrimitives.Abs(xv, t);
        TensorPrimitives.Negate(t, t);
        VectorMath.Exp(t, t);
        TensorPrimitives.LogP1(t, t);
        TensorPrimitives.Max(xv, T.Zero, y);
        TensorPrimitives.Add(y, t, y);
        return Finish(i);
    }

    private void SoftplusBackward(int i, in Node<T> n)
    {
        Span<T> t = Scratch(n.Shape.Length);
        VectorMath.Sigmoid(Val(n.A), t);
        AccumulateProduct(Grad(i), t, GradAcc(n.A));
    }

    /// <summary>y = x². ∂y/∂x = 2x.</summary>
    public Var<T> Square(Var<T> x)
    {
        int i = PushUnary(Op.Square, x);
        ReadOnlySpan<T> xv = Val(_nodes[i].A);
        TensorPrimitives.Multiply(xv, xv, Val(i));
        return Finish(i);
    }

    private void SquareBackward(int i, in Node<T> n) => PointwiseBackward<SquareVjp<T>>(i, Val(n.A), n.A);

    /// <summary>y = √x. ∂y/∂x = 1 / (2y).</summary>
    public Var<T> Sqrt(Var<T> x)
    {
        int i = PushUnary(Op.Sqrt, x);
        TensorPrimitives.Sqrt(Val(_nodes[i].A), Val(i));
        return Finish(i);
    }

    private void SqrtBackward(int i, in Node<T> n) => PointwiseBackward<SqrtVjp<T>>(i, Val(i), n.A);

    /// <summary>
    /// y = min(max(x, lo), hi). ∂y/∂x = 1 where lo ≤ x ≤ hi, else 0 (the boundary passes the gradient, as PyTorch's clamp does).
    /// </summary>
    public Var<T> Clamp(Var<T> x, T lo, T hi)
    {
        if (!(lo <= hi)) throw new ArgumentException($"Clamp: lower bound {lo} must not exceed upper bound {hi}.");
        int i = PushUnary(Op.Clamp, x);
        _nodes[i].S0 = lo;
        _nodes[i].S1 = hi;
        TensorPrimitives.Max(Val(_nodes[i].A), lo, Val(i));
        TensorPrimitives.Min(Val(i), hi, Val(i));
        return Finish(i);
    }

    private void ClampBackward(int i, in Node<T> n)
    {
        ReadOnlySpan<T> x = Val(n.A), g = Grad(i);
        Span<T> gx = GradAcc(n.A);
        for (int k = 0; k < gx.Length; k++)
            if (x[k] >= n.S0 && x[k] <= n.S1) gx[k] += g[k];
    }

    /// <summary>y = min(a, b) elementwise for equal shapes. The gradient goes to the smaller input; a tie splits it evenly.</summary>
    public Var<T> Minimum(Var<T> a, Var<T> b) => MinMax(Op.Minimum, a, b);

    /// <summary>y = max(a, b) elementwise for equal shapes. The gradient goes to the larger input; a tie splits it evenly.</summary>
    public Var<T> Maximum(Var<T> a, Var<T> b) => MinMax(Op.Maximum, a, b);

    private Var<T> MinMax(Op op, Var<T> a, Var<T> b)
    {
        int ai = Id(a), bi = Id(b);
        if (_nodes[ai].Shape != _nodes[bi].Shape) ThrowShape(op.ToString(), _nodes[ai].Shape, _nodes[bi].Shape, "must be equal");
        int i = Push(op, _nodes[ai].Shape, _nodes[ai].NeedsGrad || _nodes[bi].NeedsGrad);
        _nodes[i].A = ai;
        _nodes[i].B = bi;
        if (op == Op.Minimum) TensorPrimitives.Min(Val(ai), Val(bi), Val(i));
        else TensorPrimitives.Max(Val(ai), Val(bi), Val(i));
        return Finish(i);
    }

    private void MinMaxBackward(int i, in Node<T> n)
    {
        ReadOnlySpan<T> a = Val(n.A), b = Val(n.B), g = Grad(i);
        bool ga = NeedsGrad(n.A), gb = NeedsGrad(n.B);
        Span<T> gav = ga ? GradAcc(n.A) : default, gbv = gb ? GradAcc(n.B) : default;
        T half = T.CreateTruncating(0.5);
        bool min = n.Op == Op.Minimum;
        for (int k = 0; k < g.Length; k++)
        {
            T wa = a[k] == b[k] ? half : (a[k] < b[k]) == min ? T.One : T.Zero;
            if (ga) gav[k] += wa * g[k];
            if (gb) gbv[k] += (T.One - wa) * g[k];
        }
    }

    // Tangents: ẏ = f'(x)·ẋ, the same product as the backward's with ẋ in place of g.
    private void PointwiseTangent(int i, in Node<T> n)
    {
        ReadOnlySpan<T> dx = Tan(n.A);
        Span<T> dy = Tan(i);
        dy.Clear();
        switch (n.Op)
        {
            case Op.Exp: AccumulateProduct(dx, Val(i), dy); break;
            case Op.Log: Elementwise.AccumulateVjp<T, LogVjp<T>>(dx, Val(n.A), dy); break;
            case Op.Tanh: Elementwise.AccumulateVjp<T, TanhVjp<T>>(dx, Val(i), dy); break;
            case Op.Relu: Elementwise.AccumulateVjp<T, ReluVjp<T>>(dx, Val(i), dy); break;
            case Op.Sigmoid: Elementwise.AccumulateVjp<T, SigmoidVjp<T>>(dx, Val(i), dy); break;
            case Op.Square: Elementwise.AccumulateVjp<T, SquareVjp<T>>(dx, Val(n.A), dy); break;
            case Op.Sqrt: Elementwise.AccumulateVjp<T, SqrtVjp<T>>(dx, Val(i), dy); break;
            default: // Softplus: σ(x)·ẋ
            {
                Span<T> t = Scratch(n.Shape.Length);
                VectorMath.Sigmoid(Val(n.A), t);
                AccumulateProduct(dx, t, dy);
                break;
            }
        }
    }

    private void ClampTangent(int i, in Node<T> n)
    {
        ReadOnlySpan<T> x = Val(n.A), dx = Tan(n.A);
        Span<T> dy = Tan(i);
        for (int k = 0; k < dy.Length; k++) dy[k] = x[k] >= n.S0 && x[k] <= n.S1 ? dx[k] : T.Zero;
    }

    // ẏ = w·ȧ + (1 − w)·ḃ with the backward's weights (1 for the chosen input, ½ each on a tie).
    private void MinMaxTangent(int i, in Node<T> n)
    {
        ReadOnlySpan<T> a = Val(n.A), b = Val(n.B);
        bool ta = NeedsGrad(n.A), tb = NeedsGrad(n.B);
        ReadOnlySpan<T> da = ta ? Tan(n.A) : default, db = tb ? Tan(n.B) : default;
        Span<T> dy = Tan(i);
        T half = T.CreateTruncating(0.5);
        bool min = n.Op == Op.Minimum;
        for (int k = 0; k < dy.Length; k++)
        {
            T wa = a[k] == b[k] ? half : (a[k] < b[k]) == min ? T.One : T.Zero;
            dy[k] = (ta ? wa * da[k] : T.Zero) + (tb ? (T.One - wa) * db[k] : T.Zero);
        }
    }

    /// <summary>gx += g ⊙ d.</summary>
    private static void AccumulateProduct(ReadOnlySpan<T> g, ReadOnlySpan<T> d, Span<T> gx) =>
        TensorPrimitives.MultiplyAdd(g, d, gx, gx);
}
