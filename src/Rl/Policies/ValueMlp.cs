using System.Numerics;
using PurePg.Autodiff;
using PurePg.Autodiff.Modules;
using PurePg.Rl.Distributions;

namespace PurePg.Rl.Policies;

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
