using System.Buffers.Binary;
using System.IO.Compression;
using PurePg.Envs;
using PurePg.Envs.Rendering;
using PurePg.Rl.Policies;

namespace PurePg.Cli;

/// <summary><c>purepg watch</c>: one episode of a trained policy, drawn frame by frame into an animated PNG.</summary>
internal static class Watch
{
    public const string Help = """
        purepg watch --run DIR [--best] --out FILE.png     (or --policy FILE.pgp [--env ID] instead of --run)
          plays one episode of the policy (its mode; --stochastic samples) on the run's environment and writes it as an
          animated PNG (APNG: every browser plays it), drawn as Gymnasium's rgb_array frames are (CartPole, Acrobot,
          MountainCar, Pendulum at half Gymnasium's size; Pong in Atari's colours)
          --seed N         the episode's environment seed and the sampling seed (default 0)
          --max-frames N   stop after N steps even if the episode goes on (default 3000)
          --every K        keep every K-th step as a frame (default 1; Pong: 2)
          --fps F          frames per second of the animation (default 30)
        """;

    public static int Run(Arguments a)
    {
        a.AllowOnly("--run", "--policy", "--best", "--env", "--out", "--seed", "--stochastic", "--max-frames", "--every", "--fps");
        string output = a.Require("--out");
        var (policy, path) = Program.LoadPolicyFor(a);
        string id = a.Get("--env") ?? (a.Get("--run") is string run ? RunPlan.FromConfig(new RunFolder(run).ReadConfig(), Path.Combine(run, "config.json")).Env : null)
            ?? policy.EnvId ?? throw new UsageException($"{path} does not name its environment: give --env ID.");
        var env = EnvRegistry.Make(id);
        if (!EnvRenderer.CanRender(env))
            throw new UsageException($"No picture for {id}: watch draws CartPole-v1, Acrobot-v1, MountainCar-v0, MountainCarContinuous-v0, Pendulum-v1 and the PurePg/Pong ids.");
        if (env.ObservationSpace.Size != policy.ObservationSize)
            throw new UsageException($"{path} takes {policy.ObservationSize} features; {id} gives {env.ObservationSpace.Size}.");
        long seed = a.GetLong("--seed", 0, 0);
        int maxFrames = (int)a.GetLong("--max-frames", 3000, 1);
        int every = (int)a.GetLong("--every", env is Envs.Pong.Pong ? 2 : 1, 1);
        int fps = (int)a.GetLong("--fps", 30, 1);
        if (fps > 1000) throw new UsageException($"--fps {fps}: at most 1000 frames per second.");
        bool deterministic = !a.Flag("--stochastic");
        policy.Reseed((ulong)seed);

        var canvas = EnvRenderer.NewCanvas(env);
        var apng = new ApngWriter(canvas.Width, canvas.Height, Canvas.Palette, fps);
        var observation = env.Reset(seed).ToArray();
        EnvRenderer.Render(env, canvas);
        apng.Add(canvas.Pixels);
        double total = 0;
        int steps = 0;
        var action = new float[policy.ActionSpace is Box box ? box.Size : 0];
        bool ended = false;
        while (steps < maxFrames && !ended)
        {
            StepResult r;
            if (action.Length == 0) r = env.Step(policy.Predict(observation, deterministic));
            else
            {
                policy.Predict(observation, action, deterministic);
                r = env.Step(action);
            }
            steps++;
            total += r.Reward;
            ended = r.Terminated || r.Truncated;
            r.Observation.CopyTo(observation);
            if (steps % every == 0 || ended)
            {
                EnvRenderer.Render(env, canvas);
                apng.Add(canvas.Pixels);
            }
        }
        byte[] bytes = apng.Finish();
        Rl.Training.AtomicFile.Write(output, bytes);
        string score = env is Envs.Pong.Pong pong ? $", score {pong.Score.Agent}–{pong.Score.Opponent} (agent–opponent)" : "";
        Console.WriteLine($"{output}: {apng.Frames} frames of {id} ({steps} steps{(ended ? ", episode over" : $", stopped at --max-frames {maxFrames}")}), " +
            $"return {total:F1}{score}, {(deterministic ? "the policy's mode" : "sampled actions")}, {bytes.Length / 1024.0:F0} KB");
        return 0;
    }
}

/// <summary>
/// An animated PNG (APNG, W3C PNG 3rd edition) of indexed-colour frames: IHDR, acTL, PLTE, then for each frame an fcTL and
/// its zlib-compressed rows (IDAT for the first, fdAT after), IEND. Each frame after the first stores only the rectangle
/// that changed (blended over the previous picture with APNG_BLEND_OP_SOURCE, nothing disposed), so a mostly still
/// picture costs little. Compression is the in-box <see cref="ZLibStream"/>; the CRC-32 is PNG's (ISO 3309).
/// </summary>
internal sealed class ApngWriter
{
    readonly int _width, _height, _fps;
    readonly byte[] _palette, _previous;
    readonly List<(int X, int Y, int W, int H, byte[] Data)> _frames = [];

