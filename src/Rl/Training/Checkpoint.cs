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
    // format 2: on-policy rollouts keep one acting stream per environment copy (the rollout source's state)
    // format 3: REINFORCE too acts through a rollout source (per-copy acting streams instead of one generator)
    private static readonly SignedFormat Format = new("PUREPGCK", 3, "checkpoint", "checkpoint", "program");

    /// <summary>Writes <paramref name="header"/> and the state <paramref name="writeState"/> produces to <paramref name="path"/>, atomically.</summary>
    public static void Write(string path, string header, Action<BinaryWriter> writeState)
    {
        ArgumentNullException.ThrowIfNull(writeState);
        using var state = new MemoryStream();
        using (var sw = new BinaryWriter(state, Encoding.UTF8, leaveOpen: true)) writeState(sw);
        Format.Write(path, w =>
        {
            w.Write(header);
            w.Write(state.Length);
            w.Write(state.GetBuffer(), 0, (int)state.Length);
        });
    }

    /// <summary>Reads a checkpoint: its header and its state bytes, after verifying the checksum.</summary>
    /// <exception cref="InvalidDataException">The file is not a checkpoint, is truncated, or fails its checksum.</exception>
    public static (string Header, byte[] State) Read(string path)
    {
        // the checksum holds, so what follows was written by Write; still, lengths are checked against what is there
        // before anything is allocated, and a parse failure is reported as damage, not as a stream error
        using var reader = Format.Open(path);
        var stream = reader.BaseStream;
        try
        {
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
