using Google.Protobuf;
using PurePg.Autodiff.Modules;
using PurePg.Envs;
using PurePg.Rl.Distributions;
using PurePg.Rl.Policies;

namespace PurePg.Onnx;

/// <summary>
/// Writes a <see cref="TrainedPolicy"/> as an ONNX model (opset 13, IR version 7: loaded by ONNX Runtime and by Unity's
/// Sentis, which reads opsets 7–15). One input, <c>obs</c> [batch, observation size] float32, with a dynamic batch. The
/// graph: the observation normalizer first, z = Clip((obs − μ)/√(σ² + 10⁻⁸), −c, c); then per layer Gemm(h, W, b, transB)
/// and Tanh or Relu; then the head. Categorical: outputs <c>logits</c> [batch, n], <c>probs</c> = Softmax(logits) and
/// <c>action</c> = ArgMax(logits) as int64 [batch]. Gaussian: <c>mean</c> [batch, d], <c>log_std</c> [1, d] (clamped to
/// [−20, 2] as the policy clamps it) and <c>action</c> = the mean clipped to the action space's bounds.
/// With <see cref="OnnxTensorNames.MlAgents"/> the model speaks Unity ML-Agents' model API 3 (MLAgents2_0) instead, as
/// its exporter (mlagents/trainers/torch_entities/model_serialization.py) and its loader (SentisModelInfo) define it:
/// input <c>obs_0</c> (and, for discrete actions, <c>action_masks</c> [batch, n] float32: 1 allowed, 0 masked, applied as
/// logits·m − 10⁸·(1 − m)); float32 constant outputs <c>version_number</c> [1] = 3, <c>memory_size</c> [1] = 0 and
/// <c>discrete_action_output_shape</c> [1, 1] = n or <c>continuous_action_output_shape</c> [1] = d; and the actions —
/// discrete: <c>deterministic_discrete_actions</c> = ArgMax and <c>discrete_actions</c> = Multinomial, both int64
/// [batch, 1]; continuous: <c>deterministic_continuous_actions</c> = the mean and <c>continuous_actions</c> = mean +
/// σ·RandomNormalLike, both clipped to the action space's bounds (in the space's own units, where ML-Agents' exporter
/// maps an unbounded Gaussian to clamp(a, −3, 3)/3: the two agree for a policy trained on Box(−1, 1)).
/// </summary>
public static class OnnxExport
{
    private const int Float = 1, Int64 = 7;

