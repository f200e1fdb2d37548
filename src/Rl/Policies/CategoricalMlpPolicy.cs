using System.Numerics;
using PurePg.Autodiff;
using PurePg.Autodiff.Modules;
using PurePg.Rl.Distributions;

namespace PurePg.Rl.Policies;

/// <summary>
/// π_θ(a|s) = softmax(z_θ(s))_a with the logits z_θ from an MLP obsDim → hidden… → |A|. Its parameters are appended to
/// a flat θ in the design's order: layer by layer, W (row-major [out, in]) then b.
/// </summary>
public sealed class CategoricalMlpPolicy<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Appends the network's parameters (named <c>{name}.{l}.W</c>, <c>{name}.{l}.b</c>) to <paramref name="theta"/>.</summary>
    public CategoricalMlpPolicy(ParameterSet<T> theta, int observationSize, ReadOnlySpan<int> hiddenSizes, int numActions,
        Activation activation = Activation.Tanh, string name = "pi")
    {
        if (numActions < 2) throw new ArgumentOutOfRangeException(nameof(numActions), numActions, "A categorical policy needs at least 2 actions.");
        Network = new Mlp<T>(theta, name, [observationSize, .. hiddenSizes, numActions], activation);
    }

    /// <summary>The logits network.</summary>
    public Mlp<T> Network { get; }

    /// <summary>θ.</summary>
    public ParameterSet<T> Parameters => Network.Parameters;

    /// <summary>The number of observation features.</summary>
    public int ObservationSize => Network.Sizes[0];

    /// <summary>|A|.</summary>
    public int NumActions => Network.Sizes[^1];

    /// <summary>The anchors' initialization: orthogonal weights with gain √2 on hidden layers and 0.01 on the logits
    /// layer (a near-uniform initial policy), zero biases.</summary>
    public void Initialize(Rng rng) => Network.Initialize(rng, Math.Sqrt(2), 0.01);

    /// <summary>Records π_θ(·|s) for the observations [batch, obsDim].</summary>
    public Categorical<T> Distribution(Tape<T> tape, Var<T> observations) => new(tape, Network.Forward(tape, observations));

    /// <summary>
    /// Acts on a batch: samples a_i ~ π_θ(·|s_i) (or takes the mode when <paramref name="deterministic"/>) and writes
    /// log π_θ(a_i|s_i). Uses <paramref name="tape"/> in no-grad mode after resetting it, so give it a tape kept for
    /// acting. Allocates nothing once the tape's arena has grown to the batch.
    /// </summary>
    public void Act(Tape<T> tape, ReadOnlyMemory<T> observations, Rng rng, Span<int> actions, Span<T> logProbs, bool deterministic = false)
    {
        ArgumentNullException.ThrowIfNull(tape);
        int batch = PolicyChecks.FiniteBatch(observations.Span, ObservationSize);
        tape.Reset();
        using var _ = tape.NoGrad();
        var pi = Distribution(tape, tape.Borrow(observations, batch, ObservationSize));
        if (deterministic) pi.Mode(actions);
        else pi.Sample(rng, actions);
        Categorical<T>.CheckLength(logProbs.Length, batch, nameof(logProbs));
        tape.Value(pi.LogProb(actions)).CopyTo(logProbs);
    }
}

