using System.Numerics;
using System.Runtime.CompilerServices;

namespace PurePg.Autodiff;

/// <summary>
/// A Wengert-list tape for reverse-mode differentiation over dense row-major tensors of rank ≤ 2.
/// Each op appends a node and computes its value into an arena the tape owns; <see cref="Backward(Var{T})"/> walks the
/// list in reverse and accumulates ∂loss/∂x for every recorded x. <see cref="Reset"/> empties the list and reuses
/// the arena, so a training step in steady state allocates nothing on the managed heap.
/// </summary>
/// <remarks>
/// A tape belongs to one thread. Several threads may each run their own tape over the same
/// <see cref="ParameterSet{T}"/> at once: θ is only read, and each tape accumulates into its own gradient vector
/// (<see cref="GradientOf"/>). Spans returned by <see cref="Value(Var{T})"/> and <see cref="Gradient(Var{T})"/>
/// stay valid until the next recorded op or reset.
/// </remarks>
public sealed partial class Tape<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    internal const int Align = 16; // elements; keeps every buffer start on a 64-byte multiple for float

    private Node<T>[] _nodes = new Node<T>[64];
    private int _count;
    private T[] _values = new T[1024];
    private T[] _grads = new T[1024];
    private int _used;
    private int[] _ints = new int[256];
    private int _intsUsed;
    private T[] _scratch = new T[1024];
    private T[] _scratch2 = new T[1024];
    private readonly List<ParameterSet<T>> _sets = new();
    private readonly List<T[]> _setGrads = new();
    private T[] _tangents = new T[1024];
    private readonly List<T[]> _setTangents = new();
    private int _generation;
    private int _pass;
    private bool _replacing;
    private readonly List<(int Source, int Offset, int Length)> _written = new(), _views = new();
    private int _noGradDepth;

    /// <summary>
    /// When true, every op checks its output (and, during <see cref="Backward(Var{T})"/>, the gradients it produces) for NaN
    /// or ±∞ and throws naming the op where a non-finite value first appears. Costs one pass per op; off by default.
    /// </summary>
    public bool CheckFinite { get; set; }

    /// <summary>
    /// When true, a row of an op's output depends on that row of its inputs alone, bit for bit, not on how many rows are
    /// computed with it: <see cref="Linear"/> computes every y_ij = b_j + Σ_p x_ip·W_jp as one chain of fused multiply-adds
    /// in p order (256-bit vectors across j, also on CPUs with AVX-512), and the pointwise maps treat every element alike
    /// (they always do). Acting on N copies at once then gives each copy exactly what acting on it alone, or in any
    /// block of copies, gives — what lets a rollout split across workers reproduce one process. Slower than the default
    /// for large batches (the large-product kernels are not used); off by default.
    /// </summary>
    public bool BatchInvariant { get; set; }

    /// <summary>True inside a <see cref="NoGrad"/> scope: ops record values only, nothing is differentiable.</summary>
    public bool IsNoGrad => _noGradDepth > 0;

    /// <summary>Elements the value arena holds before it must grow; <see cref="ArenaUsed"/> of them are in use.</summary>
    internal int ArenaCapacity => _values.Length;

    internal int ArenaUsed => _used;

    /// <summary>Number of nodes recorded since the last reset.</summary>
    public int NodeCount => _count;

    /// <summary>
    /// Forgets every recorded node and reuses the arena. Values recorded before are invalid afterwards: using one
    /// throws. Parameter gradients (<see cref="GradientOf"/>) are kept; clear them with <see cref="ZeroGradients"/>.
    /// </summary>
    public void Reset()
    {
        _count = 0;
        _used = 0;
        _intsUsed = 0;
        _generation++;
    }

    /// <summary>A point in the recording to come back to with <see cref="Rewind"/>.</summary>
    internal (int Count, int Used, int IntsUsed) Mark() => (_count, _used, _intsUsed);

    /// <summary>Forgets the nodes recorded after <paramref name="mark"/> and frees their arena, keeping the ones before: for
    /// a loop that appends a few nodes to the same recorded forward pass each iteration (a Fisher-vector product per
    /// conjugate-gradient step). Vars recorded after the mark must not be used again.</summary>
    internal void Rewind((int Count, int Used, int IntsUsed) mark) => (_count, _used, _intsUsed) = mark;

    /// <summary>Enters no-grad mode (for acting): dispose the returned scope to leave it. Scopes nest.</summary>
    public NoGradScope NoGrad()
    {
        _noGradDepth++;
        return new NoGradScope(this);
    }

    /// <summary>Ends a <see cref="NoGrad"/> region when disposed.</summary>
    public readonly struct NoGradScope : IDisposable
    {
        private readonly Tape<T> _tape;
        internal NoGradScope(Tape<T> tape) => _tape = tape;
        /// <summary>Leaves no-grad mode.</summary>
        public void Dispose() => _tape._noGradDepth--;
    }

    // ---------------------------------------------------------------- leaves

    /// <summary>Records a constant [rows, cols] copied from <paramref name="data"/> (row-major). No gradient flows into it.</summary>
    public Var<T> Constant(ReadOnlySpan<T> data, int rows, int cols)
    {
        if (rows <= 0 || cols <= 0) throw new ArgumentOutOfRangeException(nameof(rows), $"Constant: shape [{rows}, {cols}] must be positive.");
        if (data.Length != rows * cols)
            throw new ArgumentException($"Constant: {data.Length} values do not fill shape [{rows}, {cols}] ({rows * cols} needed).", nameof(data));
        int i = Push(Op.Constant, new Shape(rows, cols), needsGrad: false);
        data.CopyTo(Val(i));
        return Finish(i);
    }

    /// <summary>
    /// Records a constant [rows, cols] that refers to <paramref name="data"/> (row-major) without copying it — for
    /// observation batches that already sit in a rollout buffer. The caller must leave the data unchanged until this
    /// tape is reset. No gradient flows into it.
    /// </summary>
    public Var<T> Borrow(ReadOnlyMemory<T> data, int rows, int cols)
    {
        if (rows <= 0 || cols <= 0) throw new ArgumentOutOfRangeException(nameof(rows), $"Borrow: shape [{rows}, {cols}] must be positive.");
        if (data.Length != rows * cols)
            throw new ArgumentException($"Borrow: {data.Length} values do not fill shape [{rows}, {cols}] ({rows * cols} needed).", nameof(data));
        int i = Push(Op.Constant, new Shape(rows, cols), needsGrad: false, allocate: false);
        _nodes[i].Source = -1;
        _nodes[i].Borrowed = data;
        return Finish(i);
    }

    /// <summary>Records the scalar constant <paramref name="value"/> as a [1, 1] value.</summary>
    public Var<T> Constant(T value)
    {
        int i = Push(Op.Constant, new Shape(1, 1), needsGrad: false);
        Val(i)[0] = value;
        return Finish(i);
    }

    /// <summary>
    /// Records a view of one parameter block. Its value is θ itself (no copy); its gradient accumulates into this
    /// tape's gradient vector for the set, <see cref="GradientOf"/>.
    /// </summary>
    public Var<T> Parameter(ParameterSet<T> set, ParameterView view)
    {
        ArgumentNullException.ThrowIfNull(set);
        if (view.Offset < 0 || view.Offset + view.Length > set.Count)
            throw new ArgumentException($"Parameter: view '{view.Name}' [{view.Offset}, {view.Offset + view.Length}) lies outside the set of {set.Count} parameters.", nameof(view));
        int slot = SlotOf(set);
        int i = Push(Op.Parameter, view.Shape, needsGrad: true, allocate: false);
        _nodes[i].Source = slot + 1;
        _nodes[i].Offset = view.Offset;
        return Finish(i);
    }

    /// <summary>stop-gradient(x): the same value (no copy), through which no gradient flows.</summary>
    public Var<T> Detach(Var<T> x)
    {
        Node<T> src = NodeOf(x);
        int i = Push(Op.Detach, src.Shape, needsGrad: false, allocate: false);
        _nodes[i].Source = src.Source;
        _nodes[i].Offset = src.Offset;
        _nodes[i].Borrowed = src.Borrowed;
        return Finish(i);
    }

    // ---------------------------------------------------------------- reading values and gradients

    /// <summary>The value of <paramref name="x"/>, row-major.</summary>
    public ReadOnlySpan<T> Value(Var<T> x) => Val(Id(x));

    /// <summary>The single value of a [1, 1] result.</summary>
    public T Scalar(Var<T> x)
    {
        int i = Id(x);
        if (_nodes[i].Shape != new Shape(1, 1)) throw new InvalidOperationException($"Scalar: value has shape {_nodes[i].Shape}, not [1, 1].");
        return Val(i)[0];
    }

    /// <summary>∂loss/∂x after <see cref="Backward(Var{T})"/>, row-major; for a parameter view, its slice of <see cref="GradientOf"/>.</summary>
    public ReadOnlySpan<T> Gradient(Var<T> x)
    {
        int i = Id(x);
        if (!_nodes[i].NeedsGrad) throw new InvalidOperationException($"Gradient: {_nodes[i].Op} node #{i} does not require a gradient (a constant, detached, or recorded in no-grad mode).");
        return GradAcc(i);
    }

    /// <summary>
    /// This tape's gradient vector for <paramref name="set"/>: ∂loss/∂θ in θ's flat layout, accumulated over every
    /// <see cref="Backward(Var{T})"/> since the last <see cref="ZeroGradients"/>.
    /// </summary>
    public Span<T> GradientOf(ParameterSet<T> set) => _setGrads[SlotOf(set)];

    /// <summary>Sets every parameter gradient this tape holds to zero.</summary>
    public void ZeroGradients()
    {
        foreach (var g in _setGrads) Array.Clear(g);
    }

    // ---------------------------------------------------------------- backward

    /// <summary>
    /// Reverse pass: seeds ∂loss/∂loss = 1 and, walking the list backwards, accumulates each node's vector-Jacobian
    /// product into its inputs' gradients. Intermediate gradients are recomputed from zero on each call;
    /// parameter gradients accumulate (+=).
    /// </summary>
    /// <exception cref="InvalidOperationException">The loss is not [1, 1], or does not depend on anything differentiable.</exception>
    public void Backward(Var<T> loss) => Walk(CheckLoss(loss));

    /// <summary>
    /// Reverse pass that, when <paramref name="accumulate"/> is false, sets the parameter gradients instead of adding to
    /// them: afterwards <see cref="GradientOf"/> holds exactly ∂loss/∂θ, zero for every parameter the loss does not
    /// depend on — <see cref="ZeroGradients"/> followed by <see cref="Backward(Var{T})"/>, without the pass that clears
    /// memory first (PyTorch's <c>grad = None</c> before <c>backward()</c>): the first contribution to each parameter
    /// block is stored (a GEMM with β = 0) and only blocks nothing reached are cleared at the end. With
    /// <paramref name="accumulate"/> true it is <see cref="Backward(Var{T})"/>. If the pass throws (a non-finite value
    /// under <see cref="CheckFinite"/>), the parameter gradients are left partly written.
    /// </summary>
    /// <exception cref="InvalidOperationException">The loss is not [1, 1], or does not depend on anything differentiable.</exception>
    public void Backward(Var<T> loss, bool accumulate)
    {
        int li = CheckLoss(loss);
        if (accumulate) { Walk(li); return; }
        if (ParameterViewsOverlap())
        {
            // Two views share part of a block: which one writes first is not a whole block, so clear, then add.
            ZeroGradients();
            Walk(li);
            return;
        }
        _written.Clear();
        _replacing = true;
        try { Walk(li); }
        finally { _replacing = false; }
        ClearUnwritten();
    }

    private int CheckLoss(Var<T> loss)
    {
        int li = Id(loss);
        ref Node<T> ln = ref _nodes[li];
        if (ln.Shape != new Shape(1, 1))
            throw new InvalidOperationException($"Backward needs a scalar loss of shape [1, 1]; got {ln.Shape} from op {ln.Op}. Reduce it first (Sum or Mean).");
        if (!ln.NeedsGrad)
            throw new InvalidOperationException($"Backward: the loss ({ln.Op} node #{li}) does not depend on any parameter (all inputs constant, detached, or recorded in no-grad mode).");
        return li;
    }

    private void Walk(int li)
    {
        _pass++;
        GradAcc(li)[0] = T.One;
        for (int i = li; i >= 0; i--)
        {
            ref readonly Node<T> n = ref _nodes[i];
            // Skip leaves, and nodes no gradient flowed into during this pass (their buffers were never cleared).
            if (!n.NeedsGrad || n.Op is Op.Parameter or Op.Constant or Op.Detach || n.GradPass != _pass) continue;
            BackwardOf(i, in n);
            if (CheckFinite) CheckInputGradients(i);
        }
    }

    /// <summary>
    /// True when two parameter views on the tape cover overlapping but different ranges of one set (the same range
    /// recorded several times is fine). Sorted by (set, offset, length), a range overlaps a different earlier one exactly
    /// when it starts before the furthest end seen so far in its set: O(P log P) in the P parameter nodes.
    /// </summary>
    private bool ParameterViewsOverlap()
    {
        _views.Clear();
        for (int i = 0; i < _count; i++)
            if (_nodes[i].Op == Op.Parameter) _views.Add((_nodes[i].Source, _nodes[i].Offset, _nodes[i].Shape.Length));
        Span<(int Source, int Offset, int Length)> v = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_views);
        v.Sort(static (x, y) => x.Source != y.Source ? x.Source.CompareTo(y.Source) : x.Offset != y.Offset ? x.Offset.CompareTo(y.Offset) : x.Length.CompareTo(y.Length));
        int maxEnd = 0;
        for (int i = 0; i < v.Length; i++)
        {
            if (i == 0 || v[i].Source != v[i - 1].Source) maxEnd = 0;
            else if (v[i] == v[i - 1]) continue;
            else if (v[i].Offset < maxEnd) return true;
            maxEnd = Math.Max(maxEnd, v[i].Offset + v[i].Length);
        }
        return false;
    }

    /// <summary>
    /// In a replacing pass: true (and the range recorded) for the first contribution to a parameter block, which then
    /// stores instead of adding; false once any view of the same block has written it.
    /// </summary>
    private bool FirstWrite(int source, int offset, int length)
    {
        foreach (var (s, o, l) in _written)
            if (s == source && o == offset && l == length) return false;
        _written.Add((source, offset, length));
        return true;
    }

    /// <summary>After a replacing pass: zeroes every part of every parameter gradient that no view wrote.</summary>
    private void ClearUnwritten()
    {
        Span<(int Source, int Offset, int Length)> w = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_written);
        w.Sort(static (x, y) => x.Source != y.Source ? x.Source.CompareTo(y.Source) : x.Offset.CompareTo(y.Offset));
        int next = 0;
        for (int slot = 0; slot < _setGrads.Count; slot++)
        {
            T[] g = _setGrads[slot];
            int cursor = 0;
            for (; next < w.Length && w[next].Source == slot + 1; next++)
            {
                if (w[next].Offset > cursor) Array.Clear(g, cursor, w[next].Offset - cursor);
                cursor = Math.Max(cursor, w[next].Offset + w[next].Length);
            }
            if (cursor < g.Length) Array.Clear(g, cursor, g.Length - cursor);
        }
    }

    /// <summary>The walker's table: one line per primitive, each rule lives beside its forward in Ops/.</summary>
    private void BackwardOf(int i, in Node<T> n)
    {
        switch (n.Op)
        {
            case Op.Add: case Op.Subtract: case Op.Multiply: case Op.Divide: BinaryBackward(i, in n); break;
            case Op.Negate: NegateBackward(i, in n); break;
            case Op.AddScalar: AddScalarBackward(i, in n); break;
            case Op.Scale: ScaleBackward(i, in n); break;
            case Op.Exp: ExpBackward(i, in n); break;
            case Op.Log: LogBackward(i, in n); break;
            case Op.Tanh: TanhBackward(i, in n); break;
            case Op.Relu: ReluBackward(i, in n); break;
            case Op.Sigmoid: SigmoidBackward(i, in n); break;
            case Op.Softplus: SoftplusBackward(i, in n); break;
            case Op.Square: SquareBackward(i, in n); break;
            case Op.Sqrt: SqrtBackward(i, in n); break;
            case Op.Clamp: ClampBackward(i, in n); break;
            case Op.Minimum: case Op.Maximum: MinMaxBackward(i, in n); break;
            case Op.Sum: case Op.Mean: SumBackward(i, in n); break;
            case Op.SumRows: case Op.MeanRows: SumRowsBackward(i, in n); break;
            case Op.LogSumExp: LogSumExpBackward(i, in n); break;
            case Op.LogSoftmax: LogSoftmaxBackward(i, in n); break;
            case Op.Gather: GatherBackward(i, in n); break;
            case Op.LogSoftmaxGather: LogSoftmaxGatherBackward(i, in n); break;
            case Op.MatMul: MatMulBackward(i, in n); break;
            case Op.Linear: LinearBackward(i, in n); break;
            case Op.LinearTanh: case Op.LinearRelu: LinearActivatedBackward(i, in n); break;
            default: throw new InvalidOperationException($"No backward rule for op {n.Op}.");
        }
    }

    // ---------------------------------------------------------------- internals shared by the ops

    internal int Id(Var<T> x)
    {
        if (x.Tape is null) throw new InvalidOperationException("This Var was never recorded on a tape (default value).");
        if (!ReferenceEquals(x.Tape, this)) throw new InvalidOperationException($"Var#{x.Index} belongs to another tape.");
        if (x.Generation != _generation)
            throw new InvalidOperationException($"Var#{x.Index} was recorded before this tape was reset (Reset); its value is gone. Record it again after the reset.");
        return x.Index;
    }

    internal Shape ShapeOf(Var<T> x) => _nodes[Id(x)].Shape;

    internal ref readonly Node<T> NodeOf(Var<T> x) => ref _nodes[Id(x)];

    internal ref Node<T> NodeAt(int i) => ref _nodes[i];

    internal bool NeedsGrad(int i) => i >= 0 && _nodes[i].NeedsGrad;

    internal Span<T> Val(int i)
    {
        ref readonly Node<T> n = ref _nodes[i];
        // Ops only read their inputs' values; a borrowed span is never written.
        if (n.Source < 0) return System.Runtime.InteropServices.MemoryMarshal.AsMemory(n.Borrowed).Span;
        T[] buffer = n.Source == 0 ? _values : _sets[n.Source - 1].Array_;
        return buffer.AsSpan(n.Offset, n.Shape.Length);
    }

    /// <summary>
    /// The gradient buffer of node <paramref name="i"/> as an accumulation target: cleared on its first use in the current
    /// backward pass, so that only gradients that receive a contribution are ever zeroed, right before they are used.
    /// Parameter gradients are never cleared here (they accumulate across passes).
    /// </summary>
    internal Span<T> GradAcc(int i)
    {
        Span<T> g = GradTarget(i, out bool fresh);
        if (fresh) g.Clear();
        return g;
    }

    /// <summary>
    /// Like <see cref="GradAcc"/>, for a rule that writes every element: on the first contribution of the pass the buffer
    /// is not cleared and <paramref name="overwrite"/> is true, so the rule stores instead of adding (a GEMM with β = 0).
    /// </summary>
    internal Span<T> GradTarget(int i, out bool overwrite)
    {
        ref Node<T> n = ref _nodes[i];
        if (n.Source == 0)
        {
            overwrite = n.GradPass != _pass;
            if (overwrite) n.GradPass = _pass;
        }
        else overwrite = _replacing && n.Source > 0 && FirstWrite(n.Source, n.Offset, n.Shape.Length);
        return Grad(i);
    }

    /// <summary>
    /// The gradient buffer of node <paramref name="i"/> (the arena's, or its parameter set's), as it stands: what a node's
    /// own backward rule reads, already initialized by its consumers.
    /// </summary>
    internal Span<T> Grad(int i)
    {
        ref readonly Node<T> n = ref _nodes[i];
        T[] buffer = n.Source == 0 ? _grads : _setGrads[n.Source - 1];
        return buffer.AsSpan(n.Offset, n.Shape.Length);
    }

    /// <summary>Appends a node with a fresh arena region for its value and returns its index.</summary>
    internal int Push(Op op, Shape shape, bool needsGrad, bool allocate = true)
    {
        if (_count == _nodes.Length) Array.Resize(ref _nodes, _nodes.Length * 2);
        int i = _count++;
        ref Node<T> n = ref _nodes[i];
        n = default;
        n.Op = op;
        n.Shape = shape;
        n.NeedsGrad = needsGrad && !IsNoGrad;
        n.A = n.B = n.C = -1;
        n.Saved = n.SavedValues = -1;
        if (allocate) n.Offset = Allocate(shape.Length);
        return i;
    }

    /// <summary>
    /// Reserves <paramref name="length"/> elements of the value arena (and the matching gradient region). Growing the
    /// arena moves it, so an op must make all its allocations before it takes any span of values.
    /// </summary>
    internal int Allocate(int length)
    {
        int offset = _used;
        int end = offset + (length + Align - 1) / Align * Align;
        if (end > _values.Length)
        {
            int size = Math.Max(end, _values.Length * 2);
            Array.Resize(ref _values, size);
            _grads = new T[size];
            _tangents = new T[size];
        }
        _used = end;
        return offset;
    }

    /// <summary>Reserves <paramref name="length"/> ints (e.g. gather indices) and returns their offset.</summary>
    internal int AllocateInts(int length)
    {
        int offset = _intsUsed;
        if (offset + length > _ints.Length) Array.Resize(ref _ints, Math.Max(offset + length, _ints.Length * 2));
        _intsUsed += length;
        return offset;
    }

    internal Span<int> Ints(int offset, int length) => _ints.AsSpan(offset, length);

    internal Span<T> Arena(int offset, int length) => _values.AsSpan(offset, length);

    /// <summary>Two scratch buffers the backward rules use for temporaries; valid until the next call.</summary>
    internal Span<T> Scratch(int length, int which = 0)
    {
        ref T[] s = ref which == 0 ? ref _scratch : ref _scratch2;
        if (s.Length < length) s = new T[Math.Max(length, s.Length * 2)];
        return s.AsSpan(0, length);
    }

    internal Var<T> Finish(int i)
    {
        if (CheckFinite && _nodes[i].Op != Op.Parameter) CheckFiniteValues(Val(i), $"op {_nodes[i].Op} (node #{i}, shape {_nodes[i].Shape}) produced");
        return new Var<T>(this, i, _generation);
    }

    private int SlotOf(ParameterSet<T> set)
    {
        for (int s = 0; s < _sets.Count; s++)
            if (ReferenceEquals(_sets[s], set)) return s;
        set.Freeze();
        _sets.Add(set);
        _setGrads.Add(new T[set.Count]);
        _setTangents.Add(new T[set.Count]);
        return _sets.Count - 1;
    }

    private void CheckInputGradients(int i)
    {
        ref readonly Node<T> n = ref _nodes[i];
        foreach (int input in (ReadOnlySpan<int>)[n.A, n.B, n.C])
            if (NeedsGrad(input)) CheckFiniteValues(GradAcc(input), $"the backward of op {n.Op} (node #{i}) produced a gradient with");
    }

    private static void CheckFiniteValues(ReadOnlySpan<T> values, string what)
    {
        for (int k = 0; k < values.Length; k++)
            if (!T.IsFinite(values[k]))
                throw new ArithmeticException($"Non-finite value: {what} {values[k]} at element {k}.");
    }

    internal static void ThrowShape(string op, Shape a, Shape b, string rule) =>
        throw new ArgumentException($"{op}: shapes {a} and {b} {rule}.");

    /// <summary>Appends a node of <paramref name="x"/>'s shape with input A = x.</summary>
    internal int PushUnary(Op op, Var<T> x)
    {
        int xi = Id(x);
        int i = Push(op, _nodes[xi].Shape, _nodes[xi].NeedsGrad);
        _nodes[i].A = xi;
        return i;
    }
}
