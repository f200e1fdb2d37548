using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using PurePg.Autodiff;
using PurePg.Autodiff.Modules;
using PurePg.Envs;
using PurePg.Envs.Rendering;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Policies;

namespace PurePg.Cli.Tests;

/// <summary>The animated PNG writer read back by a decoder written here from the PNG/APNG specification, and
/// <c>purepg watch</c> end to end.</summary>
[Collection("console")]
public class WatchTests
{
    /// <summary>Decodes an indexed-colour APNG: checks the signature, every chunk's CRC-32 and the sequence numbers, and
    /// composes the frames (blend source, dispose none). Returns width, height, palette and the frames.</summary>
    internal static (int Width, int Height, byte[] Palette, List<byte[]> Frames) Decode(byte[] file)
    {
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, file[..8]);
        var chunks = new List<(string Type, byte[] Body)>();
        for (int pos = 8; pos < file.Length;)
        {
            int n = BinaryPrimitives.ReadInt32BigEndian(file.AsSpan(pos));
            string type = Encoding.ASCII.GetString(file, pos + 4, 4);
            byte[] body = file.AsSpan(pos + 8, n).ToArray();
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(pos + 8 + n));
            Assert.Equal(Crc(file.AsSpan(pos + 4, 4 + n)), crc);
            chunks.Add((type, body));
            pos += 12 + n;
        }
        Assert.Equal("IHDR", chunks[0].Type);
        Assert.Equal("IEND", chunks[^1].Type);
        int width = BinaryPrimitives.ReadInt32BigEndian(chunks[0].Body), height = BinaryPrimitives.ReadInt32BigEndian(chunks[0].Body.AsSpan(4));
        Assert.Equal(8, chunks[0].Body[8]);
        Assert.Equal(3, chunks[0].Body[9]);
        int declared = BinaryPrimitives.ReadInt32BigEndian(chunks.Single(c => c.Type == "acTL").Body);
        byte[] palette = chunks.Single(c => c.Type == "PLTE").Body;
        var canvas = new byte[width * height];
        var frames = new List<byte[]>();
        int sequence = 0;
        (int W, int H, int X, int Y, MemoryStream Data)? current = null;
        void Finish()
        {
            if (current is not { } f) return;
            f.Data.Position = 0;
            var pixels = new MemoryStream();
            using (var z = new ZLibStream(f.Data, CompressionMode.Decompress)) z.CopyTo(pixels);
            var p = pixels.ToArray();
            Assert.Equal(f.H * (f.W + 1), p.Length);
            for (int r = 0; r < f.H; r++)
            {
                Assert.Equal(0, p[r * (f.W + 1)]);
                p.AsSpan(r * (f.W + 1) + 1, f.W).CopyTo(canvas.AsSpan((f.Y + r) * width + f.X));
            }
            frames.Add(canvas.ToArray());
        }
        foreach (var (type, body) in chunks)
        {
            if (type == "fcTL")
            {
                Finish();
                Assert.Equal(sequence++, BinaryPrimitives.ReadInt32BigEndian(body));
                int w = BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(4)), h = BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(8));
                int x = BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(12)), y = BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(16));
                Assert.True(x + w <= width && y + h <= height && w > 0 && h > 0);
                Assert.True(frames.Count > 0 || (x, y, w, h) == (0, 0, width, height), "the first frame covers the image");
                current = (w, h, x, y, new MemoryStream());
            }
            else if (type == "IDAT") current!.Value.Data.Write(body);
            else if (type == "fdAT")
            {
                Assert.Equal(sequence++, BinaryPrimitives.ReadInt32BigEndian(body));
                current!.Value.Data.Write(body.AsSpan(4));
            }
        }
        Finish();
        Assert.Equal(declared, frames.Count);
        return (width, height, palette, frames);
    }

    /// <summary>CRC-32 bit by bit from its definition (reflected polynomial 0xEDB88320, init and final complement).</summary>
    static uint Crc(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (uint)-(int)(c & 1));
        }
        return ~c;
    }

    [Fact]
    public void The_reference_crc_is_the_standard_one()
    {
        Assert.Equal(0xCBF43926u, Crc("123456789"u8)); // the CRC-32 check value
        Assert.Equal(0xAE426082u, Crc("IEND"u8));        // every PNG's last four bytes
    }

    [Fact]
    public void Frames_written_as_changed_rectangles_read_back_as_the_frames()
    {
        var rng = new Rng(3);
        const int w = 37, h = 23;
        var frames = new List<byte[]>();
        var frame = new byte[w * h];
        for (int f = 0; f < 12; f++)
        {
            frame = frame.ToArray();
            if (f % 4 != 3) // every fourth frame repeats the last
                for (int k = 0, n = 1 + rng.NextInt(f == 5 ? 900 : 6); k < n; k++) frame[rng.NextInt(w * h)] = (byte)rng.NextInt(Canvas.PaletteSize);
            frames.Add(frame);
        }
        var writer = new ApngWriter(w, h, Canvas.Palette, fps: 25);
        foreach (var f in frames) writer.Add(f);
        var bytes = writer.Finish();
        var (width, height, palette, decoded) = Decode(bytes);
        Assert.Equal((w, h), (width, height));
        Assert.Equal(Canvas.Palette.ToArray(), palette);
        Assert.Equal(frames.Count, decoded.Count);
        for (int f = 0; f < frames.Count; f++) Assert.True(frames[f].AsSpan().SequenceEqual(decoded[f]), $"frame {f}");
        Assert.Throws<ArgumentException>(() => writer.Add(new byte[5]));
    }

    [Fact]
    public void Watch_draws_an_episode_of_a_policy_frame_by_frame()
    {
        string dir = Directory.CreateTempSubdirectory("purepg-watch").FullName;
        try
        {
            var env = EnvRegistry.Make("CartPole-v1");
            var agent = new ActorCritic(env.ObservationSpace, env.ActionSpace, [8], Activation.Tanh, 0, new Rng(1));
            string policy = Path.Combine(dir, "p.pgp");
            TrainedPolicy.From(agent, "ppo", "CartPole-v1", 0).Save(policy);
            string output = Path.Combine(dir, "game.png");
            var (code, stdout, stderr) = Cli.Run("watch", "--policy", policy, "--out", output, "--seed", "4", "--max-frames", "40");
            Assert.True(code == 0, stderr);
            var (width, height, _, frames) = Decode(File.ReadAllBytes(output));
            // the frames are the renderer's pictures of the same episode: replay it here
            var replay = EnvRegistry.Make("CartPole-v1");
            var loaded = TrainedPolicy.Load(policy);
            var observation = replay.Reset(4).ToArray();
            var canvas = EnvRenderer.NewCanvas(replay);
            Assert.Equal((canvas.Width, canvas.Height), (width, height));
            EnvRenderer.Render(replay, canvas);
            Assert.True(canvas.Pixels.AsSpan().SequenceEqual(frames[0]), "frame 0");
            int steps = 0;
            for (bool ended = false; steps < 40 && !ended;)
            {
                var r = replay.Step(loaded.Predict(observation));
                r.Observation.CopyTo(observation);
                ended = r.Terminated || r.Truncated;
                steps++;
                EnvRenderer.Render(replay, canvas);
                Assert.True(canvas.Pixels.AsSpan().SequenceEqual(frames[steps]), $"frame {steps}");
            }
            Assert.Equal(steps + 1, frames.Count);
            Assert.Contains($"{frames.Count} frames of CartPole-v1", stdout);

            var bad = Cli.Run("watch", "--policy", policy, "--env", "PurePg/Chain-v0", "--out", output);
            Assert.Equal(1, bad.Code);
            Assert.Contains("No picture for PurePg/Chain-v0", bad.Err);
            Assert.Single(bad.Err.Trim().Split('\n'));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
