using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using PurePg.Envs;

namespace PurePg.Rl.Training;

/// <summary>
/// The envelope every PurePg binary file shares (checkpoints, policy files, demonstrations): an 8-byte magic, an int32
/// format version, the format's own little-endian body, and a SHA-256 of all the preceding bytes; written atomically
/// (<see cref="AtomicFile"/>), and refused on reading — truncated, not this format, failing its checksum, another
/// version — with one line that names the file.
/// </summary>
/// <param name="MagicText">The 8 ASCII bytes a file starts with, e.g. "PUREPGPL".</param>
/// <param name="Version">The format version this library writes and reads.</param>
/// <param name="FileNoun">What the file is called in messages ("policy file").</param>
/// <param name="FormatNoun">What its format is called in messages ("policy").</param>
/// <param name="Reader">Who reads it, in the version message ("library").</param>
internal sealed record SignedFormat(string MagicText, int Version, string FileNoun, string FormatNoun, string Reader = "library")
{
    private byte[] Magic => Encoding.ASCII.GetBytes(MagicText);

    /// <summary>Writes the magic, the version, what <paramref name="body"/> writes and the SHA-256 to <paramref name="path"/>, atomically.</summary>
    public void Write(string path, Action<BinaryWriter> body)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var payload = new MemoryStream();
        using (var w = new BinaryWriter(payload, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Magic);
            w.Write(Version);
            body(w);
        }
        var bytes = payload.GetBuffer().AsSpan(0, (int)payload.Length);
        AtomicFile.Write(path, bytes, SHA256.HashData(bytes));
    }

    /// <summary>Reads <paramref name="path"/>, checks its length, magic, checksum and version, and returns a reader
    /// positioned after the version over the body (the checksum excluded; the stream's length bounds what may be read).</summary>
    /// <exception cref="InvalidDataException">Truncated, not this format, failing its checksum, or another version.</exception>
    public BinaryReader Open(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        var magic = Magic;
        if (bytes.Length < magic.Length + 4 + 32) throw new InvalidDataException($"{path} is truncated: {bytes.Length} bytes, shorter than any {FileNoun}.");
        if (!bytes.AsSpan(0, magic.Length).SequenceEqual(magic)) throw new InvalidDataException($"{path} is not a PurePg {FileNoun}: it does not start with {MagicText}.");
        if (!SHA256.HashData(bytes.AsSpan(0, bytes.Length - 32)).AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - 32)))
            throw new InvalidDataException($"{path} fails its checksum: the file is truncated or corrupted.");
        var reader = new BinaryReader(new MemoryStream(bytes, magic.Length, bytes.Length - 32 - magic.Length), new UTF8Encoding(false, throwOnInvalidBytes: true));
        int version = reader.ReadInt32();
        if (version != Version)
        {
            reader.Dispose();
            throw new InvalidDataException($"{path} has {FormatNoun} format {version}; this {Reader} reads format {Version}.");
        }
        return reader;
    }

    /// <summary><see cref="Open"/>, then <paramref name="parse"/> over the body; any fault of the body (a field missing or
    /// of the wrong type, a bad UTF-8 string, the stream ending early, a value the parser refuses) becomes one
    /// InvalidDataException naming the file.</summary>
    public T Read<T>(string path, Func<BinaryReader, T> parse)
    {
        using var r = Open(path);
        try { return parse(r); }
        catch (InvalidDataException e) when (!e.Message.StartsWith(path, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{path}: {e.Message}");
        }
        catch (Exception e) when (e is IOException or DecoderFallbackException or FormatException or System.Text.Json.JsonException or NullReferenceException
                                      or InvalidOperationException or ArgumentException)
        {
            throw new InvalidDataException($"{path} is damaged: {e.Message.Split('\n')[0]}");
        }
    }
}

/// <summary>An action space in a file's JSON header: {kind: discrete, n[, start]} or {kind: box, low, high}.</summary>
internal static class SpaceJson
{
    /// <summary>The header form of <paramref name="space"/> ("start" only when it is not 0).</summary>
    public static JsonObject Write(Space space) => space switch
    {
        Discrete d when d.Start != 0 => new JsonObject { ["kind"] = "discrete", ["n"] = d.N, ["start"] = d.Start },
        Discrete d => new JsonObject { ["kind"] = "discrete", ["n"] = d.N },
        Box b => new JsonObject
        {
            ["kind"] = "box",
            ["low"] = new JsonArray(b.Low.ToArray().Select(v => (JsonNode?)v).ToArray()),
            ["high"] = new JsonArray(b.High.ToArray().Select(v => (JsonNode?)v).ToArray()),
        },
        _ => throw new ArgumentException($"Unsupported action space {space}.", nameof(space)),
    };

    /// <summary>The space a header describes.</summary>
    /// <exception cref="InvalidDataException">A kind other than discrete or box.</exception>
    public static Space Read(JsonObject action) => action["kind"]!.GetValue<string>() switch
    {
        "discrete" => new Discrete(action["n"]!.GetValue<int>(), action["start"]?.GetValue<int>() ?? 0),
        "box" => new Box(action["low"]!.AsArray().Select(n => n!.GetValue<float>()).ToArray(), action["high"]!.AsArray().Select(n => n!.GetValue<float>()).ToArray()),
        var kind => throw new InvalidDataException($"an action space of kind '{kind}'."),
    };
}
