using System.Numerics;

namespace PurePg.Autodiff;

/// <summary>
/// One named block of a <see cref="ParameterSet{T}"/>: the elements θ[Offset .. Offset + Rows·Cols) read as a
/// row-major [Rows, Cols] matrix (a weight W is [out, in]; a bias b is [1, out]).
/// </summary>
/// <param name="Name">Name used in error messages and checkpoints, e.g. <c>layer0.W</c>.</param>
/// <param name="Offset">Index of the first element in the flat vector θ.</param>
/// <param name="Shape">Shape of the block.</param>
public readonly record struct ParameterView(string Name, int Offset, Shape Shape)
{
    /// <summary>Number of elements in the block.</summary>
    public int Length => Shape.Length;
}

/// <summary>
/// The parameters θ ∈ R^d of a model as one flat contiguous vector, with named per-layer views into it.
/// Optimizers, conjugate gradient, ES perturbations and checkpoints all work on <see cref="Values"/>;
/// gradients live on each <see cref="Tape{T}"/> in a vector of the same layout, so several threads can run
/// their own tapes over one shared θ at once (reads only; applying updates is the caller's protocol).
/// </summary>
public sealed class ParameterSet<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly List<ParameterView> _views = new();
    private T[] _values = Array.Empty<T>();
    private bool _frozen;

    /// <summary>The flat vector θ. Its length is fixed once the first tape uses this set.</summary>
    public Span<T> Values => _values;

    /// <summary>d, the number of parameters.</summary>
    public int Count => _values.Length;

    /// <summary>The views in flattening order.</summary>
    public IReadOnlyList<ParameterView> Views => _views;

    /// <summary>
    /// Appends a zero-initialized [rows, cols] block named <paramref name="name"/> at the end of θ and returns its view.
    /// The flattening order is the order of calls (see shared/DESIGN.md: W then b, layer by layer).
    /// </summary>
    public ParameterView Add(string name, int rows, int cols)
    {
        if (_frozen) throw new InvalidOperationException($"Cannot add parameter '{name}': the set is already in use by a tape, so its layout is fixed.");
        if (rows <= 0 || cols <= 0) throw new ArgumentOutOfRangeException(nameof(rows), $"Parameter '{name}' needs a positive shape, got [{rows}, {cols}].");
        var view = new ParameterView(name, _values.Length, new Shape(rows, cols));
        Array.Resize(ref _values, _values.Length + view.Length);
        _views.Add(view);
        return view;
    }

    /// <summary>The elements of one block, row-major.</summary>
    public Span<T> Slice(ParameterView view) => _values.AsSpan(view.Offset, view.Length);

    /// <summary>Finds a view by name.</summary>
    public ParameterView this[string name] =>
        _views.Find(v => v.Name == name) is { Name: not null } v ? v : throw new KeyNotFoundException($"No parameter named '{name}'.");

    internal T[] Array_ => _values;

    internal void Freeze() => _frozen = true;
}
