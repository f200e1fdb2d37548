using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using PurePg.Envs.ClassicControl;
using PurePg.Envs.Random;

namespace PurePg.Envs.Vector;

/// <summary>
/// N CartPole-v1 copies with their state in structure-of-arrays form (x, ẋ, θ, θ̇ each a contiguous float64 array),
/// stepped with the same-step autoreset. The arithmetic runs four copies at a time in Vector256&lt;double&gt; with
/// exactly the scalar operations of <see cref="CartPole"/> (no fused multiply-adds), so by default copy i is bit for bit
/// a <see cref="CartPole"/> reset with seed + i (tested against <see cref="SyncVectorEnv"/>).
/// <para>With <c>fastTrigonometry: true</c>, sin θ and cos θ come from our own Vector256 polynomial instead of the C
/// library: within 1 ulp of it (tested) but not always the same last bit, so trajectories drift from Gymnasium's after
/// enough steps. The dynamics, constants, resets and episode statistics are otherwise the same.</para>
/// </summary>
public sealed class CartPoleVectorEnv : VectorEnv
{
    readonly double[] _x, _xDot, _theta, _thetaDot, _sin, _cos;
    readonly bool[] _terminal;
    readonly int[] _elapsed;
    readonly NumpyRandom?[] _random;
    readonly int _maxEpisodeSteps;

