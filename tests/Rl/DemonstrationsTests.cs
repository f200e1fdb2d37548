using System.Security.Cryptography;
using PurePg.Envs;
using PurePg.Envs.Teaching;
using PurePg.Rl.Imitation;

namespace PurePg.Rl.Tests;

/// <summary>The demonstrations file: a round trip keeps every value bit for bit (discrete and box actions); every
/// truncation, any flipped byte, a lying header (re-signed so the parser is reached) and a wrong magic or version are
/// refused with one line naming the file; recording follows the environment's own episode ends; a file is refused for an
/// environment it was not recorded on.</summary>
public class DemonstrationsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("purepg-demos-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static Demonstrations MountainCar(int episodes) =>
        Demonstrations.Record(EnvRegistry.Make("MountainCar-v0"), "MountainCar-v0", "test", episodes, 5,
            discreteExpert: ScriptedExperts.For(EnvRegistry.Make("MountainCar-v0"))!.Value.Act);

    private static Demonstrations Pendulum(int episodes) =>
        Demonstrations.Record(EnvRegistry.Make("Pendulum-v1"), "Pendulum-v1", "a fixed torque rule", episodes, 3,
            continuousExpert: (obs, a) => a[0] = 3f * obs[0]); // cos θ·3: beyond the ±2 torque bound half the time

    [Fact]
    public void A_round_trip_keeps_every_value_for_discrete_and_box_actions()
    {
        foreach (var d in new[] { MountainCar(3), Pendulum(2) })
        {
            string path = Path.Combine(_dir, "d.bin");
            d.Save(path);
            var back = Demonstrations.Load(path);
            Assert.Equal((d.EnvId, d.Expert, d.ObservationSize, d.Steps, d.Episodes), (back.EnvId, back.Expert, back.ObservationSize, back.Steps, back.Episodes));
            Assert.Equal(d.ActionSpace.ToString(), back.ActionSpace.ToString());
            Assert.True(d.Observations.SequenceEqual(back.Observations));
            Assert.True(d.DiscreteActions.SequenceEqual(back.DiscreteActions));
            Assert.True(d.ContinuousActions.SequenceEqual(back.ContinuousActions));
            Assert.True(d.Rewards.SequenceEqual(back.Rewards));
            Assert.True(d.EpisodeLengths.SequenceEqual(back.EpisodeLengths));
            Assert.True(d.EpisodeEnds.SequenceEqual(back.EpisodeEnds));
            Assert.False(File.Exists(path + ".tmp"));
        }
    }

    [Fact]
    public void Recording_follows_the_environments_episode_ends_and_keeps_what_the_expert_chose()
    {
        var mc = MountainCar(4);
        // the scripted rule reaches the flag well inside the 200-step limit: terminated, return = −length
        Assert.All(mc.EpisodeEnds.ToArray(), e => Assert.Equal(EpisodeEnd.Terminated, e));
        Assert.Equal(mc.EpisodeLengths.ToArray().Select(l => -(double)l), mc.EpisodeReturns());
        var pendulum = Pendulum(2);
        Assert.Equal([200, 200], pendulum.EpisodeLengths.ToArray()); // Pendulum never terminates: the time limit cuts it
        Assert.All(pendulum.EpisodeEnds.ToArray(), e => Assert.Equal(EpisodeEnd.Truncated, e));
        Assert.Contains(pendulum.ContinuousActions.ToArray(), a => Math.Abs(a) > 2f); // the expert's choice, not the clipped torque
        // the chain's expert: every step correct, return 1, length H
        var chain = new ExplorationChain(6);
        var rule = ScriptedExperts.For(chain)!.Value;
        var demos = Demonstrations.Record(chain, "chain", rule.Description, 3, 0, discreteExpert: rule.Act);
        Assert.Equal([1.0, 1.0, 1.0], demos.EpisodeReturns());
        Assert.Equal([6, 6, 6], demos.EpisodeLengths.ToArray());
        Assert.Equal(2, demos.Take(2).Episodes);
        Assert.Equal(12, demos.Take(2).Steps);
    }

    [Fact]
    public void Every_truncation_and_any_flipped_byte_is_refused_naming_the_file()
    {
        string path = Path.Combine(_dir, "d.bin");
        MountainCar(1).Save(path);
        byte[] valid = File.ReadAllBytes(path);
        string cut = Path.Combine(_dir, "cut.bin");
        for (int n = 0; n < valid.Length; n += 7)
        {
            File.WriteAllBytes(cut, valid[..n]);
            var e = Assert.Throws<InvalidDataException>(() => Demonstrations.Load(cut));
            Assert.Contains(cut, e.Message);
        }
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(200), Prop.ForAll(Gen.Choose(0, valid.Length - 1).ToArbitrary(), Gen.Choose(1, 255).ToArbitrary(), (at, mask) =>
        {
            var bytes = (byte[])valid.Clone();
            bytes[at] ^= (byte)mask;
            File.WriteAllBytes(cut, bytes);
            var e = Assert.Throws<InvalidDataException>(() => Demonstrations.Load(cut));
            Assert.Contains(cut, e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }));
    }

    [Fact]
    public void A_lying_header_a_wrong_magic_or_version_is_refused_even_with_a_valid_checksum()
    {
        string path = Path.Combine(_dir, "d.bin");
        MountainCar(1).Save(path);
        byte[] body = File.ReadAllBytes(path)[..^32];
        string text = System.Text.Encoding.Latin1.GetString(body);
        string steps = System.Text.RegularExpressions.Regex.Match(text, "\"steps\":(\\d+)").Groups[1].Value;
        void Refused(byte[] changed, string expected)
        {
            string file = Path.Combine(_dir, "lie.bin");
            File.WriteAllBytes(file, [.. changed, .. SHA256.HashData(changed)]);
            var e = Assert.Throws<InvalidDataException>(() => Demonstrations.Load(file));
            Assert.Contains(file, e.Message);
            Assert.True(e.Message.Contains(expected), e.Message);
        }
        // one step more in the header (same string length: the count's last digit changed), wrong magic, wrong version
        string lie = steps[..^1] + (char)(steps[^1] == '9' ? '8' : steps[^1] + 1);
        Refused(System.Text.Encoding.Latin1.GetBytes(text.Replace($"\"steps\":{steps}", $"\"steps\":{lie}")), "bytes follow it");
        Refused([.. "PUREPGPL"u8.ToArray(), .. body[8..]], "PUREPGDM");
        var version = (byte[])body.Clone();
        version[8] = 2;
        Refused(version, "format 2");
        // an action the space does not hold, re-signed: the constructor's rule names the step
        var outOfRange = (byte[])body.Clone();
        int actionsAt = body.Length - 8 * MountainCar(1).Steps - 4 * MountainCar(1).Steps;
        outOfRange[actionsAt] = 7;
        Refused(outOfRange, "outside Discrete(3)");
    }

    [Fact]
    public void Demonstrations_are_refused_for_another_environment_or_other_spaces_and_bad_values_by_step()
    {
        var d = MountainCar(1);
        Assert.Contains("recorded on MountainCar-v0, not CartPole-v1", Assert.Throws<ArgumentException>(() => d.CheckMatches("CartPole-v1", 2, new Discrete(3))).Message);
        Assert.Contains("2 features", Assert.Throws<ArgumentException>(() => d.CheckMatches("MountainCar-v0", 4, new Discrete(3))).Message);
        Assert.Contains("Discrete(3)", Assert.Throws<ArgumentException>(() => d.CheckMatches("MountainCar-v0", 2, new Discrete(2))).Message);
        d.CheckMatches("MountainCar-v0", 2, new Discrete(3));
        Assert.Contains("step 1 holds NaN", Assert.Throws<ArgumentException>(() => new Demonstrations("x", "e", 1, new Discrete(2), [0f, float.NaN], [0, 1], null,
            [0, 0], [2], [EpisodeEnd.Terminated])).Message);
        Assert.Contains("step 1 is 2", Assert.Throws<ArgumentException>(() => new Demonstrations("x", "e", 1, new Discrete(2), [0f, 0f], [0, 2], null,
            [0, 0], [2], [EpisodeEnd.Terminated])).Message);
        Assert.Contains("sum to 3", Assert.Throws<ArgumentException>(() => new Demonstrations("x", "e", 1, new Discrete(2), [0f, 0f], [0, 1], null,
            [0, 0], [3], [EpisodeEnd.Terminated])).Message);
        Assert.Contains("reward of step 0", Assert.Throws<ArgumentException>(() => new Demonstrations("x", "e", 1, new Discrete(2), [0f, 0f], [0, 1], null,
            [double.PositiveInfinity, 0], [2], [EpisodeEnd.Terminated])).Message);
        Assert.Throws<FileNotFoundException>(() => Demonstrations.Load(Path.Combine(_dir, "none.bin")));
    }
}
