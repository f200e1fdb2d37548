using System.Numerics;

namespace PurePg.Autodiff.Modules;

/// <summary>The hidden-layer nonlinearity of an <see cref="Mlp{T}"/>.</summary>
public enum Activation
{
    /// <summary>tanh(x).</summary>
    Tanh,
    /// <summary>max(x, 0).</summary>
    Relu,
}

/// <summary>
/// A multilayer perceptron h_0 = x, h_{l+1} = f(h_l·W_lᵀ + b_l) for hidden layers and an identity output layer,
/// with sizes n_0 → n_1 → … → n_L. Its parameters are views appended to a <see cref="ParameterSet{T}"/> in the
/// design's flattening order: layer by layer, W_l (row-major [n_{l+1}, n_l]) then b_l.
/// </summary>
public sealed class Mlp<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    private readonly (ParameterView Weight, ParameterView Bias)[] _layers;

    /// <summary>Appends the layers' parameters to <paramref name="parameters"/>, named <c>{name}.{l}.W</c> and <c>{name}.{l}.b</c>.</summary>
    /// <param name="parameters">The flat parameter vector to extend.</param>
    /// <param name="name">Prefix of the parameter names, e.g. <c>pi</c> or <c>v</c>.</param>
    /// <param name="sizes">Layer widths n_0 (input) … n_L (output); at least two, all positive.</param>
    /// <param name="activation">Nonlinearity of the hidden layers.</param>
    public Mlp(ParameterSet<T> parameters, string name, ReadOnlySpan<int> sizes, Activation activation)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (sizes.Length < 2) throw new ArgumentException($"Mlp '{name}': needs at least an input and an output size, got {sizes.Length} sizes.", nameof(sizes));
        foreach (int s in sizes)
            if (s <= 0) throw new ArgumentException($"Mlp '{name}': layer sizes must be positive, got [{string.Join(", ", sizes.ToArray())}].", nameof(sizes));
        Parameters = parameters;
        Sizes = sizes.ToArray();
        Activation = activation;
        _layers = new (ParameterView, ParameterView)[sizes.Length - 1];
        for (int l = 0; l < _layers.Length; l++)
            _layers[l] = (parameters.Add($"{name}.{l}.W", sizes[l + 1], sizes[l]), parameters.Add($"{name}.{l}.b", 1, sizes[l + 1]));
    }

    /// <summary>The parameter set this network's views live in.</summary>
    public ParameterSet<T> Parameters { get; }

    /// <summary>Layer widths n_0 … n_L.</summary>
    public IReadOnlyList<int> Sizes { get; }

    /// <summary>Hidden-layer nonlinearity.</summary>
    public Activation Activation { get; }

    /// <summary>(W_l, b_l) views, layer by layer.</summary>
    public ReadOnlySpan<(ParameterView Weight, ParameterView Bias)> Layers => _layers;

    /// <summary>
    /// Orthogonal weights (gain <paramref name="hiddenGain"/> for hidden layers, <paramref name="outputGain"/> for the
    /// output layer) and zero biases, the initialization of the anchors (√2 hidden; 0.01 policy head; 1 value head).
    /// </summary>
    public void Initialize(Rng rng, double hiddenGain, double outputGain)
    {
        ArgumentNullException.ThrowIfNull(rng);
        for (int l = 0; l < _layers.Length; l++)
        {
            var (w, b) = _layers[l];
            Orthogonal.Fill(Parameters.Slice(w), w.Shape.Rows, w.Shape.Cols, l == _layers.Length - 1 ? outputGain : hiddenGain, rng);
            Parameters.Slice(b).Clear();
        }
    }

    /// <summary>Records the forward pass on <paramref name="tape"/> for a batch x [batch, n_0]; returns [batch, n_L].</summary>
    public Var<T> Forward(Tape<T> tape, Var<T> x)
    {
        ArgumentNullException.ThrowIfNull(tape);
        if (x.Cols != Sizes[0]) throw new ArgumentException($"Mlp: input has shape {x.Shape} but the network expects {Sizes[0]} features per row.", nameof(x));
        Var<T> h = x;
        for (int l = 0; l < _layers.Length; l++)
        {
            var (w, b) = _layers[l];
            Var<T> weight = tape.Parameter(Parameters, w), bias = tape.Parameter(Parameters, b);
            // hidden layers as one op each (the same bits as Linear then the activation; one node and one buffer fewer)
            h = l == _layers.Length - 1 ? tape.Linear(h, weight, bias)
                : Activation == Activation.Tanh ? tape.LinearTanh(h, weight, bias) : tape.LinearRelu(h, weight, bias);
        }
        return h;
    }
}