    /// <summary>Writes <paramref name="policy"/> to <paramref name="path"/> atomically (temporary file, flush, rename), with
    /// PurePg's tensor names or ML-Agents'.</summary>
    public static void Write(TrainedPolicy policy, string path, OnnxTensorNames names = OnnxTensorNames.PurePg)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(path);
        PurePg.Rl.Training.AtomicFile.Write(path, Build(policy, names));
    }

    /// <summary>The version of ML-Agents' model API the <see cref="OnnxTensorNames.MlAgents"/> layout follows
    /// (ModelApiVersion.MLAgents2_0).</summary>
    public const int MlAgentsModelVersion = 3;

    /// <summary>The ONNX ModelProto bytes of <paramref name="policy"/>.</summary>
    public static byte[] Build(TrainedPolicy policy, OnnxTensorNames names = OnnxTensorNames.PurePg)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (!Enum.IsDefined(names)) throw new ArgumentOutOfRangeException(nameof(names), names, "Unknown tensor-name layout.");
        bool mlAgents = names == OnnxTensorNames.MlAgents;
        var nodes = new List<byte[]>();
        var initializers = new List<byte[]>();
        var inputs = new List<byte[]>();
        var outputs = new List<byte[]>();
        int o = policy.ObservationSize;
        string input = mlAgents ? "obs_0" : "obs", h = input;
        inputs.Add(ValueInfo(input, Float, [null, o]));

        if (policy.Normalizer is { } n)
        {
            if (n.Enabled)
            {
                initializers.Add(Tensor("obs_mean", [1, o], n.Mean.Select(v => (float)v).ToArray()));
                initializers.Add(Tensor("obs_std", [1, o], n.Variance.Select(v => (float)Math.Sqrt(v + 1e-8)).ToArray()));
                nodes.Add(Node("Sub", [input, "obs_mean"], ["obs_centred"]));
                nodes.Add(Node("Div", ["obs_centred", "obs_std"], ["obs_scaled"]));
                h = "obs_scaled";
            }
            initializers.Add(Tensor("obs_clip_low", [], [(float)-n.Clip]));
            initializers.Add(Tensor("obs_clip_high", [], [(float)n.Clip]));
            nodes.Add(Node("Clip", [h, "obs_clip_low", "obs_clip_high"], ["obs_normalized"]));
            h = "obs_normalized";
        }

        // the MLP: θ holds layer by layer W [out, in] row-major then b [out] (then log σ for a Gaussian)
        int outputSize = policy.ActionSpace is Discrete d ? d.N : ((Box)policy.ActionSpace).Size;
        int[] sizes = [o, .. policy.HiddenSizes, outputSize];
        ReadOnlySpan<float> theta = policy.Parameters;
        int at = 0;
        for (int l = 0; l + 1 < sizes.Length; l++)
        {
            int fanIn = sizes[l], fanOut = sizes[l + 1];
            initializers.Add(Tensor($"W{l}", [fanOut, fanIn], theta.Slice(at, fanIn * fanOut).ToArray()));
            at += fanIn * fanOut;
            initializers.Add(Tensor($"b{l}", [fanOut], theta.Slice(at, fanOut).ToArray()));
            at += fanOut;
            bool last = l + 2 == sizes.Length;
            string y = last ? (policy.ActionSpace is Discrete ? "logits" : "mean") : $"z{l}";
            nodes.Add(Node("Gemm", [h, $"W{l}", $"b{l}"], [y], Attribute.Int("transB", 1)));
            if (!last)
            {
                nodes.Add(Node(policy.Activation == Activation.Relu ? "Relu" : "Tanh", [y], [$"h{l}"]));
                h = $"h{l}";
            }
        }

        if (mlAgents)
        {
            // the constants ML-Agents' loader reads as float tensors
            Constant("version_number", [1], [MlAgentsModelVersion]);
            Constant("memory_size", [1], [0]);
            if (policy.ActionSpace is Discrete)
            {
                inputs.Add(ValueInfo("action_masks", Float, [null, outputSize]));
                initializers.Add(Tensor("mask_one", [], [1f]));
                initializers.Add(Tensor("mask_penalty", [], [1e8f]));
                nodes.Add(Node("Mul", ["logits", "action_masks"], ["allowed_logits"]));
                nodes.Add(Node("Sub", ["action_masks", "mask_one"], ["mask_off"])); // 0 allowed, −1 masked
                nodes.Add(Node("Mul", ["mask_off", "mask_penalty"], ["masked_penalty"]));
                nodes.Add(Node("Add", ["allowed_logits", "masked_penalty"], ["masked_logits"]));
                nodes.Add(Node("ArgMax", ["masked_logits"], ["deterministic_discrete_actions"], Attribute.Int("axis", 1), Attribute.Int("keepdims", 1)));
                nodes.Add(Node("Multinomial", ["masked_logits"], ["discrete_actions"], Attribute.Int("dtype", Int64), Attribute.Int("sample_size", 1)));
                Constant("discrete_action_output_shape", [1, 1], [outputSize]);
                outputs.Add(ValueInfo("discrete_actions", Int64, [null, 1]));
                outputs.Add(ValueInfo("deterministic_discrete_actions", Int64, [null, 1]));
            }
            else
            {
                var box = (Box)policy.ActionSpace;
                float[] logStd = ClampedLogStd(theta.Slice(at, outputSize));
                at += outputSize;
                initializers.Add(Tensor("log_std_value", [1, outputSize], logStd));
                initializers.Add(Tensor("action_low", [outputSize], box.Low.ToArray()));
                initializers.Add(Tensor("action_high", [outputSize], box.High.ToArray()));
                nodes.Add(Node("Max", ["mean", "action_low"], ["mean_above_low"]));
                nodes.Add(Node("Min", ["mean_above_low", "action_high"], ["deterministic_continuous_actions"]));
                nodes.Add(Node("Exp", ["log_std_value"], ["std"]));
                nodes.Add(Node("RandomNormalLike", ["mean"], ["noise"]));
                nodes.Add(Node("Mul", ["noise", "std"], ["scaled_noise"]));
                nodes.Add(Node("Add", ["mean", "scaled_noise"], ["sample"]));
                nodes.Add(Node("Max", ["sample", "action_low"], ["sample_above_low"]));
                nodes.Add(Node("Min", ["sample_above_low", "action_high"], ["continuous_actions"]));
                Constant("continuous_action_output_shape", [1], [outputSize]);
                outputs.Add(ValueInfo("continuous_actions", Float, [null, outputSize]));
                outputs.Add(ValueInfo("deterministic_continuous_actions", Float, [null, outputSize]));
            }
        }
        else if (policy.ActionSpace is Discrete)
        {
            nodes.Add(Node("Softmax", ["logits"], ["probs"], Attribute.Int("axis", 1)));
            nodes.Add(Node("ArgMax", ["logits"], ["action"], Attribute.Int("axis", 1), Attribute.Int("keepdims", 0)));
            outputs.Add(ValueInfo("logits", Float, [null, outputSize]));
            outputs.Add(ValueInfo("probs", Float, [null, outputSize]));
            outputs.Add(ValueInfo("action", Int64, [null]));
        }
        else
        {
            var box = (Box)policy.ActionSpace;
            float[] logStd = ClampedLogStd(theta.Slice(at, outputSize));
            at += outputSize;
            initializers.Add(Tensor("log_std_value", [1, outputSize], logStd));
            initializers.Add(Tensor("action_low", [outputSize], box.Low.ToArray()));
            initializers.Add(Tensor("action_high", [outputSize], box.High.ToArray()));
            nodes.Add(Node("Identity", ["log_std_value"], ["log_std"]));
            nodes.Add(Node("Max", ["mean", "action_low"], ["mean_above_low"]));
            nodes.Add(Node("Min", ["mean_above_low", "action_high"], ["action"]));
            outputs.Add(ValueInfo("mean", Float, [null, outputSize]));
            outputs.Add(ValueInfo("log_std", Float, [1, outputSize]));
            outputs.Add(ValueInfo("action", Float, [null, outputSize]));
        }
        if (at != theta.Length) throw new InvalidOperationException($"θ has {theta.Length} values; the architecture used {at}.");

        // GraphProto: 1 node, 2 name, 5 initializer, 11 input, 12 output
        var graph = new Message();
        foreach (var node in nodes) graph.Bytes(1, node);
        graph.String(2, "purepg_policy");
        foreach (var tensor in initializers) graph.Bytes(5, tensor);
        foreach (var i in inputs) graph.Bytes(11, i);
        foreach (var output in outputs) graph.Bytes(12, output);

        // ModelProto: 1 ir_version, 2 producer_name, 3 producer_version, 7 graph, 8 opset_import
        var model = new Message();
        model.Int(1, 7);
        model.String(2, "PurePg");
        model.String(3, policy.LibraryVersion);
        model.Bytes(7, graph.ToArray());
        var opset = new Message();
        opset.String(1, "");
        opset.Int(2, 13);
        model.Bytes(8, opset.ToArray());
        return model.ToArray();

        // a float32 constant as a graph output: an initializer passed through Identity
        void Constant(string name, long[] dims, float[] values)
        {
            initializers.Add(Tensor(name + "_value", dims, values));
            nodes.Add(Node("Identity", [name + "_value"], [name]));
            outputs.Add(ValueInfo(name, Float, dims.Select(d => (long?)d).ToArray()));
        }
    }

    /// <summary>log σ clamped to [−20, 2], as the policy clamps it.</summary>
    private static float[] ClampedLogStd(ReadOnlySpan<float> logStd) =>
        logStd.ToArray().Select(v => Math.Clamp(v, (float)DiagonalGaussian<float>.MinLogStd, (float)DiagonalGaussian<float>.MaxLogStd)).ToArray();

    /// <summary>NodeProto: 1 input, 2 output, 3 name, 4 op_type, 5 attribute.</summary>
    private static byte[] Node(string op, string[] inputs, string[] outputs, params byte[][] attributes)
    {
        var m = new Message();
        foreach (string i in inputs) m.String(1, i);
        foreach (string o in outputs) m.String(2, o);
        m.String(3, $"{op}_{outputs[0]}");
        m.String(4, op);
        foreach (var a in attributes) m.Bytes(5, a);
        return m.ToArray();
    }

    /// <summary>TensorProto: 1 dims, 2 data_type, 8 name, 9 raw_data (little-endian float32).</summary>
    private static byte[] Tensor(string name, long[] dims, float[] values)
    {
        var m = new Message();
        foreach (long d in dims) m.Int(1, d);
        m.Int(2, Float);
        m.String(8, name);
        var raw = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(4 * i), values[i]);
        m.Bytes(9, raw);
        return m.ToArray();
    }

    /// <summary>ValueInfoProto { 1 name, 2 TypeProto { 1 tensor_type { 1 elem_type, 2 shape { 1 dim { 1 dim_value | 2 dim_param } } } } };
    /// a null dimension is the dynamic batch, "batch".</summary>
    private static byte[] ValueInfo(string name, int elementType, long?[] dims)
    {
        var shape = new Message();
        foreach (long? d in dims)
        {
            var dim = new Message();
            if (d is long v) dim.Int(1, v);
            else dim.String(2, "batch");
            shape.Bytes(1, dim.ToArray());
        }
        var tensor = new Message();
        tensor.Int(1, elementType);
        tensor.Bytes(2, shape.ToArray());
        var type = new Message();
        type.Bytes(1, tensor.ToArray());
        var info = new Message();
        info.String(1, name);
        info.Bytes(2, type.ToArray());
        return info.ToArray();
    }

    /// <summary>AttributeProto: 1 name, 3 i, 20 type (INT = 2).</summary>
    private static class Attribute
    {
        public static byte[] Int(string name, long value)
        {
            var m = new Message();
            m.String(1, name);
            m.Int(3, value);
            m.Int(20, 2);
            return m.ToArray();
        }
    }

    /// <summary>One protobuf message under construction, written with Google.Protobuf's CodedOutputStream.</summary>
    private sealed class Message
    {
        private readonly MemoryStream _bytes = new();
        private readonly CodedOutputStream _out;

        public Message() => _out = new CodedOutputStream(_bytes, leaveOpen: true);

        public void Int(int field, long value)
        {
            _out.WriteTag(field, WireFormat.WireType.Varint);
            _out.WriteInt64(value);
        }

        public void String(int field, string value)
        {
            _out.WriteTag(field, WireFormat.WireType.LengthDelimited);
            _out.WriteString(value);
        }

        public void Bytes(int field, byte[] value)
        {
            _out.WriteTag(field, WireFormat.WireType.LengthDelimited);
            _out.WriteBytes(ByteString.CopyFrom(value));
        }

        public byte[] ToArray()
        {
            _out.Flush();
            return _bytes.ToArray();
        }
    }
}

/// <summary>The tensor names an exported model uses.</summary>
public enum OnnxTensorNames
{
    /// <summary>PurePg's: input <c>obs</c>; outputs <c>logits</c>, <c>probs</c>, <c>action</c> or <c>mean</c>,
    /// <c>log_std</c>, <c>action</c>.</summary>
    PurePg,

    /// <summary>Unity ML-Agents' model API 3: input <c>obs_0</c> (and <c>action_masks</c>), outputs <c>version_number</c>,
    /// <c>memory_size</c>, the action shape and the stochastic and deterministic actions (see <see cref="OnnxExport"/>).</summary>
    MlAgents,
}
