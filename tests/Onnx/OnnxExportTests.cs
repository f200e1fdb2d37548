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

    /// <summary>Runs a model with named float inputs; returns every output as floats (int64 outputs converted) and its shape.</summary>
    private static Dictionary<string, (float[] Values, int[] Shape, bool IsInt64)> Run(string model, params (string Name, float[] Values, int[] Shape)[] inputs)
    {
        using var session = new InferenceSession(model);
        Assert.Equal(inputs.Select(i => i.Name).Order(), session.InputMetadata.Keys.Order());
        using var results = session.Run(inputs.Select(i => NamedOnnxValue.CreateFromTensor(i.Name, new DenseTensor<float>(i.Values, i.Shape))).ToArray());
        return results.ToDictionary(r => r.Name, r => r.Value switch
        {
            Tensor<long> longs => (longs.ToArray().Select(v => (float)v).ToArray(), longs.Dimensions.ToArray(), true),
            Tensor<float> floats => (floats.ToArray(), floats.Dimensions.ToArray(), false),
            var other => throw new InvalidOperationException($"{r.Name}: {other?.GetType()}"),
        });
    }

    /// <summary>A float32 output with these values and this shape (ML-Agents reads its constants as float tensors).</summary>
    private static void FloatConstant(Dictionary<string, (float[] Values, int[] Shape, bool IsInt64)> outputs, string name, float[] values, int[] shape)
    {
        Assert.False(outputs[name].IsInt64, name);
        Assert.Equal(values, outputs[name].Values);
        Assert.Equal(shape, outputs[name].Shape);
    }

    [Fact]
    public void The_ML_Agents_layout_of_a_discrete_policy_has_its_constants_masks_and_actions()
    {
        var (a2c, _) = Trained("CartPole-v1");
        var policy = TrainedPolicy.From(a2c, "CartPole-v1");
        string model = Path.Combine(_dir, "cartpole-mlagents.onnx");
        OnnxExport.Write(policy, model, OnnxTensorNames.MlAgents);
        const int n = 500;
        float[] obs = RandomObservations(n, 4, 3);
        var ones = Enumerable.Repeat(1f, 2 * n).ToArray();
        var r = Run(model, ("obs_0", obs, [n, 4]), ("action_masks", ones, [n, 2]));
        Assert.Equal(["deterministic_discrete_actions", "discrete_action_output_shape", "discrete_actions", "memory_size", "version_number"], r.Keys.Order());
        // the constants ML-Agents' loader reads as float tensors: version 3 (MLAgents2_0), no memory, one branch of 2
        FloatConstant(r, "version_number", [3f], [1]);
        FloatConstant(r, "memory_size", [0f], [1]);
        FloatConstant(r, "discrete_action_output_shape", [2f], [1, 1]);
        // the deterministic actions are ours, int64 [batch, 1]
        int[] ours = new int[n];
        policy.Predict(obs, ours);
        Assert.Equal([n, 1], r["deterministic_discrete_actions"].Shape);
        Assert.True(r["deterministic_discrete_actions"].IsInt64 && r["discrete_actions"].IsInt64);
        Assert.Equal(ours.Select(a => (float)a), r["deterministic_discrete_actions"].Values);
        Assert.All(r["discrete_actions"].Values, a => Assert.True(a is 0f or 1f));
        // masking the policy's choice forces the other action, in both outputs
        var masks = new float[2 * n];
        for (int i = 0; i < n; i++) masks[2 * i + (1 - ours[i])] = 1;
        var masked = Run(model, ("obs_0", obs, [n, 4]), ("action_masks", masks, [n, 2]));
        Assert.Equal(ours.Select(a => (float)(1 - a)), masked["deterministic_discrete_actions"].Values);
        Assert.Equal(ours.Select(a => (float)(1 - a)), masked["discrete_actions"].Values);
        // the stochastic output samples π(·|s): one observation repeated 4,000 times, its frequency within 4 standard errors
        const int m = 4_000;
        float[] one = Enumerable.Range(0, m).SelectMany(_ => obs.Take(4)).ToArray();
        var samples = Run(model, ("obs_0", one, [m, 4]), ("action_masks", Enumerable.Repeat(1f, 2 * m).ToArray(), [m, 2]))["discrete_actions"].Values;
        var z = new float[4];
        var tape = new Tape<float>();
        var (mean, variance, clip, enabled) = policy.Normalizer!.Value;
        NormalizedVectorEnv.Normalize(obs.AsSpan(0, 4), z, mean.ToArray(), variance.ToArray(), clip, enabled);
        double p1 = Math.Exp(tape.Value(a2c.Agent.Categorical!.Distribution(tape, tape.Constant(z, 1, 4)).LogProbs())[1]);
        double frequency = samples.Average(a => (double)a), se = Math.Sqrt(p1 * (1 - p1) / m);
        Assert.True(Math.Abs(frequency - p1) <= 4 * se + 1e-9, $"P(a = 1) = {p1:F4}, sampled {frequency:F4} (se {se:F4})");
    }

    [Fact]
    public void The_ML_Agents_layout_of_a_Gaussian_policy_has_its_constants_and_clipped_deterministic_and_sampled_actions()
    {
        var (a2c, _) = Trained("Pendulum-v1");
        var theta = a2c.Agent.Theta.Values;
        theta[^1] = -1f; // log σ = −1: σ ≈ 0.37, well inside Pendulum's [−2, 2] around a mean near 0
        var policy = TrainedPolicy.From(a2c, "Pendulum-v1");
        string model = Path.Combine(_dir, "pendulum-mlagents.onnx");
        OnnxExport.Write(policy, model, OnnxTensorNames.MlAgents);
        const int n = 300;
        float[] obs = RandomObservations(n, 3, 4);
        var r = Run(model, ("obs_0", obs, [n, 3]));
        Assert.Equal(["continuous_action_output_shape", "continuous_actions", "deterministic_continuous_actions", "memory_size", "version_number"], r.Keys.Order());
        FloatConstant(r, "version_number", [3f], [1]);
        FloatConstant(r, "memory_size", [0f], [1]);
        FloatConstant(r, "continuous_action_output_shape", [1f], [1]);
        float[] ours = new float[n];
        policy.Predict(obs, ours);
        for (int i = 0; i < n; i++)
            Assert.True(Math.Abs(ours[i] - r["deterministic_continuous_actions"].Values[i]) <= 1e-4f * (1 + Math.Abs(ours[i])), $"row {i}");
        Assert.All(r["continuous_actions"].Values, a => Assert.InRange(a, -2f, 2f));
        // samples of one observation: centred on the mean, 68 % within one σ
        const int m = 4_000;
        float[] one = Enumerable.Range(0, m).SelectMany(_ => obs.Take(3)).ToArray();
        var samples = Run(model, ("obs_0", one, [m, 3]))["continuous_actions"].Values;
        float mu = ours[0];
        Assert.InRange(mu, -1f, 1f);
        double sigma = Math.Exp(-1), inside = samples.Count(a => Math.Abs(a - mu) <= sigma) / (double)m;
        Assert.True(Math.Abs(samples.Average() - mu) < 4 * sigma / Math.Sqrt(m), $"sample mean {samples.Average():F4}, μ {mu:F4}");
        Assert.True(Math.Abs(inside - 0.6827) < 0.03, $"{inside:P1} within one σ");
    }
}