/// <summary>
/// π_θ(a|s) = N(μ_θ(s), diag σ²) with μ_θ from an MLP obsDim → hidden… → d and a state-independent log σ parameter
/// [1, d] appended to θ after the network (the design's order: W, b layer by layer, then log σ).
/// </summary>
public sealed class GaussianMlpPolicy<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Appends the mean network's parameters and then <c>{name}.log_std</c> to <paramref name="theta"/>.</summary>
    public GaussianMlpPolicy(ParameterSet<T> theta, int observationSize, ReadOnlySpan<int> hiddenSizes, int actionSize,
        Activation activation = Activation.Tanh, string name = "pi")
    {
        Network = new Mlp<T>(theta, name, [observationSize, .. hiddenSizes, actionSize], activation);
        LogStd = theta.Add($"{name}.log_std", 1, actionSize);
    }

    /// <summary>The mean network.</summary>
    public Mlp<T> Network { get; }

    /// <summary>The log σ block of θ, [1, d].</summary>
    public ParameterView LogStd { get; }

    /// <summary>θ.</summary>
    public ParameterSet<T> Parameters => Network.Parameters;

    /// <summary>The number of observation features.</summary>
    public int ObservationSize => Network.Sizes[0];

    /// <summary>d, the action dimension.</summary>
    public int ActionSize => Network.Sizes[^1];

    /// <summary>The anchors' initialization: orthogonal weights, gain √2 hidden and 0.01 on the mean layer, zero biases,
    /// and log σ = <paramref name="initialLogStd"/> (0: σ = 1, as Stable-Baselines3 and CleanRL start).</summary>
    public void Initialize(Rng rng, double initialLogStd = 0)
    {
        Network.Initialize(rng, Math.Sqrt(2), 0.01);
        Parameters.Slice(LogStd).Fill(T.CreateTruncating(initialLogStd));
    }

    /// <summary>Records π_θ(·|s) for the observations [batch, obsDim].</summary>
    public DiagonalGaussian<T> Distribution(Tape<T> tape, Var<T> observations) =>
        new(tape, Network.Forward(tape, observations), tape.Parameter(Parameters, LogStd));

    /// <summary>Acts on a batch: a_i ~ π_θ(·|s_i) (or μ_θ(s_i) when <paramref name="deterministic"/>) into
    /// <paramref name="actions"/> [batch, d], with log π_θ(a_i|s_i). Resets <paramref name="tape"/> and uses it in no-grad mode.</summary>
    public void Act(Tape<T> tape, ReadOnlyMemory<T> observations, Rng rng, Span<T> actions, Span<T> logProbs, bool deterministic = false)
    {
        ArgumentNullException.ThrowIfNull(tape);
        int batch = PolicyChecks.FiniteBatch(observations.Span, ObservationSize);
        tape.Reset();
        using var _ = tape.NoGrad();
        var pi = Distribution(tape, tape.Borrow(observations, batch, ObservationSize));
        if (deterministic) pi.Mode(actions);
        else pi.Sample(rng, actions);
        Categorical<T>.CheckLength(logProbs.Length, batch, nameof(logProbs));
        tape.Value(pi.LogProb(actions)).CopyTo(logProbs);
    }
}

/// <summary>A state-value function V_φ(s): an MLP obsDim → hidden… → 1.</summary>
public sealed class ValueMlp<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>Appends the network's parameters (named <c>{name}.{l}.W</c>, <c>{name}.{l}.b</c>) to <paramref name="theta"/>.</summary>
    public ValueMlp(ParameterSet<T> theta, int observationSize, ReadOnlySpan<int> hiddenSizes, Activation activation = Activation.Tanh, string name = "v")
        => Network = new Mlp<T>(theta, name, [observationSize, .. hiddenSizes, 1], activation);

    /// <summary>The network.</summary>
    public Mlp<T> Network { get; }

    /// <summary>The anchors' initialization: orthogonal, gain √2 hidden and 1 on the output layer, zero biases.</summary>
    public void Initialize(Rng rng) => Network.Initialize(rng, Math.Sqrt(2), 1.0);

    /// <summary>Records V_φ(s) [batch, 1] for the observations [batch, obsDim].</summary>
    public Var<T> Forward(Tape<T> tape, Var<T> observations) => Network.Forward(tape, observations);
}

internal static class PolicyChecks
{
    public static int Batch(int length, int observationSize)
    {
        if (length == 0 || length % observationSize != 0)
            throw new ArgumentException($"{length} observation values do not make whole rows of {observationSize} features.");
        return length / observationSize;
    }

    /// <summary>The batch size of <paramref name="observations"/>, after checking every value is finite: a NaN or ±∞
    /// observation is named (row and feature) instead of turning into a NaN log-probability or a wrong action.</summary>
    public static int FiniteBatch<T>(ReadOnlySpan<T> observations, int observationSize) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int batch = Batch(observations.Length, observationSize);
        for (int k = 0; k < observations.Length; k++)
            if (!T.IsFinite(observations[k]))
                throw new ArgumentException($"Observation {k / observationSize}, feature {k % observationSize}, is {observations[k]}: a policy acts on finite observations only.");
        return batch;
    }
}
