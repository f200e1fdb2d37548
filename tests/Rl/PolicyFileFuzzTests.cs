using System.Security.Cryptography;
using PurePg.Envs.Vector;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Normalization;
using PurePg.Rl.Policies;

namespace PurePg.Rl.Tests;

/// <summary>The policy-file reader under damaged input, as the checkpoint reader: every truncation, random bytes, flipped
/// bits and lying counts (the SHA-256 recomputed so the parser is reached) load or are refused with one line naming the
/// file; nothing else escapes and nothing is allocated beyond the file's size.</summary>
public class PolicyFileFuzzTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("purepg-pfuzz-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private byte[] Valid()
    {
        string path = Path.Combine(_dir, "valid.pgp");
        var env = new NormalizedVectorEnv(new SyncVectorEnv("Pendulum-v1", 1));
        TrainedPolicy.From(new A2c(env, new A2cSettings { NumEnvs = 1, HiddenSizes = [4] }), "Pendulum-v1").Save(path);
        return File.ReadAllBytes(path);
    }

    private static byte[] Resigned(byte[] body) => [.. body, .. SHA256.HashData(body)];

    private void LoadsOrIsRefused(byte[] bytes)
    {
        string path = Path.Combine(_dir, "case.pgp");
        File.WriteAllBytes(path, bytes);
        try
        {
            var policy = TrainedPolicy.Load(path);
            Assert.True(policy.Parameters.Length * 4 <= bytes.Length);
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
            string path = Path.Combine(_dir, "cut.pgp");
            File.WriteAllBytes(path, valid[..n]);
            Assert.Contains(path, Assert.Throws<InvalidDataException>(() => TrainedPolicy.Load(path)).Message);
        }
    }

    [Fact]
    public void Random_bytes_flipped_bits_and_lying_counts_load_or_are_refused()
    {
        var valid = Valid();
        var body = valid[..^32];
        var gen = Gen.OneOf(
            Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b)),
            Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b)).Select(b => Resigned([.. "PUREPGPL"u8, 1, 0, 0, 0, .. b])),
            Gen.Choose(0, body.Length * 8 - 1).Select(bit => { var b = (byte[])body.Clone(); b[bit / 8] ^= (byte)(1 << (bit % 8)); return Resigned(b); }),
            Gen.Choose(0, body.Length - 4).SelectMany(at => Gen.Choose(int.MinValue, int.MaxValue).Select(v =>
            {
                var b = (byte[])body.Clone();
                BitConverter.GetBytes(v).CopyTo(b, at);
                return Resigned(b);
            })));
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500), Prop.ForAll(gen.ToArbitrary(), LoadsOrIsRefused));
    }
}
