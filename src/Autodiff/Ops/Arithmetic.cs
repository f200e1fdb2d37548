using System.Numerics.Tensors;

namespace PurePg.Autodiff;

// Add, Subtract, Multiply, Divide with broadcasting; Negate; adding and scaling by a constant.
// Broadcasting: each dimension of b (or a) either matches the output or is 1 (a row vector [1, n] over rows,
// a column [m, 1] over columns, a scalar [1, 1] over everything). It is undone in one place, AccumulateUnbroadcast.
public sealed partial class Tape<T>
{
    /// <summary>y = a + b elementwise, with broadcasting of size-1 dimensions. ∂/∂a = 1, ∂/∂b = 1 (summed over broadcast dimensions).</summary>
    public Var<T> Add(Var<T> a, Var<T> b) => Binary(Op.Add, a, b);

    /// <summary>y = a − b elementwise, with broadcasting. ∂/∂a = 1, ∂/∂b = −1.</summary>
    public Var<T> Subtract(Var<T> a, Var<T> b) => Binary(Op.Subtract, a, b);

    /// <summary>y = a ⊙ b elementwise, with broadcasting. ∂/∂a = b, ∂/∂b = a.</summary>
    public Var<T> Multiply(Var<T> a, Var<T> b) => Binary(Op.Multiply, a, b);

    /// <summary>y = a / b elementwise, with broadcasting. ∂/∂a = 1/b, ∂/∂b = −a/b² = −y/b.</summary>
    public Var<T> Divide(Var<T> a, Var<T> b) => Binary(Op.Divide, a, b);

    /// <summary>y = −x. ∂y/∂x = −1.</summary>
    public Var<T> Negate(Var<T> x)
    {
        int i = PushUnary(Op.Negate, x);
        TensorPrimitives.Negate(Val(_nodes[i].A), Val(i));
        return Finish(i);
    }

    /// <summary>y = x + c for a constant c. ∂y/∂x = 1.</summary>
    public Var<T> AddScalar(Var<T> x, T c)
    {
        int i = PushUnary(Op.AddScalar, x);
        _nodes[i].S0 = c;
        TensorPrimitives.Add(Val(_nodes[i].A), c, Val(i));
        return Finish(i);
    }

    /// <summary>y = c · x for a constant c. ∂y/∂x = c.</summary>
    public Var<T> Scale(Var<T> x, T c)
    {
        int i = PushUnary(Op.Scale, x);
        _nodes[i].S0 = c;
        TensorPrimitives.Multiply(Val(_nodes[i].A), c, Val(i));
        return Finish(i);
    }

    // A unary node is walked only when its input needs a gradient, so these need no NeedsGrad test.
    private void NegateBackward(int i, in Node<T> n)
    {
        Span<T> gx = GradAcc(n.A);
        TensorPrimitives.Subtract(gx, Grad(i), gx);
    }

    private void AddScalarBackward(int i, in Node<T> n)
    {
        Span<T> gx = GradAcc(n.A);
        TensorPrimitives.Add(gx, Grad(i), gx);
    }

    private void ScaleBackward(int i, in Node<T> n)
    {
        Span<T> gx = GradAcc(n.A);
        TensorPrimitives.MultiplyAdd(Grad(i), n.S0, gx, gx);
    }

    private Var<T> Binary(Op op, Var<T> a, Var<T> b)
    {
        int ai = Id(a), bi = Id(b);
        Shape sa = _nodes[ai].Shape, sb = _nodes[bi].Shape;
        Shape so = BroadcastShape(op, sa, sb);
        int i = Push(op, so, _nodes[ai].NeedsGrad || _nodes[bi].NeedsGrad);
        _nodes[i].A = ai;
        _nodes[i].B = bi;
        Broadcast(op, Val(ai), sa, Val(bi), sb, Val(i), so);
        return Finish(i);
    }

    private static Shape BroadcastShape(Op op, Shape a, Shape b)
    {
        int rows = a.Rows == b.Rows ? a.Rows : a.Rows == 1 ? b.Rows : b.Rows == 1 ? a.Rows : -1;
        int cols = a.Cols == b.Cols ? a.Cols : a.Cols == 1 ? b.Cols : b.Cols == 1 ? a.Cols : -1;
        if (rows < 0 || cols < 0) ThrowShape(op.ToString(), a, b, "do not broadcast (each dimension must match or be 1)");
        return new Shape(rows, cols);
    }

