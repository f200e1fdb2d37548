namespace PurePg.Envs.ClassicControl;

/// <summary>The few Python/NumPy float semantics the classic-control sources rely on that C# spells differently.</summary>
static class PythonMath
{
    /// <summary>Python's and NumPy's float <c>a % b</c>: the remainder takes the sign of the divisor (floor modulo),
    /// computed as NumPy does from fmod so the result is bit-identical.</summary>
    public static double FloorMod(double a, double b)
    {
        double mod = a % b; // C#'s % on doubles is C's fmod
        if (mod != 0)
        {
            if (b < 0 != mod < 0) mod += b;
        }
        else mod = Math.CopySign(0.0, b);
        return mod;
    }

    /// <summary><c>np.clip(x, low, high)</c> on a scalar: minimum(maximum(x, low), high).</summary>
    public static double Clip(double x, double low, double high) => Math.Min(Math.Max(x, low), high);
}

/// <summary>
/// A NumPy scalar with its type, for the one source (MountainCarContinuous) whose arithmetic mixes float32 and float64:
/// NumPy 2's promotion (NEP 50) is followed — a Python float or int is "weak" and takes the other operand's type,
/// np.float32 with np.float32 stays float32, and np.float64 wins over np.float32. Comparisons promote the same way.
/// </summary>
readonly struct NpScalar
{
    public enum Kind : byte { Python, Float64, Float32 }

    public readonly double Value;
    public readonly Kind Type;

    NpScalar(double value, Kind type) => (Value, Type) = (type == Kind.Float32 ? (float)value : value, type);

    public static NpScalar Py(double value) => new(value, Kind.Python);
    public static NpScalar Of(double value, Kind kind) => new(value, kind);
    public static NpScalar F64(double value) => new(value, Kind.Float64);
    public static NpScalar F32(float value) => new(value, Kind.Float32);

    static Kind Promote(NpScalar a, NpScalar b) =>
        a.Type == Kind.Float64 || b.Type == Kind.Float64 ? Kind.Float64
        : a.Type == Kind.Float32 || b.Type == Kind.Float32 ? Kind.Float32
        : Kind.Python;

    public static NpScalar operator +(NpScalar a, NpScalar b) => Promote(a, b) == Kind.Float32
        ? new((float)a.Value + (float)b.Value, Kind.Float32) : new(a.Value + b.Value, Promote(a, b));

    public static NpScalar operator -(NpScalar a, NpScalar b) => Promote(a, b) == Kind.Float32
        ? new((float)a.Value - (float)b.Value, Kind.Float32) : new(a.Value - b.Value, Promote(a, b));

    public static NpScalar operator *(NpScalar a, NpScalar b) => Promote(a, b) == Kind.Float32
        ? new((float)a.Value * (float)b.Value, Kind.Float32) : new(a.Value * b.Value, Promote(a, b));

    public static bool operator >(NpScalar a, NpScalar b) => Promote(a, b) == Kind.Float32 ? (float)a.Value > (float)b.Value : a.Value > b.Value;
    public static bool operator <(NpScalar a, NpScalar b) => Promote(a, b) == Kind.Float32 ? (float)a.Value < (float)b.Value : a.Value < b.Value;
    public static bool operator >=(NpScalar a, NpScalar b) => Promote(a, b) == Kind.Float32 ? (float)a.Value >= (float)b.Value : a.Value >= b.Value;
    public static bool operator <=(NpScalar a, NpScalar b) => Promote(a, b) == Kind.Float32 ? (float)a.Value <= (float)b.Value : a.Value <= b.Value;

    /// <summary>Python's <c>a == b</c> under the same promotion.</summary>
    public bool EqualsNumerically(NpScalar b) => Promote(this, b) == Kind.Float32 ? (float)Value == (float)b.Value : Value == b.Value;

    public override string ToString() => $"{Value:R} ({Type})";
}
