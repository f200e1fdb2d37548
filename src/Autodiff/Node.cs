namespace PurePg.Autodiff;

/// <summary>The closed set of primitive ops a tape records. The walker in <see cref="Tape{T}"/> maps each to its backward.</summary>
internal enum Op : byte
{
    Constant, Parameter, Detach,
    Add, Subtract, Multiply, Divide, Negate, AddScalar, Scale,
    Exp, Log, Tanh, Relu, Sigmoid, Softplus, Square, Sqrt, Clamp,
    Minimum, Maximum,
    Sum, SumRows, Mean, MeanRows,
    LogSumExp, LogSoftmax, Gather, LogSoftmaxGather,
    MatMul, Linear, LinearTanh, LinearRelu,
}

/// <summary>
/// One entry of the Wengert list: which op, its inputs (node indices, −1 for none), its output shape and where
/// its value lives (Source 0: the tape's arena; k &gt; 0: parameter set k − 1; −1: memory borrowed from the caller,
/// never differentiated). Gradients use the same offsets in the matching gradient buffer. A struct in a flat array:
/// no closures, nothing for the GC to chase.
/// </summary>
internal struct Node<T>
{
    public Op Op;
    public bool NeedsGrad;
    public bool TransA, TransB;
    public int A, B, C;
    public Shape Shape;
    public int Source;
    /// <summary>The caller's memory when Source is −1 (<see cref="Tape{T}.Borrow"/>).</summary>
    public ReadOnlyMemory<T> Borrowed;
    public int Offset;
    /// <summary>Offset in the int arena of indices an op saves for its backward (Gather); −1 for none.</summary>
    public int Saved;
    /// <summary>Offset in the value arena of values an op saves for its backward (row max and log-normalizer); −1 for none.</summary>
    public int SavedValues;
    public T S0, S1;
    /// <summary>The backward pass in which this node's gradient was last cleared; gradients are cleared lazily, on first contribution.</summary>
    public int GradPass;
}
