using System.Security.Cryptography;
using System.Text;
using PurePg.Rl.Training;

namespace PurePg.Rl.Tests;

/// <summary>The checkpoint reader under damaged input: random bytes, every truncation, flipped bits and lengths that lie —
/// with the checksum recomputed, so the parser behind it is reached too. Each input loads or is refused with a one-line
/// <see cref="InvalidDataException"/> naming the file; nothing else escapes, hangs or allocates beyond the file.</summary>
public class CheckpointFuzzTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("purepg-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private byte[] Valid()
    {
        string path = Path.Combine(_dir, "valid.ckpt");
        Checkpoint.Write(path, """{"algorithm":"ppo","env":"CartPole-v1","steps":2048}""", w =>
        {
            w.Write(3);
            for (int i = 0; i < 40; i++) w.Write(i * 0.25f);
        });
        return File.ReadAllBytes(path);
    }

    /// <summary>The bytes with a valid SHA-256 trailer over everything before it.</summary>
    private static byte[] Resigned(byte[] body)
    {
        var signed = new byte[body.Length + 32];
        body.CopyTo(signed, 0);
        SHA256.HashData(body).CopyTo(signed, body.Length);
        return signed;
    }

    private void LoadsOrIsRefused(byte[] bytes, string what)
    {
        string path = Path.Combine(_dir, "case.ckpt");
        File.WriteAllBytes(path, bytes);
        try
        {
            var (header, state) = Checkpoint.Read(path);
            Assert.True(state.Length <= bytes.Length && header.Length <= bytes.Length, what);
        }
        catch (InvalidDataException e)
        {
            Assert.Contains(path, e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }
    }

    [Fact]
    public void Every_truncation_is_refused()
    {
        var valid = Valid();
        for (int n = 0; n < valid.Length; n++)
        {
            string path = Path.Combine(_dir, "cut.ckpt");
            File.WriteAllBytes(path, valid[..n]);
            var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Read(path));
            Assert.Contains(path, e.Message);
        }
    }

    [Fact]
    public void Random_bytes_flipped_bits_and_lying_lengths_load_or_are_refused()
    {
        var valid = Valid();
        var body = valid[..^32];
        int headerLengthAt = 8 + 4; // magic, version, then the header's 7-bit length prefix
        int stateLengthAt = headerLengthAt + 1 + body[headerLengthAt];
        var gen = Gen.OneOf(
            Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b)).Select(b => (b, "random bytes")),
            Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b)).Select(b => (Resigned([.. "PUREPGCK"u8, 1, 0, 0, 0, .. b]), "a signed random body")),
            Gen.Choose(0, valid.Length * 8 - 1).Select(bit => { var b = (byte[])valid.Clone(); b[bit / 8] ^= (byte)(1 << (bit % 8)); return (b, $"bit {bit} flipped"); }),
            Gen.Choose(0, body.Length * 8 - 1).Select(bit => { var b = (byte[])body.Clone(); b[bit / 8] ^= (byte)(1 << (bit % 8)); return (Resigned(b), $"bit {bit} flipped, re-signed"); }),
            Gen.Choose(0, 255).Select(v => { var b = (byte[])body.Clone(); b[headerLengthAt] = (byte)v; return (Resigned(b), $"header length {v}"); }),
            Gen.Choose(int.MinValue, int.MaxValue).Select(v =>
            {
                var b = (byte[])body.Clone();
                BitConverter.GetBytes((long)v * 4099).CopyTo(b, stateLengthAt);
                return (Resigned(b), $"state length {(long)v * 4099}");
            }));
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(400), Prop.ForAll(gen.ToArbitrary(), c => LoadsOrIsRefused(c.Item1, c.Item2)));
    }

    [Theory]
    [InlineData(0xFF)] // a 7-bit length prefix too long for an int
    [InlineData(0x0F)] // one that decodes to a negative length
    [InlineData(0x07)] // one far longer than the file
    public void A_damaged_header_names_the_file_and_not_a_stream_error(int last)
    {
        var body = Valid()[..^32];
        for (int k = 12; k < 16; k++) body[k] = 0xFF;
        body[16] = (byte)last;
        string path = Path.Combine(_dir, "header.ckpt");
        File.WriteAllBytes(path, Resigned(body));
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Read(path));
        Assert.Contains($"{path} is damaged", e.Message);
    }
}
