using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace PurePg.Rl.Training;

/// <summary>
/// Writes TensorBoard event files (<c>events.out.tfevents.{seconds}.{host}</c>) that <c>tensorboard --logdir</c> reads:
/// TFRecord framing — uint64 length, masked CRC-32C of the length, the bytes of a tensorflow.Event message, masked CRC-32C
/// of those bytes, the mask being ((c &gt;&gt; 15) | (c &lt;&lt; 17)) + 0xa282ead8 — with a file_version event ("brain.Event:2")
/// first and then scalar summaries (Summary.Value { tag, simple_value }) whose step is the environment step. Each
/// <see cref="Scalar"/> record is flushed to the file's end, so a killed run keeps what it wrote; a new writer (a resumed
/// run) starts a new file in the same folder, as TensorBoard expects.
/// </summary>
public sealed class TensorBoardWriter : IDisposable
{
    private readonly FileStream _file;
    private readonly byte[] _buffer = new byte[512];

    /// <summary>Creates <paramref name="directory"/> if needed and a new event file in it.</summary>
    public TensorBoardWriter(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        Directory.CreateDirectory(directory);
        double now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        string name = $"events.out.tfevents.{(long)now}.{Environment.MachineName}.{Environment.ProcessId}.{Guid.NewGuid():N}";
        Path = System.IO.Path.Combine(directory, name);
        _file = new FileStream(Path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
        WriteEvent(now, 0, fileVersion: "brain.Event:2", tag: null, value: 0);
    }

    /// <summary>The event file.</summary>
    public string Path { get; }

    /// <summary>Writes one scalar summary: <paramref name="tag"/> (e.g. "rollout/ep_rew_mean") = <paramref name="value"/>
    /// at <paramref name="step"/>. NaN values are skipped (TensorBoard would draw them as gaps anyway).</summary>
    public void Scalar(string tag, double value, long step)
    {
        ArgumentException.ThrowIfNullOrEmpty(tag);
        if (double.IsNaN(value)) return;
        WriteEvent(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0, step, fileVersion: null, tag, (float)value);
    }

    /// <summary>
    /// Stable-Baselines3's tag and sign for one of the program's metrics.csv columns: ep_return_mean → rollout/ep_rew_mean,
    /// ep_length_mean → rollout/ep_len_mean, sps → time/fps, eval_return_mean → eval/mean_reward, policy_loss →
    /// train/policy_gradient_loss, entropy → train/entropy_loss with the sign flipped (SB3 logs −H), any other diagnostic
    /// d → train/d; null for the columns that are not scalars of progress (steps, wall time, counts per iteration).
    /// </summary>
    public static (string Tag, double Sign)? TagFor(string column) => column switch
    {
        "steps" or "wall_time_s" or "iter_episodes" => null,
        "ep_return_mean" => ("rollout/ep_rew_mean", 1),
        "ep_return_std" => ("rollout/ep_rew_std", 1),
        "ep_length_mean" => ("rollout/ep_len_mean", 1),
        "iter_return_mean" => ("rollout/iteration_rew_mean", 1),
        "episodes" => ("rollout/episodes", 1),
        "sps" => ("time/fps", 1),
        "eval_return_mean" => ("eval/mean_reward", 1),
        "eval_return_std" => ("eval/std_reward", 1),
        "policy_loss" => ("train/policy_gradient_loss", 1),
        "entropy" => ("train/entropy_loss", -1),
        _ => ($"train/{column}", 1),
    };

    /// <summary>Flushes and closes the file.</summary>
    public void Dispose() => _file.Dispose();

    private void WriteEvent(double wallTime, long step, string? fileVersion, string? tag, float value)
    {
        // tensorflow.Event: 1 wall_time (double), 2 step (int64), 3 file_version (string) | 5 summary (Summary)
        int n = 0;
        n = Key(1, 1, n);
        BinaryPrimitives.WriteDoubleLittleEndian(_buffer.AsSpan(n), wallTime);
        n += 8;
        n = Key(2, 0, n);
        n = Varint((ulong)step, n);
        if (fileVersion is not null) n = Bytes(3, Encoding.UTF8.GetBytes(fileVersion), n);
        else
        {
            // Summary { 1 value: Value { 1 tag (string), 2 simple_value (float) } }
            byte[] tagBytes = Encoding.UTF8.GetBytes(tag!);
            int valueLength = 1 + VarintLength((ulong)tagBytes.Length) + tagBytes.Length + 1 + 4;
            int summaryLength = 1 + VarintLength((ulong)valueLength) + valueLength;
            n = Key(5, 2, n);
            n = Varint((ulong)summaryLength, n);
            n = Key(1, 2, n);
            n = Varint((ulong)valueLength, n);
            n = Bytes(1, tagBytes, n);
            n = Key(2, 5, n);
            BinaryPrimitives.WriteSingleLittleEndian(_buffer.AsSpan(n), value);
            n += 4;
        }
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)n);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], MaskedCrc32C(header[..8]));
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, MaskedCrc32C(_buffer.AsSpan(0, n)));
        _file.Write(header);
        _file.Write(_buffer, 0, n);
        _file.Write(footer);
        _file.Flush();
    }

    private int Key(int field, int wireType, int at) => Varint((ulong)(field << 3 | wireType), at);

    private int Bytes(int field, byte[] bytes, int at)
    {
        at = Key(field, 2, at);
        at = Varint((ulong)bytes.Length, at);
        if (at + bytes.Length > _buffer.Length) throw new ArgumentException($"A TensorBoard tag of {bytes.Length} bytes is too long.");
        bytes.CopyTo(_buffer, at);
        return at + bytes.Length;
    }

    private int Varint(ulong v, int at)
    {
        while (v >= 0x80)
        {
            _buffer[at++] = (byte)(v | 0x80);
            v >>= 7;
        }
        _buffer[at++] = (byte)v;
        return at;
    }

    private static int VarintLength(ulong v)
    {
        int n = 1;
        while (v >= 0x80) { v >>= 7; n++; }
        return n;
    }

    /// <summary>CRC-32C (Castagnoli) of <paramref name="data"/>, masked as TFRecord masks it.</summary>
    internal static uint MaskedCrc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data) crc = BitOperations.Crc32C(crc, b);
        crc = ~crc;
        return ((crc >> 15) | (crc << 17)) + 0xa282ead8;
    }
}
