using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using static PurePg.Cli.Tests.Cli;

namespace PurePg.Cli.Tests;

/// <summary>
/// The event files --tensorboard writes, read back by a reader written from the format's specification (TFRecord:
/// uint64 length, masked CRC-32C of it, data, masked CRC-32C of the data; CRC-32C by its polynomial 0x82F63B78, table
/// driven, not the writer's code; tensorflow.Event and Summary decoded field by field from the protobuf wire format).
/// </summary>
[Collection("console")]
public class TensorBoardTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("purepg-tb-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static readonly uint[] Table = Enumerable.Range(0, 256).Select(i =>
    {
        uint c = (uint)i;
        for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0x82F63B78u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    private static uint Masked(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFF;
        foreach (byte b in data) c = Table[(c ^ b) & 0xFF] ^ (c >> 8);
        c ^= 0xFFFFFFFF;
        return ((c >> 15) | (c << 17)) + 0xa282ead8;
    }

    /// <summary>Stable-Baselines3's tags for the program's columns (its logger's names; entropy_loss is −H).</summary>
    private static readonly Dictionary<string, (string Tag, double Sign)> Sb3 = new()
    {
        ["ep_return_mean"] = ("rollout/ep_rew_mean", 1), ["ep_length_mean"] = ("rollout/ep_len_mean", 1), ["sps"] = ("time/fps", 1),
        ["eval_return_mean"] = ("eval/mean_reward", 1), ["policy_loss"] = ("train/policy_gradient_loss", 1), ["entropy"] = ("train/entropy_loss", -1),
        ["value_loss"] = ("train/value_loss", 1), ["approx_kl"] = ("train/approx_kl", 1), ["clip_fraction"] = ("train/clip_fraction", 1),
        ["explained_variance"] = ("train/explained_variance", 1), ["learning_rate"] = ("train/learning_rate", 1),
    };

    private sealed record Event(double WallTime, long Step, string? FileVersion, List<(string Tag, float Value)> Values);

    private static List<Event> Read(string file)
    {
        byte[] bytes = File.ReadAllBytes(file);
        var events = new List<Event>();
        int at = 0;
        while (at < bytes.Length)
        {
            ulong length = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(at));
            Assert.Equal(Masked(bytes.AsSpan(at, 8)), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 8)));
            var data = bytes.AsSpan(at + 12, (int)length);
            Assert.Equal(Masked(data), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 12 + (int)length)));
            events.Add(Decode(data.ToArray()));
            at += 12 + (int)length + 4;
        }
        return events;
    }

    private static ulong Varint(byte[] b, ref int at)
    {
        ulong v = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte x = b[at++];
            v |= (ulong)(x & 0x7F) << shift;
            if (x < 0x80) return v;
        }
    }

    /// <summary>(field number, wire type, payload) for each field of a message.</summary>
    private static IEnumerable<(int Field, int Wire, byte[] Payload, ulong Number)> Fields(byte[] message)
    {
        int at = 0;
        while (at < message.Length)
        {
            ulong key = Varint(message, ref at);
            int field = (int)(key >> 3), wire = (int)(key & 7);
            switch (wire)
            {
                case 0: yield return (field, wire, [], Varint(message, ref at)); break;
                case 1: yield return (field, wire, message[at..(at + 8)], 0); at += 8; break;
                case 2: { int n = (int)Varint(message, ref at); yield return (field, wire, message[at..(at + n)], 0); at += n; break; }
                case 5: yield return (field, wire, message[at..(at + 4)], 0); at += 4; break;
                default: throw new InvalidDataException($"wire type {wire}");
            }
        }
    }

    private static Event Decode(byte[] data)
    {
        double wall = 0;
        long step = 0;
        string? version = null;
        var values = new List<(string, float)>();
        foreach (var (field, wire, payload, number) in Fields(data))
            switch (field)
            {
                case 1: Assert.Equal(1, wire); wall = BinaryPrimitives.ReadDoubleLittleEndian(payload); break;
                case 2: Assert.Equal(0, wire); step = (long)number; break;
                case 3: version = Encoding.UTF8.GetString(payload); break;
                case 5:
                    foreach (var (f, _, value, _) in Fields(payload))
                    {
                        Assert.Equal(1, f); // Summary.value
                        string tag = "";
                        float simple = float.NaN;
                        foreach (var (vf, vw, vp, _) in Fields(value))
                            if (vf == 1) tag = Encoding.UTF8.GetString(vp);
                            else if (vf == 2) { Assert.Equal(5, vw); simple = BinaryPrimitives.ReadSingleLittleEndian(vp); }
                        values.Add((tag, simple));
                    }
                    break;
            }
        return new Event(wall, step, version, values);
    }

    [Fact]
    public void Every_scalar_in_the_event_files_is_the_metrics_row_it_came_from()
    {
        string logs = Path.Combine(_root, "tb");
        var trained = Run("train", "--env", "CartPole-v1", "--algo", "ppo", "--envs", "2", "--set", "StepsPerEnv=128", "--set", "Epochs=2", "--steps", "2048",
            "--eval-every", "1024", "--eval-episodes", "2", "--tensorboard", logs, "--out", _root);
        Assert.True(trained.Code == 0, trained.Err);
        string run = RunFolderOf(trained.Out);
        Assert.Equal(0, Run("resume", "--run", run, "--steps", "512").Code);
        var files = Directory.GetFiles(logs, "events.out.tfevents.*").Order().ToArray();
        Assert.Equal(2, files.Length); // the resume appended a file of its own
        var events = files.SelectMany(f =>
        {
            var e = Read(f);
            Assert.Equal("brain.Event:2", e[0].FileVersion);
            Assert.True(e[0].WallTime > 1.7e9);
            return e.Skip(1);
        }).ToList();
        var scalars = events.SelectMany(e => e.Values.Select(v => (e.Step, v.Tag, v.Value))).ToList();

        var lines = File.ReadAllLines(Path.Combine(run, "metrics.csv"));
        string[] names = lines[0].Split(',');
        int compared = 0;
        foreach (var line in lines.Skip(1))
        {
            var cells = line.Split(',');
            long step = long.Parse(cells[0], CultureInfo.InvariantCulture);
            for (int k = 0; k < names.Length; k++)
            {
                if (!Sb3.TryGetValue(names[k], out var expected)) continue;
                var (tag, sign) = expected;
                var found = scalars.Where(s => s.Step == step && s.Tag == tag).ToList();
                if (cells[k].Length == 0) { Assert.Empty(found); continue; } // no value, no event
                Assert.Single(found);
                Assert.Equal((float)(sign * double.Parse(cells[k], CultureInfo.InvariantCulture)), found[0].Value);
                compared++;
            }
        }
        Assert.True(compared > 80, $"{compared} values compared");
        Assert.All(Sb3.Values, t => Assert.Contains(scalars, s => s.Tag == t.Tag));
        Assert.Equal(scalars.Count, scalars.Select(s => (s.Step, s.Tag)).Distinct().Count());
    }
}
