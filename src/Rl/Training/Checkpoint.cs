using System.Security.Cryptography;
using System.Text;

namespace PurePg.Rl.Training;

/// <summary>
/// A checkpoint file: the magic "PUREPGCK", a format version, a JSON header (algorithm, environment, steps, settings),
/// the trainer's binary state, and a SHA-256 over all of it. <see cref="Write"/> is atomic: it writes a temporary file
/// beside the target, flushes it to disk and renames it over the target, so a crash at any moment leaves either the old
/// file or the new one, never a torn one. <see cref="Read"/> refuses a truncated or altered file with a clear error.
/// </summary>
public static class Checkpoint
{
    private static readonly byte[] Magic = "PUREPGCK"u8.ToArray();
    private const int Version = 1;

    /// <summary>Writes <paramref name="header"/> and the state <paramref name="writeState"/> produces to <paramref name="path"/>, atomically.</summary>
    public static void Write(string path, string header, Action<BinaryWriter> writeState)
    {
        ArgumentNullException.ThrowIfNull(writeState);
        using var payload = new MemoryStream();
        using (var w = new BinaryWriter(payload, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(Magic);
            w.Write(Version);
            w.Write(header);
            using var state = new MemoryStream();
            using (var sw = new BinaryWriter(state, Encoding.UTF8, leaveOpen: true)) writeState(sw);
            w.Write(state.Length);
            state.Position = 0;
            state.CopyTo(payload);
        }
        var bytes = payload.GetBuffer().AsSpan(0, (int)payload.Length);
        AtomicFile.Write(path, bytes, SHA256.HashData(bytes));
    }

    /// <summary>Reads a checkpoint: its header and its state bytes, after verifying the checksum.</summary>
    /// <exception cref="InvalidDataException">The file is not a checkpoint, is truncated, or fails its checksum.</exception>
    public static (string Header, byte[] State) Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length < Magic.Length + 4 + 32)
            throw new InvalidDataException($"{path} is truncated: {bytes.Length} bytes, shorter than any checkpoint.");
        if (!bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new InvalidDataException($"{path} is not a PurePg checkpoint: it does not start with PUREPGCK.");
        var body = bytes.AsSpan(0, bytes.Length - 32);
        if (!SHA256.HashData(body).AsSpan().SequenceEqual(bytes.AsSpan(bytes.Length - 32)))
            throw new InvalidDataException($"{path} fails its checksum: the file is truncated or corrupted.");
        // the checksum holds, so what follows was written by Write; still, lengths are checked against what is there
        // before anything is allocated, and a parse failure is reported as damage, not as a stream error
        var stream = new MemoryStream(bytes, 0, bytes.Length - 32);
        using var reader = new BinaryReader(stream, new UTF8Encoding(false, throwOnInvalidBytes: true));
        try
        {
            reader.ReadBytes(Magic.Length);
            int version = reader.ReadInt32();
            if (version != Version) throw new InvalidDataException($"{path} has checkpoint format {version}; this program reads format {Version}.");
            string header = reader.ReadString();
            long length = reader.ReadInt64();
            if (length < 0 || length != stream.Length - stream.Position)
                throw new InvalidDataException($"{path} declares a state of {length} bytes where {stream.Length - stream.Position} remain.");
            return (header, reader.ReadBytes((int)length));
        }
        catch (Exception e) when (e is IOException or DecoderFallbackException or FormatException) // EndOfStream, a negative string length
        {
            throw new InvalidDataException($"{path} is damaged: its header cannot be read ({e.GetType().Name}).");
        }
    }
}
