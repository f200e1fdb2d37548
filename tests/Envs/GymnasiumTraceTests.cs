using System.Text.Json;
using PurePg.Envs;

namespace PurePg.Envs.Tests;

/// <summary>
/// Replays trajectories recorded from Gymnasium's own classic-control environments (Gymnasium 1.3.0's source with Debian
/// 12's NumPy 1.24.2, NumPy's run-time SIMD dispatch off; Reference/record.sh) and requires every observation, reward,
/// termination flag and physical state to match to the last bit — including the initial states drawn by Reset(seed),
/// which come from the same PCG64 stream as Gymnasium's np_random. gymnasium_traces.json was recorded under NumPy 2's
/// promotion rules (NPY_PROMOTION_STATE=weak) and replays with <see cref="GymNumerics.NumPy2"/>;
/// gymnasium_traces_numpy1.json under NumPy 1's legacy rules, replayed with <see cref="GymNumerics.NumPy1"/>.
/// </summary>
public class GymnasiumTraceTests
{
    static readonly Dictionary<GymNumerics, JsonElement> Files = new()
    {
        [GymNumerics.NumPy2] = Load("gymnasium_traces.json", "weak"),
        [GymNumerics.NumPy1] = Load("gymnasium_traces_numpy1.json", "legacy"),
    };

    static JsonElement Load(string name, string promotion)
    {
        var root = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Reference", name))).RootElement;
        // provenance: recorded from Gymnasium itself, not from a transcription
        Assert.Equal("1.3.0", root.GetProperty("gymnasium").GetString());
        Assert.Equal("53bf3e9a884783eb72ad3fc8b15780914c97c3e1", root.GetProperty("gymnasium_commit").GetString());
        Assert.Equal(promotion, root.GetProperty("promotion").GetString());
        Assert.Contains("AVX512_SKX", root.GetProperty("npy_disable_cpu_features").GetString());
        return root.GetProperty("traces");
    }

    public static TheoryData<GymNumerics, int> TraceIndices()
    {
        var data = new TheoryData<GymNumerics, int>();
        foreach (var (numerics, traces) in Files)
            for (int i = 0; i < traces.GetArrayLength(); i++) data.Add(numerics, i);
        return data;
    }

    [Fact]
    public void The_two_promotion_rules_differ_exactly_where_Gymnasium_mixes_float32_and_Python_floats()
    {
        for (int i = 0; i < Files[GymNumerics.NumPy2].GetArrayLength(); i++)
        {
            var (two, one) = (Files[GymNumerics.NumPy2][i], Files[GymNumerics.NumPy1][i]);
            string id = two.GetProperty("id").GetString()!;
            bool same = two.GetRawText() == one.GetRawText();
            Assert.True(same == id is not ("Pendulum-v1" or "MountainCarContinuous-v0"), $"trace {i} ({id}): same under both = {same}");
        }
    }

    [Theory]
    [MemberData(nameof(TraceIndices))]
    public void Replaying_Gymnasium_trace_gives_identical_bits(GymNumerics numerics, int index)
    {
        var trace = Files[numerics][index];
        string id = trace.GetProperty("id").GetString()!;
        var env = EnvRegistry.Make(id, numerics);
        env.MaxEpisodeSteps = null; // the traces run past the time limit on purpose; truncation is tested elsewhere
        var state = new double[env.StateLength];
        int eventNumber = 0;
        foreach (var ev in trace.GetProperty("events").EnumerateArray())
        {
            string where = $"{id} ({numerics}) trace {index}, event {eventNumber++}";
            switch (ev.GetProperty("op").GetString())
            {
                case "reset":
                {
                    var seedElement = ev.GetProperty("seed");
                    var obs = env.Reset(seedElement.ValueKind == JsonValueKind.Null ? null : seedElement.GetInt64());
                    AssertFloatBits(ev.GetProperty("obs"), obs, where + " (reset observation)");
                    break;
                }
                case "set_state":
                    env.SetState(Doubles(ev.GetProperty("state")));
                    break;
                case "step":
                {
                    var actionElement = ev.GetProperty("action");
                    var result = actionElement.ValueKind == JsonValueKind.Number
                        ? env.Step(actionElement.GetInt32())
                        : env.Step(actionElement.EnumerateArray().Select(e => BitConverter.UInt32BitsToSingle(e.GetUInt32())).ToArray());
                    AssertFloatBits(ev.GetProperty("obs"), result.Observation, where + " (observation)");
                    Assert.True(ev.GetProperty("reward").GetUInt64() == BitConverter.DoubleToUInt64Bits(result.Reward),
                        $"{where}: reward {result.Reward:R}, Gymnasium {BitConverter.UInt64BitsToDouble(ev.GetProperty("reward").GetUInt64()):R}");
                    Assert.True(ev.GetProperty("terminated").GetBoolean() == result.Terminated, $"{where}: terminated {result.Terminated}");
                    break;
                }
            }
            if (ev.TryGetProperty("state", out var expectedState) && ev.GetProperty("op").GetString() != "set_state")
            {
                env.GetState(state);
                var expected = Doubles(expectedState);
                for (int i = 0; i < state.Length; i++)
                    Assert.True(BitConverter.DoubleToUInt64Bits(expected[i]) == BitConverter.DoubleToUInt64Bits(state[i]),
                        $"{where}: state[{i}] {state[i]:R}, Gymnasium {expected[i]:R}");
            }
        }
    }

    static double[] Doubles(JsonElement bits) => bits.EnumerateArray().Select(e => BitConverter.UInt64BitsToDouble(e.GetUInt64())).ToArray();

    static void AssertFloatBits(JsonElement expected, ReadOnlySpan<float> actual, string where)
    {
        Assert.True(expected.GetArrayLength() == actual.Length, $"{where}: {actual.Length} elements, Gymnasium {expected.GetArrayLength()}");
        int i = 0;
        foreach (var e in expected.EnumerateArray())
        {
            uint bits = e.GetUInt32();
            Assert.True(bits == BitConverter.SingleToUInt32Bits(actual[i]),
                $"{where}: element {i} is {actual[i]:R}, Gymnasium {BitConverter.UInt32BitsToSingle(bits):R}");
            i++;
        }
    }
}