    /// <summary>d = x ∘ y for ∘ ∈ {+, −, ⊙, /}, broadcasting x and y to the output shape row by row.</summary>
    private static void Broadcast(Op op, ReadOnlySpan<T> x, Shape sx, ReadOnlySpan<T> y, Shape sy, Span<T> d, Shape sd)
    {
        if (sx == sd && sy == sd)
        {
            Apply(op, x, y, d);
            return;
        }
        for (int r = 0; r < sd.Rows; r++)
        {
            ReadOnlySpan<T> xr = x.Slice(sx.Rows == 1 ? 0 : r * sx.Cols, sx.Cols);
            ReadOnlySpan<T> yr = y.Slice(sy.Rows == 1 ? 0 : r * sy.Cols, sy.Cols);
            Span<T> dr = d.Slice(r * sd.Cols, sd.Cols);
            if (sx.Cols == sy.Cols) Apply(op, xr, yr, dr);
            else if (sy.Cols == 1) Apply(op, xr, yr[0], dr);
            else Apply(op, xr[0], yr, dr);
        }
    }

    private static void Apply(Op op, ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> d)
    {
        switch (op)
        {
            case Op.Add: TensorPrimitives.Add(x, y, d); break;
            case Op.Subtract: TensorPrimitives.Subtract(x, y, d); break;
            case Op.Multiply: TensorPrimitives.Multiply(x, y, d); break;
            default: TensorPrimitives.Divide(x, y, d); break;
        }
    }

    private static void Apply(Op op, ReadOnlySpan<T> x, T y, Span<T> d)
    {
        switch (op)
        {
            case Op.Add: TensorPrimitives.Add(x, y, d); break;
            case Op.Subtract: TensorPrimitives.Subtract(x, y, d); break;
            case Op.Multiply: TensorPrimitives.Multiply(x, y, d); break;
            default: TensorPrimitives.Divide(x, y, d); break;
        }
    }

    private static void Apply(Op op, T x, ReadOnlySpan<T> y, Span<T> d)
    {
        switch (op)
        {
            case Op.Add: TensorPrimitives.Add(y, x, d); break;
            case Op.Subtract: TensorPrimitives.Subtract(x, y, d); break;
            case Op.Multiply: TensorPrimitives.Multiply(y, x, d); break;
            default: TensorPrimitives.Divide(x, y, d); break;
        }
    }

    private void BinaryBackward(int i, in Node<T> n)
    {
        Span<T> g = Grad(i);
        Shape so = n.Shape, sa = _nodes[n.A].Shape, sb = _nodes[n.B].Shape;
        bool ga = NeedsGrad(n.A), gb = NeedsGrad(n.B);
        switch (n.Op)
        {
            case Op.Add:
                if (ga) AccumulateUnbroadcast(g, so, GradAcc(n.A), sa, negate: false);
                if (gb) AccumulateUnbroadcast(g, so, GradAcc(n.B), sb, negate: false);
                break;
            case Op.Subtract:
                if (ga) AccumulateUnbroadcast(g, so, GradAcc(n.A), sa, negate: false);
                if (gb) AccumulateUnbroadcast(g, so, GradAcc(n.B), sb, negate: true);
                break;
            case Op.Multiply:
            {
                Span<T> t = Scratch(so.Length);
                if (ga)
                {
                    Broadcast(Op.Multiply, g, so, Val(n.B), sb, t, so);
                    AccumulateUnbroadcast(t, so, GradAcc(n.A), sa, negate: false);
                }
                if (gb)
                {
                    Broadcast(Op.Multiply, g, so, Val(n.A), sa, t, so);
                    AccumulateUnbroadcast(t, so, GradAcc(n.B), sb, negate: false);
                }
                break;
            }
            default: // Divide
            {
                Span<T> t = Scratch(so.Length);
                if (ga)
                {
                    Broadcast(Op.Divide, g, so, Val(n.B), sb, t, so);
                    AccumulateUnbroadcast(t, so, GradAcc(n.A), sa, negate: false);
                }
                if (gb)
                {
                    TensorPrimitives.Multiply(g, Val(i), t); // g ⊙ y
                    Broadcast(Op.Divide, t, so, Val(n.B), sb, t, so);
                    AccumulateUnbroadcast(t, so, GradAcc(n.B), sb, negate: true);
                }
                break;
            }
        }
    }

