using System.Numerics;

namespace PurePg.Autodiff;

/// <summary>
/// A value recorded on a <see cref="Tape{T}"/>: a handle (tape, node index, tape generation), not the data.
/// Read its data with <see cref="Tape{T}.Value(Var{T})"/>. A handle from before <see cref="Tape{T}.Reset"/>
/// is refused with an error that says so. Operators record the matching op on the handle's tape.
/// </summary>
public readonly struct Var<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    internal readonly Tape<T> Tape;
    internal readonly int Index;
    internal readonly int Generation;

    internal Var(Tape<T> tape, int index, int generation)
    {
        Tape = tape;
        Index = index;
        Generation = generation;
    }

    /// <summary>The shape of this value.</summary>
    public Shape Shape => Owner.ShapeOf(this);

    /// <summary>Number of rows.</summary>
    public int Rows => Shape.Rows;

    /// <summary>Number of columns.</summary>
    public int Cols => Shape.Cols;

    private Tape<T> Owner => Tape ?? throw new InvalidOperationException("This Var was never recorded on a tape (default value).");

    /// <summary>Elementwise a + b with broadcasting; see <see cref="Tape{T}.Add"/>.</summary>
    public static Var<T> operator +(Var<T> a, Var<T> b) => a.Owner.Add(a, b);
    /// <summary>Elementwise a − b with broadcasting; see <see cref="Tape{T}.Subtract"/>.</summary>
    public static Var<T> operator -(Var<T> a, Var<T> b) => a.Owner.Subtract(a, b);
    /// <summary>Elementwise a ⊙ b with broadcasting; see <see cref="Tape{T}.Multiply"/>.</summary>
    public static Var<T> operator *(Var<T> a, Var<T> b) => a.Owner.Multiply(a, b);
    /// <summary>Elementwise a / b with broadcasting; see <see cref="Tape{T}.Divide"/>.</summary>
    public static Var<T> operator /(Var<T> a, Var<T> b) => a.Owner.Divide(a, b);
    /// <summary>−a; see <see cref="Tape{T}.Negate"/>.</summary>
    public static Var<T> operator -(Var<T> a) => a.Owner.Negate(a);
    /// <summary>a + c for a constant c.</summary>
    public static Var<T> operator +(Var<T> a, T c) => a.Owner.AddScalar(a, c);
    /// <summary>c + a for a constant c.</summary>
    public static Var<T> operator +(T c, Var<T> a) => a.Owner.AddScalar(a, c);
    /// <summary>a − c for a constant c.</summary>
    public static Var<T> operator -(Var<T> a, T c) => a.Owner.AddScalar(a, -c);
    /// <summary>c − a for a constant c.</summary>
    public static Var<T> operator -(T c, Var<T> a) => a.Owner.AddScalar(a.Owner.Negate(a), c);
    /// <summary>c · a for a constant c.</summary>
    public static Var<T> operator *(Var<T> a, T c) => a.Owner.Scale(a, c);
    /// <summary>c · a for a constant c.</summary>
    public static Var<T> operator *(T c, Var<T> a) => a.Owner.Scale(a, c);
    /// <summary>a / c for a constant c.</summary>
    public static Var<T> operator /(Var<T> a, T c) => a.Owner.Scale(a, T.One / c);

    /// <inheritdoc/>
    public override string ToString() => Tape is null ? "Var(unrecorded)" : $"Var#{Index}{Shape}";
}
