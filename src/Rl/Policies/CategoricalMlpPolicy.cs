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

    /// <summary>The anchors' initialization: orthogonal weights with gain √2 on hidden layers and
    /// <paramref name="headGain"/> = 0.01 on the logits layer (a near-uniform initial policy), zero biases.</summary>
    public void Initialize(Rng rng, double headGain = 0.01) => Network.Initialize(rng, Math.Sqrt(2), headGain);

    /// <summary>Records π_θ(·|s) for the observations [batch, obsDim].</summary>
    public Categorical<T> Distribution(Tape<T> tape, Var<T> observations) => new(tape, Network.Forward(tape, observations));

    /// <summary>
    /// Acts on a batch: samples a_i ~ π_θ(·|s_i) (or takes the mode when <paramref name="deterministic"/>) and writes
    /// log π_θ(a_i|s_i). Uses <paramref name="tape"/> in no-grad mode after resetting it, so give it a tape kept for
    /// acting. Allocates nothing once the tape's arena has grown to the batch.
    /// </summary>
    public void Act(Tape<T> tape, ReadOnlyMemory<T> observations, Rng rng, Span<int> actions, Span<T> logProbs, bool deterministic = false)
    {
        ArgumentNullException.ThrowIfNull(rng);
        Act(tape, observations, rng, default, actions, logProbs, deterministic);
    }

    /// <summary>As <see cref="Act(Tape{T}, ReadOnlyMemory{T}, Rng, Span{int}, Span{T}, bool)"/>, row i sampling with its own
    /// stream <paramref name="streams"/>[i] (one per environment copy), so on a <see cref="Tape{T}.BatchInvariant"/> tape
    /// a copy's action and log-probability depend on its observation and stream alone, not on the copies acting with it.</summary>
    public void Act(Tape<T> tape, ReadOnlyMemory<T> observations, ReadOnlySpan<Rng> streams, Span<int> actions, Span<T> logProbs, bool deterministic = false) =>
        Act(tape, observations, null, streams, actions, logProbs, deterministic);

    private void Act(Tape<T> tape, ReadOnlyMemory<T> observations, Rng? rng, ReadOnlySpan<Rng> streams, Span<int> actions, Span<T> logProbs, bool deterministic)
    {
        ArgumentNullException.ThrowIfNull(tape);
        int batch = PolicyChecks.FiniteBatch(observations.Span, ObservationSize);
        tape.Reset();
        using var _ = tape.NoGrad();
        var pi = Distribution(tape, tape.Borrow(observations, batch, ObservationSize));
        if (deterministic) pi.Mode(actions);
        else if (rng is not null) pi.Sample(rng, actions);
        else pi.Sample(streams, actions);
        Categorical<T>.CheckLength(logProbs.Length, batch, nameof(logProbs));
        tape.Value(pi.LogProb(actions)).CopyTo(logProbs);
    }
}
