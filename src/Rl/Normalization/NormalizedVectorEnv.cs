using PurePg.Envs;
using PurePg.Envs.Vector;

namespace PurePg.Rl.Normalization;

/// <summary>
/// Running normalization of observations and rewards around a vector environment, as Stable-Baselines3's VecNormalize:
/// observations → clip((o − μ)/√(σ² + 10⁻⁸), ±10) with running μ, σ² over every observation seen; rewards →
/// clip(r/√(Var[G] + 10⁻⁸), ±10) with the running variance of the discounted return G ← γG + r (reset at episode ends).
/// While <see cref="Training"/> the statistics update with every step; they are part of the model's state (save them
/// with the parameters, and normalize evaluation observations with <see cref="NormalizeObservation"/>).
/// <see cref="RawRewards"/> keeps the unnormalized rewards for episode statistics.
/// </summary>
public sealed class NormalizedVectorEnv : VectorEnv
{
    private readonly VectorEnv _inner;
    private readonly double _gamma, _clipObservation, _clipReward;
    private readonly double[] _returns;
    private readonly float[] _rawRewards;

    /// <summary>Wraps <paramref name="inner"/>.</summary>
    public NormalizedVectorEnv(VectorEnv inner, bool normalizeObservations = true, bool normalizeRewards = true, double gamma = 0.99,
        double clipObservation = 10, double clipReward = 10)
        : base(Checked(inner).NumEnvs, inner.SingleObservationSpace, inner.SingleActionSpace)
    {
        _inner = inner;
        (NormalizeObservations, NormalizeRewards) = (normalizeObservations, normalizeRewards);
        (_gamma, _clipObservation, _clipReward) = (gamma, clipObservation, clipReward);
        ObservationStatistics = new RunningMeanStd(inner.ObservationSize);
        ReturnStatistics = new RunningMeanStd(1);
        _returns = new double[inner.NumEnvs];
        _rawRewards = new float[inner.NumEnvs];
    }

    private static VectorEnv Checked(VectorEnv inner) => inner ?? throw new ArgumentNullException(nameof(inner));

    /// <summary>Whether observations are normalized.</summary>
    public bool NormalizeObservations { get; }

    /// <summary>Whether rewards are normalized.</summary>
    public bool NormalizeRewards { get; }

    /// <summary>Update the statistics with each step (true while training; false to evaluate with them frozen).</summary>
    public bool Training { get; set; } = true;

    /// <summary>μ, σ² of the observations.</summary>
    public RunningMeanStd ObservationStatistics { get; }

    /// <summary>The variance of the discounted return, for rewards.</summary>
    public RunningMeanStd ReturnStatistics { get; }

    /// <summary>The last step's unnormalized rewards.</summary>
    public override ReadOnlySpan<float> RawRewards => _rawRewards;

    /// <summary>The bound c of the normalized observations, clip(z, −c, c).</summary>
    public double ClipObservation => _clipObservation;

    /// <summary>Normalizes one observation (or a batch) with the current statistics.</summary>
    public void NormalizeObservation(ReadOnlySpan<float> raw, Span<float> normalized) =>
        Normalize(raw, normalized, ObservationStatistics.Mean, ObservationStatistics.Variance, _clipObservation, NormalizeObservations);

    /// <summary>z = clip((x − μ)/√(σ² + 10⁻⁸), −c, c) per component (only the clip when <paramref name="enabled"/> is
    /// false), for a batch of observations laid out [batch, μ.Length]; what a trained policy's file replays.</summary>
    public static void Normalize(ReadOnlySpan<float> raw, Span<float> normalized, ReadOnlySpan<double> mean, ReadOnlySpan<double> variance, double clip, bool enabled)
    {
        int size = mean.Length;
        for (int k = 0; k < raw.Length; k++)
        {
            int c = k % size;
            double z = enabled ? (raw[k] - mean[c]) / Math.Sqrt(variance[c] + 1e-8) : raw[k];
            normalized[k] = (float)Math.Clamp(z, -clip, clip);
        }
    }

