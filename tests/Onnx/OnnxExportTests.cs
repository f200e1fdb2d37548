using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using PurePg.Autodiff;
using PurePg.Envs.Vector;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Normalization;
using PurePg.Rl.Policies;

namespace PurePg.Onnx.Tests;

/// <summary>The exported model run by ONNX Runtime — the real consumer — against PurePg's own forward pass, for a
/// categorical and a Gaussian policy with observation normalization on, on 1,000 random observations.</summary>
public class OnnxExportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("purepg-onnx-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (IOnPolicyAlgorithm Algorithm, NormalizedVectorEnv Env) Trained(string id)
    {
        var env = new NormalizedVectorEnv(new SyncVectorEnv(id, 2));
        return (new A2c(env, new A2cSettings { NumEnvs = 2, Seed = 5 }).Learn(1_000), env);
    }

    private static float[] RandomObservations(int n, int size, ulong seed)
    {
        var rng = new Rng(seed);
        return Enumerable.Range(0, n * size).Select(_ => (float)(6 * rng.NextDouble() - 3)).ToArray();
    }

    private static Dictionary<string, float[]> RunFloat(string model, float[] obs, int n, int size, out long[] actions)
    {
        using var session = new InferenceSession(model);
        Assert.Equal("obs", session.InputMetadata.Keys.Single());
        var input = new DenseTensor<float>(obs, [n, size]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("obs", input)]);
        actions = [];
        var outputs = new Dictionary<string, float[]>();
        foreach (var r in results)
        {
            if (r.Value is Tensor<long> longs) actions = longs.ToArray();
            else outputs[r.Name] = ((Tensor<float>)r.Value).ToArray();
        }
        return outputs;
    }

    [Fact]
    public void A_categorical_policy_gives_ONNX_Runtime_our_logits_probabilities_and_actions()
    {
        var (a2c, env) = Trained("CartPole-v1");
        var policy = TrainedPolicy.From(a2c, "CartPole-v1");
        string model = Path.Combine(_dir, "cartpole.onnx");
        OnnxExport.Write(policy, model);
        const int n = 1000;
        float[] obs = RandomObservations(n, 4, 1), z = new float[obs.Length];
        env.NormalizeObservation(obs, z);
        var tape = new Tape<float>();
        float[] logits = tape.Value(a2c.Agent.Categorical!.Distribution(tape, tape.Constant(z, n, 4)).Logits).ToArray();
        var outputs = RunFloat(model, obs, n, 4, out long[] actions);
        int[] ours = new int[n];
        policy.Predict(obs, ours);
        Assert.Equal(ours.Select(a => (long)a).ToArray(), actions);
        for (int k = 0; k < logits.Length; k++)
            Assert.True(Math.Abs(logits[k] - outputs["logits"][k]) <= 1e-4f * (1 + Math.Abs(logits[k])), $"logit {k}: {logits[k]} vs {outputs["logits"][k]}");
        for (int i = 0; i < n; i++)
        {
            double p0 = 1 / (1 + Math.Exp(logits[2 * i + 1] - logits[2 * i]));
            Assert.True(Math.Abs(p0 - outputs["probs"][2 * i]) <= 1e-5, $"row {i}: p₀ {p0} vs {outputs["probs"][2 * i]}");
        }
    }

    [Fact]
    public void A_Gaussian_policy_gives_ONNX_Runtime_our_means_log_std_and_clipped_actions()
    {
        var (a2c, env) = Trained("Pendulum-v1");
        // a large output layer (64 weights and a bias before log σ), so that many means fall outside [−2, 2]
        var theta = a2c.Agent.Theta.Values;
        for (int i = theta.Length - 66; i < theta.Length - 1; i++) theta[i] *= 50;
        var policy = TrainedPolicy.From(a2c, "Pendulum-v1");
        string model = Path.Combine(_dir, "pendulum.onnx");
        OnnxExport.Write(policy, model);
        const int n = 1000;
        float[] obs = RandomObservations(n, 3, 2), z = new float[obs.Length];
        env.NormalizeObservation(obs, z);
        var tape = new Tape<float>();
        var pi = a2c.Agent.Gaussian!.Distribution(tape, tape.Constant(z, n, 3));
        float[] mean = tape.Value(pi.Mean).ToArray(), logStd = tape.Value(pi.LogStd).ToArray();
        var outputs = RunFloat(model, obs, n, 3, out _);
        float[] ours = new float[n];
        policy.Predict(obs, ours);
        for (int i = 0; i < n; i++)
        {
            Assert.True(Math.Abs(mean[i] - outputs["mean"][i]) <= 1e-4f * (1 + Math.Abs(mean[i])), $"mean {i}: {mean[i]} vs {outputs["mean"][i]}");
            Assert.True(Math.Abs(ours[i] - outputs["action"][i]) <= 1e-4f * (1 + Math.Abs(ours[i])), $"action {i}: {ours[i]} vs {outputs["action"][i]}");
            Assert.InRange(outputs["action"][i], -2f, 2f);
        }
        Assert.Equal(logStd, outputs["log_std"]);
        Assert.Contains(outputs["action"], a => a is 2f or -2f); // some means lie outside [−2, 2] and are clipped
    }
}