    public ApngWriter(int width, int height, ReadOnlySpan<byte> palette, int fps)
    {
        if (palette.Length % 3 != 0 || palette.Length == 0 || palette.Length > 768)
            throw new ArgumentException($"A PNG palette holds 1 … 256 RGB triples, not {palette.Length} bytes.", nameof(palette));
        (_width, _height, _fps, _palette) = (width, height, fps, palette.ToArray());
        _previous = new byte[width * height];
    }

    /// <summary>Frames added so far.</summary>
    public int Frames => _frames.Count;

    /// <summary>Adds a frame of palette indices, row-major.</summary>
    public void Add(ReadOnlySpan<byte> pixels)
    {
        if (pixels.Length != _width * _height) throw new ArgumentException($"A frame has {_width * _height} pixels, got {pixels.Length}.", nameof(pixels));
        int x0 = 0, y0 = 0, x1 = _width, y1 = _height;
        if (_frames.Count > 0)
        {
            (x0, y0, x1, y1) = (_width, _height, 0, 0);
            for (int y = 0; y < _height; y++)
            {
                var row = pixels.Slice(y * _width, _width);
                var old = _previous.AsSpan(y * _width, _width);
                if (row.SequenceEqual(old)) continue;
                int first = 0, last = _width - 1;
                while (row[first] == old[first]) first++;
                while (row[last] == old[last]) last--;
                (x0, x1, y0, y1) = (Math.Min(x0, first), Math.Max(x1, last + 1), Math.Min(y0, y), y + 1);
            }
            if (x1 <= x0) (x0, y0, x1, y1) = (0, 0, 1, 1); // nothing changed: one pixel, the same
        }
        var raw = new MemoryStream();
        using (var z = new ZLibStream(raw, CompressionLevel.SmallestSize, leaveOpen: true))
            for (int y = y0; y < y1; y++)
            {
                z.WriteByte(0); // filter: none
                z.Write(pixels.Slice(y * _width + x0, x1 - x0));
            }
        _frames.Add((x0, y0, x1 - x0, y1 - y0, raw.ToArray()));
        pixels.CopyTo(_previous);
    }

    /// <summary>The file's bytes.</summary>
    public byte[] Finish()
    {
        if (_frames.Count == 0) throw new InvalidOperationException("An animated PNG needs at least one frame.");
        var file = new MemoryStream();
        file.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, _width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], _height);
        header[8] = 8; // bit depth
        header[9] = 3; // indexed colour
        Chunk(file, "IHDR", header);
        Span<byte> actl = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(actl, _frames.Count);
        BinaryPrimitives.WriteInt32BigEndian(actl[4..], 0); // loop forever
        Chunk(file, "acTL", actl);
        Chunk(file, "PLTE", _palette);
        int sequence = 0;
        Span<byte> fctl = stackalloc byte[26];
        for (int f = 0; f < _frames.Count; f++)
        {
            var (x, y, w, h, data) = _frames[f];
            BinaryPrimitives.WriteInt32BigEndian(fctl, sequence++);
            BinaryPrimitives.WriteInt32BigEndian(fctl[4..], w);
            BinaryPrimitives.WriteInt32BigEndian(fctl[8..], h);
            BinaryPrimitives.WriteInt32BigEndian(fctl[12..], x);
            BinaryPrimitives.WriteInt32BigEndian(fctl[16..], y);
            BinaryPrimitives.WriteUInt16BigEndian(fctl[20..], 1);
            BinaryPrimitives.WriteUInt16BigEndian(fctl[22..], (ushort)_fps);
            fctl[24] = 0; // dispose: none
            fctl[25] = 0; // blend: source
            Chunk(file, "fcTL", fctl);
            if (f == 0) Chunk(file, "IDAT", data);
            else
            {
                var fdat = new byte[4 + data.Length];
                BinaryPrimitives.WriteInt32BigEndian(fdat, sequence++);
                data.CopyTo(fdat, 4);
                Chunk(file, "fdAT", fdat);
            }
        }
        Chunk(file, "IEND", []);
        return file.ToArray();
    }

    static void Chunk(Stream s, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        s.Write(word);
        Span<byte> typeBytes = [(byte)type[0], (byte)type[1], (byte)type[2], (byte)type[3]];
        s.Write(typeBytes);
        s.Write(data);
        uint crc = Crc32.Update(Crc32.Update(0xFFFFFFFF, typeBytes), data) ^ 0xFFFFFFFF;
        BinaryPrimitives.WriteUInt32BigEndian(word, crc);
        s.Write(word);
    }

}

/// <summary>PNG's CRC-32 (polynomial 0xEDB88320, reflected), table-driven.</summary>
internal static class Crc32
{
    static readonly uint[] Table = Enumerable.Range(0, 256).Select(n =>
    {
        uint c = (uint)n;
        for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    /// <summary>Continues a CRC register (start 0xFFFFFFFF; the final value is complemented).</summary>
    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }
}