    /// <summary>Replaces the observation statistics by those of <paramref name="rows"/> observations ([rows, size]:
    /// their mean, their population variance, weight <paramref name="rows"/> plus the usual 10⁻⁴ prior) and renormalizes the current observations
    /// with them — how a run starts from demonstrations (behaviour cloning fits the policy on z(s) under these statistics,
    /// and training then keeps updating them as usual).</summary>
    /// <exception cref="ArgumentException">The batch is not whole rows of the observation size.</exception>
    public void StartObservationStatistics(ReadOnlySpan<float> observations, int rows)
    {
        var fresh = new RunningMeanStd(ObservationSize);
        fresh.Update(observations, rows);
        fresh.Mean.CopyTo(ObservationStatistics.Mean, 0);
        fresh.Variance.CopyTo(ObservationStatistics.Variance, 0);
        ObservationStatistics.Count = fresh.Count;
        NormalizeObservation(_inner.Observations, CurrentObservations);
    }

    /// <inheritdoc/>
    protected override void WriteCopies(BinaryWriter writer)
    {
        _inner.WriteState(writer);
        foreach (var stats in new[] { ObservationStatistics, ReturnStatistics })
        {
            writer.Write(stats.Count);
            foreach (double v in stats.Mean) writer.Write(v);
            foreach (double v in stats.Variance) writer.Write(v);
        }
        foreach (double g in _returns) writer.Write(g);
        WriteFloats(writer, _rawRewards);
        writer.Write(Training);
    }

    /// <inheritdoc/>
    protected override void ReadCopies(BinaryReader reader)
    {
        _inner.ReadState(reader);
        foreach (var stats in new[] { ObservationStatistics, ReturnStatistics })
        {
            stats.Count = reader.ReadDouble();
            for (int i = 0; i < stats.Mean.Length; i++) stats.Mean[i] = reader.ReadDouble();
            for (int i = 0; i < stats.Variance.Length; i++) stats.Variance[i] = reader.ReadDouble();
        }
        for (int i = 0; i < _returns.Length; i++) _returns[i] = reader.ReadDouble();
        ReadFloats(reader, _rawRewards);
        Training = reader.ReadBoolean();
    }

    /// <inheritdoc/>
    protected override void ResetCore(long? seed, Span<float> observations)
    {
        _inner.Reset(seed);
        Array.Clear(_returns);
        if (Training && NormalizeObservations) ObservationStatistics.Update(_inner.Observations, NumEnvs);
        NormalizeObservation(_inner.Observations, observations);
    }

    /// <inheritdoc/>
    protected override void StepCore(ReadOnlySpan<int> actions, StepBuffers buffers)
    {
        _inner.Step(actions);
        Transform(buffers);
    }

    /// <inheritdoc/>
    protected override void StepCore(ReadOnlySpan<float> actions, StepBuffers buffers)
    {
        _inner.Step(actions);
        Transform(buffers);
    }

    private void Transform(StepBuffers buffers)
    {
        int n = NumEnvs;
        if (Training && NormalizeObservations) ObservationStatistics.Update(_inner.Observations, n);
        NormalizeObservation(_inner.Observations, buffers.Observations);
        NormalizeObservation(_inner.FinalObservations, buffers.FinalObservations);
        _inner.Rewards.CopyTo(_rawRewards);
        _inner.Terminated.CopyTo(buffers.Terminated);
        _inner.Truncated.CopyTo(buffers.Truncated);
        Span<float> g = stackalloc float[n];
        for (int i = 0; i < n; i++)
        {
            _returns[i] = _returns[i] * _gamma + _rawRewards[i];
            g[i] = (float)_returns[i];
        }
        if (Training && NormalizeRewards) ReturnStatistics.Update(g, n);
        double scale = NormalizeRewards ? 1.0 / Math.Sqrt(ReturnStatistics.Variance[0] + 1e-8) : 1.0;
        for (int i = 0; i < n; i++)
        {
            buffers.Rewards[i] = (float)Math.Clamp(_rawRewards[i] * scale, -_clipReward, _clipReward);
            if (_inner.Terminated[i] || _inner.Truncated[i]) _returns[i] = 0;
        }
    }
}