    // Tangents: ẏ = ȧ ± ḃ; ẏ = ȧ⊙b + a⊙ḃ; ẏ = (ȧ − y⊙ḃ)/b, each operand broadcast as in the forward.
    private void BinaryTangent(int i, in Node<T> n)
    {
        Span<T> dy = Tan(i);
        Shape so = n.Shape, sa = _nodes[n.A].Shape, sb = _nodes[n.B].Shape;
        bool ta = NeedsGrad(n.A), tb = NeedsGrad(n.B);
        dy.Clear();
        switch (n.Op)
        {
            case Op.Add:
            case Op.Subtract:
                if (ta) AccumulateBroadcast(Tan(n.A), sa, dy, so, T.One);
                if (tb) AccumulateBroadcast(Tan(n.B), sb, dy, so, n.Op == Op.Add ? T.One : -T.One);
                break;
            case Op.Multiply:
            {
                Span<T> t = Scratch(so.Length);
                if (ta)
                {
                    Broadcast(Op.Multiply, Tan(n.A), sa, Val(n.B), sb, t, so);
                    AccumulateBroadcast(t, so, dy, so, T.One);
                }
                if (tb)
                {
                    Broadcast(Op.Multiply, Val(n.A), sa, Tan(n.B), sb, t, so);
                    AccumulateBroadcast(t, so, dy, so, T.One);
                }
                break;
            }
            default: // Divide
            {
                Span<T> t = Scratch(so.Length);
                if (ta)
                {
                    Broadcast(Op.Divide, Tan(n.A), sa, Val(n.B), sb, t, so);
                    AccumulateBroadcast(t, so, dy, so, T.One);
                }
                if (tb)
                {
                    Broadcast(Op.Multiply, Val(i), so, Tan(n.B), sb, t, so);
                    Broadcast(Op.Divide, t, so, Val(n.B), sb, t, so);
                    AccumulateBroadcast(t, so, dy, so, -T.One);
                }
                break;
            }
        }
    }

    // Tangents of −x, x + c and c·x: −ẋ, ẋ, c·ẋ.
    private void AffineTangent(int i, in Node<T> n)
    {
        T scale = n.Op switch { Op.Negate => -T.One, Op.Scale => n.S0, _ => T.One };
        TensorPrimitives.Multiply(Tan(n.A), scale, Tan(i));
    }

    /// <summary>target += scale · (source broadcast from its shape to target's).</summary>
    internal static void AccumulateBroadcast(ReadOnlySpan<T> source, Shape ss, Span<T> target, Shape st, T scale)
    {
        if (ss == st)
        {
            TensorPrimitives.MultiplyAdd(source, scale, target, target);
            return;
        }
        for (int r = 0; r < st.Rows; r++)
        {
            ReadOnlySpan<T> sr = source.Slice(ss.Rows == 1 ? 0 : r * ss.Cols, ss.Cols);
            Span<T> tr = target.Slice(r * st.Cols, st.Cols);
            if (ss.Cols == st.Cols) TensorPrimitives.MultiplyAdd(sr, scale, tr, tr);
            else TensorPrimitives.Add(tr, scale * sr[0], tr);
        }
    }

    /// <summary>target ±= full summed over the dimensions in which target was broadcast to full's shape.</summary>
    internal static void AccumulateUnbroadcast(ReadOnlySpan<T> full, Shape sf, Span<T> target, Shape st, bool negate)
    {
        if (st == sf)
        {
            if (negate) TensorPrimitives.Subtract(target, full, target);
            else TensorPrimitives.Add(target, full, target);
            return;
        }
        if (st.Rows == 1 && st.Cols == sf.Cols)
        {
            for (int r = 0; r < sf.Rows; r++)
            {
                ReadOnlySpan<T> row = full.Slice(r * sf.Cols, sf.Cols);
                if (negate) TensorPrimitives.Subtract(target, row, target);
                else TensorPrimitives.Add(target, row, target);
            }
            return;
        }
        if (st.Cols == 1 && st.Rows == sf.Rows)
        {
            for (int r = 0; r < sf.Rows; r++)
            {
                T s = TensorPrimitives.Sum(full.Slice(r * sf.Cols, sf.Cols));
                target[r] = negate ? target[r] - s : target[r] + s;
            }
            return;
        }
        T total = TensorPrimitives.Sum(full);
        target[0] = negate ? target[0] - total : target[0] + total;
    }
}
