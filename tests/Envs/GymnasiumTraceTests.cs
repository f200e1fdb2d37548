using System.Text.Json;
using PurePg.Envs;

namespace PurePg.Envs.Tests;

/// <summary>
/// Replays trajectories recorded from Gymnasium's own classic-control environments (Reference/make_gymnasium_traces.py)
/// and requires every observation, reward, termination flag and physical state to match to the last bit — including
/// the initial states drawn by Reset(seed), which come from the same PCG64 stream as Gymnasium's np_random.
/// </summary>
public class GymnasiumTraceTests
{
    static readonly JsonElement Traces = LoadTraces();

    static JsonElement LoadTraces()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Reference", "gymnasium_traces.json");
        return JsonDocument.Parse(File.ReadAllText(path)).RootElement.GetProperty("traces");
    }

    public static TheoryData<int> TraceIndices()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < Traces.GetArrayLength(); i++) data.Add(i);
        return data;
    }

    [Theory]
    [MemberData(nameof(TraceIndices))]
    public void Replaying_Gymnasium_trace_gives_identical_bits(int index)
    {
        var trace = Traces[index];
        string id = trace.GetProperty("id").GetString()!;
        var env = EnvRegistry.Make(id);
        env.MaxEpisodeSteps = null; // the traces run past the time limit on purpose; truncation is tested elsewhere
        var state = new double[env.StateLength];
        int eventNumber = 0;
        foreach (var ev in trace.GetProperty("events").EnumerateArray())
        {
            string where = $"{id} trace {index}, event {eventNumber++}";
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
