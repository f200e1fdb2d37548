namespace PurePg.Autodiff;

// Forward mode: the Jacobian-vector product J·u for a direction u in parameter space, one forward sweep over the list.
// Each op's tangent rule sits beside its forward and backward in Ops/; this file holds the walker and the storage.
public sealed partial class Tape<T>
{
    /// <summary>
    /// Forward-mode sweep: for a direction u in the parameter space of <paramref name="set"/> (θ's flat layout), computes
    /// every recorded node's tangent ẏ = (∂y/∂θ)·u, walking the list forward, and returns nothing; read a tangent with
    /// <see cref="Tangent"/>. Parameters of other sets, constants, detached values and nodes recorded in no-grad mode have
    /// tangent 0. The recorded values are reused: sweeping several directions costs one sweep each, no new forward pass.
    /// </summary>
    /// <exception cref="ArgumentException">The direction's length is not the set's parameter count.</exception>
    public void ForwardTangents(ParameterSet<T> set, ReadOnlySpan<T> direction)
    {
        ArgumentNullException.ThrowIfNull(set);
        if (direction.Length != set.Count)
            throw new ArgumentException($"ForwardTangents: the direction has {direction.Length} elements but the parameter set has {set.Count}.", nameof(direction));
        int slot = SlotOf(set);
        for (int s = 0; s < _setTangents.Count; s++)
            if (s == slot) direction.CopyTo(_setTangents[s]);
            else Array.Clear(_setTangents[s]);
        for (int i = 0; i < _count; i++)
        {
            ref readonly Node<T> n = ref _nodes[i];
            if (!n.NeedsGrad || n.Op is Op.Parameter or Op.Constant or Op.Detach) continue;
            TangentOf(i, in n);
        }
        _tangentGeneration = _generation;
        _tangentCount = _count;
    }

    private int _tangentGeneration = -1, _tangentCount;

    /// <summary>ẏ = (∂y/∂θ)·u for <paramref name="x"/>, from the last <see cref="ForwardTangents"/> (zero for a value that
    /// does not depend on θ).</summary>
    /// <exception cref="InvalidOperationException">No sweep has run since <paramref name="x"/> was recorded.</exception>
    public ReadOnlySpan<T> Tangent(Var<T> x)
    {
        int i = Id(x);
        if (_tangentGeneration != _generation || i >= _tangentCount)
            throw new InvalidOperationException($"Tangent: Var#{i} was recorded after the last ForwardTangents sweep; call ForwardTangents first.");
        ref readonly Node<T> n = ref _nodes[i];
        if (!n.NeedsGrad)
        {
            Span<T> zero = Scratch(n.Shape.Length, 1);
            zero.Clear();
            return zero;
        }
        return Tan(i);
    }

    /// <summary>The walker's forward table: one line per primitive.</summary>
    private void TangentOf(int i, in Node<T> n)
    {
        switch (n.Op)
        {
            case Op.Add: case Op.Subtract: case Op.Multiply: case Op.Divide: BinaryTangent(i, in n); break;
            case Op.Negate: case Op.AddScalar: case Op.Scale: AffineTangent(i, in n); break;
            case Op.Exp: case Op.Log: case Op.Tanh: case Op.Relu: case Op.Sigmoid: case Op.Softplus:
            case Op.Square: case Op.Sqrt: PointwiseTangent(i, in n); break;
            case Op.Clamp: ClampTangent(i, in n); break;
            case Op.Minimum: case Op.Maximum: MinMaxTangent(i, in n); break;
            case Op.Sum: case Op.Mean: case Op.SumRows: case Op.MeanRows: ReduceTangent(i, in n); break;
            case Op.LogSumExp: case Op.LogSoftmax: case Op.Gather: case Op.LogSoftmaxGather: LogSoftmaxFamilyTangent(i, in n); break;
            case Op.MatMul: MatMulTangent(i, in n); break;
            case Op.Linear: LinearTangent(i, in n); break;
            case Op.LinearTanh: case Op.LinearRelu: LinearActivatedTangent(i, in n); break;
            default: throw new InvalidOperationException($"No tangent rule for op {n.Op}.");
        }
    }

    /// <summary>The tangent buffer of node <paramref name="i"/> (the arena's, or its parameter set's direction).</summary>
    internal Span<T> Tan(int i)
    {
        ref readonly Node<T> n = ref _nodes[i];
        T[] buffer = n.Source == 0 ? _tangents : _setTangents[n.Source - 1];
        return buffer.AsSpan(n.Offset, n.Shape.Length);
    }
}
