namespace PurePg.Rl.Training;

/// <summary>Writing a file so that a crash at any moment leaves the old file or the new one, never a torn one: a
/// temporary file beside the target, flushed to disk, then renamed over it.</summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="bytes"/> and then <paramref name="trailer"/> (e.g. a checksum of them) to
    /// <paramref name="path"/>, atomically.</summary>
    public static void Write(string path, ReadOnlySpan<byte> bytes, ReadOnlySpan<byte> trailer = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        string temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(bytes);
            file.Write(trailer);
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }
}
