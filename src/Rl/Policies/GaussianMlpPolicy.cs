using System.Numerics;
using PurePg.Autodiff;
using PurePg.Autodiff.Modules;
using PurePg.Rl.Distributions;

namespace PurePg.Rl.Policies;

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

    /// <summary>The anchors' initialization: orthogonal weights, gain √2 hidden and <paramref name="headGain"/> = 0.01 on
    /// the mean layer, zero biases, and log σ = <paramref name="initialLogStd"/> (0: σ = 1, as Stable-Baselines3 and CleanRL
    /// start).</summary>
    public void Initialize(Rng rng, double initialLogStd = 0, double headGain = 0.01)
    {
        Network.Initialize(rng, Math.Sqrt(2), headGain);
        Parameters.Slice(LogStd).Fill(T.CreateTruncating(initialLogStd));
    }

    /// <summary>Records π_θ(·|s) for the observations [batch, obsDim].</summary>
    public DiagonalGaussian<T> Distribution(Tape<T> tape, Var<T> observations) =>
        new(tape, Network.Forward(tape, observations), tape.Parameter(Parameters, LogStd));

    /// <summary>Acts on a batch: a_i ~ π_θ(·|s_i) (or μ_θ(s_i) when <paramref name="deterministic"/>) into
    /// <paramref name="actions"/> [batch, d], with log π_θ(a_i|s_i). Resets <paramref name="tape"/> and records on it in no-grad
    /// mode: give it a tape kept for acting, never one holding a graph you still need.</summary>
    public void Act(Tape<T> tape, ReadOnlyMemory<T> observations, Rng rng, Span<T> actions, Span<T> logProbs, bool deterministic = false)
    {
        ArgumentNullException.ThrowIfNull(rng);
        Act(tape, observations, rng, default, actions, logProbs, deterministic);
    }

    /// <summary>As <see cref="Act(Tape{T}, ReadOnlyMemory{T}, Rng, Span{T}, Span{T}, bool)"/>, row i sampling with its own
    /// stream <paramref name="streams"/>[i] (one per environment copy), so on a <see cref="Tape{T}.BatchInvariant"/> tape
    /// a copy's action and log-probability depend on its observation and stream alone, not on the copies acting with it.</summary>
    public void Act(Tape<T> tape, ReadOnlyMemory<T> observations, ReadOnlySpan<Rng> streams, Span<T> actions, Span<T> logProbs, bool deterministic = false) =>
        Act(tape, observations, null, streams, actions, logProbs, deterministic);

    private void Act(Tape<T> tape, ReadOnlyMemory<T> observations, Rng? rng, ReadOnlySpan<Rng> streams, Span<T> actions, Span<T> logProbs, bool deterministic)
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
