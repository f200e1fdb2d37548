namespace PurePg.Envs;

/// <summary>A Gymnasium space: the set an observation or action belongs to.</summary>
public abstract class Space
{
    /// <summary>The number of numbers one element takes in a flat buffer (1 for <see cref="Discrete"/>).</summary>
    public abstract int FlatSize { get; }
}

/// <summary>Gymnasium's <c>Discrete(n, start)</c>: the integers start, …, start + n − 1.</summary>
public sealed class Discrete : Space
{
    /// <summary>Creates {start, …, start + n − 1}.</summary>
    public Discrete(int n, int start = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        N = n;
        Start = start;
    }

    /// <summary>The number of actions.</summary>
    public int N { get; }

    /// <summary>The smallest action.</summary>
    public int Start { get; }

    /// <inheritdoc/>
    public override int FlatSize => 1;

    /// <summary>Whether <paramref name="value"/> is in the space.</summary>
    public bool Contains(int value) => value >= Start && value - Start < N;

    /// <inheritdoc/>
    public override string ToString() => Start == 0 ? $"Discrete({N})" : $"Discrete({N}, start={Start})";
}

/// <summary>Gymnasium's <c>Box(low, high, shape, dtype=float32)</c>: a flat float32 vector with elementwise bounds
/// (±∞ where unbounded).</summary>
public sealed class Box : Space
{
    readonly float[] _low, _high;

    /// <summary>Creates a box with the given elementwise bounds.</summary>
    public Box(float[] low, float[] high)
    {
        ArgumentNullException.ThrowIfNull(low);
        ArgumentNullException.ThrowIfNull(high);
        if (low.Length != high.Length)
            throw new ArgumentException($"Box bounds differ in length: low has {low.Length}, high {high.Length}.");
        for (int i = 0; i < low.Length; i++)
            if (!(low[i] <= high[i]))
                throw new ArgumentException($"Box bound {i}: low {low[i]} is not ≤ high {high[i]}.");
        _low = (float[])low.Clone();
        _high = (float[])high.Clone();
    }

    /// <summary>A box of <paramref name="size"/> elements with the same bounds on each.</summary>
    public static Box Uniform(int size, float low, float high) =>
        new(Enumerable.Repeat(low, size).ToArray(), Enumerable.Repeat(high, size).ToArray());

    /// <summary>The lower bounds.</summary>
    public ReadOnlySpan<float> Low => _low;

    /// <summary>The upper bounds.</summary>
    public ReadOnlySpan<float> High => _high;

    /// <summary>The element type, always float32 as in Gymnasium's classic-control spaces.</summary>
    public Type ElementType => typeof(float);

    /// <summary>The number of elements (the shape is (Size,)).</summary>
    public int Size => _low.Length;

    /// <inheritdoc/>
    public override int FlatSize => _low.Length;

    /// <summary>Whether every element of <paramref name="value"/> is within its bounds.</summary>
    public bool Contains(ReadOnlySpan<float> value)
    {
        if (value.Length != _low.Length) return false;
        for (int i = 0; i < value.Length; i++)
            if (!(value[i] >= _low[i] && value[i] <= _high[i])) return false;
        return true;
    }

    /// <inheritdoc/>
    public override string ToString() =>
        _low.Length == 0 ? "Box(())" :
        _low.All(v => v == _low[0]) && _high.All(v => v == _high[0])
            ? $"Box({_low[0]}, {_high[0]}, ({Size},), float32)"
            : $"Box([{string.Join(", ", _low)}], [{string.Join(", ", _high)}], ({Size},), float32)";
}