    /// <summary>N copies with Gymnasium's 500-step time limit (or <paramref name="maxEpisodeSteps"/>); see the class
    /// remarks for <paramref name="fastTrigonometry"/>.</summary>
    public CartPoleVectorEnv(int numEnvs, int maxEpisodeSteps = 500, bool fastTrigonometry = false)
        : base(numEnvs, new CartPole().ObservationSpace, new Discrete(2))
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxEpisodeSteps);
        _maxEpisodeSteps = maxEpisodeSteps;
        FastTrigonometry = fastTrigonometry;
        _x = new double[numEnvs];
        _xDot = new double[numEnvs];
        _theta = new double[numEnvs];
        _thetaDot = new double[numEnvs];
        _sin = new double[numEnvs];
        _cos = new double[numEnvs];
        _terminal = new bool[numEnvs];
        _elapsed = new int[numEnvs];
        _random = new NumpyRandom?[numEnvs];
    }

    /// <summary>Whether sin and cos come from our polynomial (fast, within 1 ulp) rather than the C library (exact).</summary>
    public bool FastTrigonometry { get; }

    /// <inheritdoc/>
    protected override void WriteCopies(BinaryWriter writer)
    {
        for (int i = 0; i < NumEnvs; i++)
        {
            writer.Write(_x[i]); writer.Write(_xDot[i]); writer.Write(_theta[i]); writer.Write(_thetaDot[i]);
            writer.Write(_elapsed[i]);
            writer.Write(_random[i] is not null);
            _random[i]?.WriteState(writer);
        }
    }

    /// <inheritdoc/>
    protected override void ReadCopies(BinaryReader reader)
    {
        for (int i = 0; i < NumEnvs; i++)
        {
            (_x[i], _xDot[i], _theta[i], _thetaDot[i]) = (reader.ReadDouble(), reader.ReadDouble(), reader.ReadDouble(), reader.ReadDouble());
            _elapsed[i] = reader.ReadInt32();
            if (reader.ReadBoolean()) _random[i] = NumpyRandom.ReadState(reader);
        }
    }

    /// <inheritdoc/>
    protected override void ResetCore(long? seed, Span<float> observations)
    {
        for (int i = 0; i < NumEnvs; i++)
        {
            if (seed is long s) _random[i] = new NumpyRandom(s + i);
            else _random[i] ??= NumpyRandom.FromEntropy();
            ResetCopy(i);
            Observe(i, observations);
        }
    }

    void ResetCopy(int i)
    {
        var random = _random[i]!;
        _x[i] = random.Uniform(-0.05, 0.05);
        _xDot[i] = random.Uniform(-0.05, 0.05);
        _theta[i] = random.Uniform(-0.05, 0.05);
        _thetaDot[i] = random.Uniform(-0.05, 0.05);
        _elapsed[i] = 0;
    }

    /// <inheritdoc/>
    protected override void StepCore(ReadOnlySpan<int> actions, StepBuffers buffers)
    {
        if (FastTrigonometry) SinCosPolynomial.Compute(_theta, _sin, _cos);
        else
            for (int i = 0; i < _theta.Length; i++) (_sin[i], _cos[i]) = Math.SinCos(_theta[i]);

        int n = NumEnvs, vectorEnd = Vector256.IsHardwareAccelerated ? n - n % 4 : 0;
        for (int i = 0; i < vectorEnd; i += 4) Integrate4(actions, i);
        for (int i = vectorEnd; i < n; i++)
            _terminal[i] = CartPole.Integrate(actions[i], _sin[i], _cos[i], ref _x[i], ref _xDot[i], ref _theta[i], ref _thetaDot[i]);

        buffers.Rewards.Fill(1f);
        var observations = buffers.Observations;
        int i0 = 0;
        if (Avx.IsSupported)
            for (; i0 <= n - 4; i0 += 4) Observe4(i0, observations);
        for (; i0 < n; i0++) Observe(i0, observations);

        var terminated = buffers.Terminated;
        var truncated = buffers.Truncated;
        for (int i = 0; i < n; i++)
        {
            bool term = _terminal[i], trunc = ++_elapsed[i] >= _maxEpisodeSteps;
            terminated[i] = term;
            truncated[i] = trunc;
            if (term || trunc)
            {
                observations.Slice(i * 4, 4).CopyTo(buffers.FinalObservations.Slice(i * 4, 4));
                ResetCopy(i);
                Observe(i, observations);
            }
        }
    }

    /// <summary><see cref="CartPole.Integrate"/> for copies i … i+3, operation for operation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void Integrate4(ReadOnlySpan<int> actions, int i)
    {
        ref double x0 = ref _x[i], xDot0 = ref _xDot[i], theta0 = ref _theta[i], thetaDot0 = ref _thetaDot[i];
        var x = Vector256.LoadUnsafe(ref x0);
        var xDot = Vector256.LoadUnsafe(ref xDot0);
        var theta = Vector256.LoadUnsafe(ref theta0);
        var thetaDot = Vector256.LoadUnsafe(ref thetaDot0);
        var sinTheta = Vector256.LoadUnsafe(ref _sin[i]);
        var cosTheta = Vector256.LoadUnsafe(ref _cos[i]);
        var action = Vector256.Create((long)actions[i], actions[i + 1], actions[i + 2], actions[i + 3]);
        var force = Vector256.ConditionalSelect(Vector256.Equals(action, Vector256<long>.One).AsDouble(),
            Vector256.Create(CartPole.ForceMag), Vector256.Create(-CartPole.ForceMag));

        var temp = (force + Vector256.Create(CartPole.PoleMassLength) * (thetaDot * thetaDot) * sinTheta) / Vector256.Create(CartPole.TotalMass);
        var thetaAcc = (Vector256.Create(CartPole.Gravity) * sinTheta - cosTheta * temp)
            / (Vector256.Create(CartPole.Length) * (Vector256.Create(4.0 / 3.0) - Vector256.Create(CartPole.MassPole) * (cosTheta * cosTheta) / Vector256.Create(CartPole.TotalMass)));
        var xAcc = temp - Vector256.Create(CartPole.PoleMassLength) * thetaAcc * cosTheta / Vector256.Create(CartPole.TotalMass);
        var tau = Vector256.Create(CartPole.Tau);
        x += tau * xDot;
        xDot += tau * xAcc;
        theta += tau * thetaDot;
        thetaDot += tau * thetaAcc;
        x.StoreUnsafe(ref x0);
        xDot.StoreUnsafe(ref xDot0);
        theta.StoreUnsafe(ref theta0);
        thetaDot.StoreUnsafe(ref thetaDot0);

        var xLimit = Vector256.Create(CartPole.XThreshold);
        var thetaLimit = Vector256.Create(CartPole.ThetaThreshold);
        uint mask = (Vector256.LessThan(x, -xLimit) | Vector256.GreaterThan(x, xLimit)
            | Vector256.LessThan(theta, -thetaLimit) | Vector256.GreaterThan(theta, thetaLimit)).ExtractMostSignificantBits();
        _terminal[i] = (mask & 1) != 0;
        _terminal[i + 1] = (mask & 2) != 0;
        _terminal[i + 2] = (mask & 4) != 0;
        _terminal[i + 3] = (mask & 8) != 0;
    }

    /// <summary>Rows i … i+3 of the [N, 4] float32 observations from the four float64 state arrays: convert, then a
    /// 4×4 transpose.</summary>
    void Observe4(int i, Span<float> observations)
    {
        var r0 = Avx.ConvertToVector128Single(Vector256.LoadUnsafe(ref _x[i]));
        var r1 = Avx.ConvertToVector128Single(Vector256.LoadUnsafe(ref _xDot[i]));
        var r2 = Avx.ConvertToVector128Single(Vector256.LoadUnsafe(ref _theta[i]));
        var r3 = Avx.ConvertToVector128Single(Vector256.LoadUnsafe(ref _thetaDot[i]));
        var t0 = Sse.UnpackLow(r0, r1);
        var t1 = Sse.UnpackHigh(r0, r1);
        var t2 = Sse.UnpackLow(r2, r3);
        var t3 = Sse.UnpackHigh(r2, r3);
        var rows = observations.Slice(i * 4, 16);
        Sse.MoveLowToHigh(t0, t2).CopyTo(rows);
        Sse.MoveHighToLow(t2, t0).CopyTo(rows[4..]);
        Sse.MoveLowToHigh(t1, t3).CopyTo(rows[8..]);
        Sse.MoveHighToLow(t3, t1).CopyTo(rows[12..]);
    }

    void Observe(int i, Span<float> observations)
    {
        ref float row = ref MemoryMarshal.GetReference(observations.Slice(i * 4, 4));
        row = (float)_x[i];
        Unsafe.Add(ref row, 1) = (float)_xDot[i];
        Unsafe.Add(ref row, 2) = (float)_theta[i];
        Unsafe.Add(ref row, 3) = (float)_thetaDot[i];
    }
}
