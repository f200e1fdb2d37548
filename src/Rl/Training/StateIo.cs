using PurePg.Autodiff;

namespace PurePg.Rl.Training;

/// <summary>Binary helpers for checkpoint state: exact-length arrays and generator states.</summary>
internal static class StateIo
{
    public static void WriteFloats(BinaryWriter w, ReadOnlySpan<float> values)
    {
        w.Write(values.Length);
        foreach (float v in values) w.Write(v);
    }

    public static void ReadFloats(BinaryReader r, Span<float> values, string what)
    {
        int n = r.ReadInt32();
        if (n != values.Length) throw new InvalidDataException($"The checkpoint's {what} has {n} values; this model has {values.Length} (another architecture?).");
        for (int i = 0; i < n; i++) values[i] = r.ReadSingle();
    }

    public static void WriteInts(BinaryWriter w, ReadOnlySpan<int> values)
    {
        w.Write(values.Length);
        foreach (int v in values) w.Write(v);
    }

    public static void ReadInts(BinaryReader r, Span<int> values, string what)
    {
        int n = r.ReadInt32();
        if (n != values.Length) throw new InvalidDataException($"The checkpoint's {what} has {n} values, {values.Length} expected.");
        for (int i = 0; i < n; i++) values[i] = r.ReadInt32();
    }

    public static void WriteRng(BinaryWriter w, Rng rng)
    {
        var s = rng.State;
        w.Write(s.S0); w.Write(s.S1); w.Write(s.S2); w.Write(s.S3); w.Write(s.Spare); w.Write(s.HasSpare);
    }

    public static void ReadRng(BinaryReader r, Rng rng) =>
        rng.State = (r.ReadUInt64(), r.ReadUInt64(), r.ReadUInt64(), r.ReadUInt64(), r.ReadDouble(), r.ReadBoolean());
}
