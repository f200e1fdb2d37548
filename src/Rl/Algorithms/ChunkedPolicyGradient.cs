using System.Numerics.Tensors;
using PurePg.Autodiff;
using PurePg.Rl.Estimators;

namespace PurePg.Rl.Algorithms;

/// <summary>
/// ĝ = Σ_c ĝ_c, ĝ_c = scale · Σ_{t in chunk c} ∇θ log π_θ(a_t|s_t) Â_t + β (r_c/m) ∇θ mean_c H, over chunks of at most
/// <see cref="ChunkRows"/> rows: each chunk runs forward and backward on a tape of the worker thread that takes it (workers
/// take the next chunk as they finish one), and the chunks' gradients are added in chunk order — so ĝ depends on the chunk
/// size, never on the number of threads, and a pass over large inputs (Pong: 6,400 floats a row) needs one chunk's memory
/// per thread.
/// </summary>
internal sealed class ChunkedPolicyGradient
{
    private readonly ActorCritic _agent;
    private readonly Tape<float>[] _tapes;
    private float[][] _gradients = [];
    private double[] _entropy = [];

    public ChunkedPolicyGradient(ActorCritic agent, int chunkRows, int threads)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkRows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(threads);
        (_agent, ChunkRows) = (agent, chunkRows);
        _tapes = Enumerable.Range(0, threads).Select(_ => new Tape<float>()).ToArray();
    }

    /// <summary>Rows per chunk.</summary>
    public int ChunkRows { get; }

    /// <summary>Threads that compute chunks at once.</summary>
    public int Threads => _tapes.Length;

    /// <summary>Writes ĝ over the first <paramref name="m"/> rows into <paramref name="gradient"/> (|θ| floats) and returns
    /// the mean entropy over them.</summary>
    public double Compute(float[] observations, int[] discrete, float[] continuous, float[] advantages, int m, float scale, double entropyCoefficient, float[] gradient)
    {
        int rows = ChunkRows, chunks = (m + rows - 1) / rows, obs = _agent.ObservationSize, act = _agent.ActionSize;
        if (chunks == 0) { Array.Clear(gradient); return 0; }
        if (_gradients.Length < chunks)
        {
            Array.Resize(ref _gradients, chunks);
            _entropy = new double[chunks];
        }
        void Chunk(Tape<float> tape, int c)
        {
            int r0 = c * rows, r = Math.Min(rows, m - r0);
            tape.Reset();
            tape.ZeroGradients();
            var states = tape.Borrow(observations.AsMemory(r0 * obs, r * obs), r, obs);
            var (logProb, entropy) = _agent.Evaluate(tape, states, discrete.AsSpan(r0, r), continuous.AsSpan(r0 * act, r * act));
            _entropy[c] = tape.Scalar(entropy) * r / m;
            PolicyGradient.Accumulate(tape, logProb, advantages.AsMemory(r0, r), scale);
            if (entropyCoefficient > 0) tape.Backward(entropy * (float)(entropyCoefficient * r / m));
            var g = _gradients[c] ??= new float[gradient.Length];
            tape.GradientOf(_agent.Theta).CopyTo(g);
        }
        int workers = Math.Min(_tapes.Length, chunks);
        if (workers == 1) for (int c = 0; c < chunks; c++) Chunk(_tapes[0], c);
        else
        {
            int next = -1;
            Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, w =>
            {
                for (int c = Interlocked.Increment(ref next); c < chunks; c = Interlocked.Increment(ref next)) Chunk(_tapes[w], c);
            });
        }
        _gradients[0].CopyTo(gradient.AsSpan());
        double meanEntropy = _entropy[0];
        for (int c = 1; c < chunks; c++)
        {
            TensorPrimitives.Add(gradient, _gradients[c], gradient);
            meanEntropy += _entropy[c];
        }
        return meanEntropy;
    }
}
