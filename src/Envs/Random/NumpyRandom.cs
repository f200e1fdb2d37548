using System.Runtime.CompilerServices;

namespace PurePg.Envs.Random;

/// <summary>
/// The random stream Gymnasium gives every environment: <c>np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))</c>,
/// reproduced bit for bit, so that <c>Reset(seed)</c> draws the same initial state here as in Gymnasium.
/// SeedSequence hashes the seed into 128 bits of state and 128 bits of increment; PCG64 is the 128-bit LCG
/// s ← s·M + inc with the XSL-RR output rotr64(hi ⊕ lo, s ≫ 122).
/// </summary>
public sealed class NumpyRandom
{
    static readonly UInt128 Multiplier = new(2549297995355413924UL, 4865540595714422341UL);
    UInt128 _state;
    UInt128 _increment;

    /// <summary>Seeds as <c>SeedSequence(seed)</c> followed by <c>PCG64(seedSequence)</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The seed is negative (Gymnasium requires a non-negative integer).</exception>
    public NumpyRandom(long seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(seed);
        Span<ulong> words = stackalloc ulong[4];
        SeedSequence.GenerateState((ulong)seed, words);
        var initState = new UInt128(words[0], words[1]);
        var initSequence = new UInt128(words[2], words[3]);
        _state = 0;
        _increment = (initSequence << 1) | 1;
        Advance();
        _state += initState;
        Advance();
    }

    /// <summary>A stream seeded from operating-system entropy, as Gymnasium does when reset without a seed.</summary>
    public static NumpyRandom FromEntropy()
    {
        Span<byte> bytes = stackalloc byte[8];
        System.Security.Cryptography.RandomNumberGenerator.Fill(bytes);
        return new NumpyRandom((long)(BitConverter.ToUInt64(bytes) >> 1));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void Advance() => _state = _state * Multiplier + _increment;

    /// <summary>The next 64 random bits (numpy's <c>random_raw</c>).</summary>
    public ulong NextUInt64()
    {
        Advance();
        ulong hi = (ulong)(_state >> 64), lo = (ulong)_state;
        return ulong.RotateRight(hi ^ lo, (int)(hi >> 58));
    }

    /// <summary>A double uniform on [0, 1): (bits ≫ 11)·2⁻⁵³, as numpy's <c>random()</c>.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / 9007199254740992.0);

    /// <summary>numpy's <c>uniform(low, high)</c>: low + (high − low)·U with U on [0, 1).</summary>
    public double Uniform(double low, double high) => low + (high - low) * NextDouble();

    /// <summary>A standard normal draw by the Box–Muller transform on two uniforms. (Not numpy's ziggurat: no
    /// Gymnasium environment here draws normals, so only the distribution, not the stream, needs to match.)</summary>
    public double Gaussian()
    {
        double u1 = 1.0 - NextDouble(); // (0, 1]: log stays finite
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>An integer uniform on [0, n) by rejection (no modulo bias).</summary>
    public int NextInt(int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        ulong bound = (ulong)n, limit = ulong.MaxValue - ulong.MaxValue % bound;
        ulong r;
        do r = NextUInt64(); while (r >= limit);
        return (int)(r % bound);
    }

    /// <summary>The generator's full state (for checkpoints): state and increment, high word first.</summary>
    public (UInt128 State, UInt128 Increment) GetState() => (_state, _increment);

    /// <summary>Writes the state (four 64-bit words) for a checkpoint.</summary>
    public void WriteState(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write((ulong)(_state >> 64)); writer.Write((ulong)_state);
        writer.Write((ulong)(_increment >> 64)); writer.Write((ulong)_increment);
    }

    /// <summary>A stream restored from what <see cref="WriteState"/> wrote.</summary>
    public static NumpyRandom ReadState(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var random = new NumpyRandom(0);
        random.SetState((new UInt128(reader.ReadUInt64(), reader.ReadUInt64()), new UInt128(reader.ReadUInt64(), reader.ReadUInt64())));
        return random;
    }

    /// <summary>Restores a state taken by <see cref="GetState"/>.</summary>
    public void SetState((UInt128 State, UInt128 Increment) state)
    {
        if ((state.Increment & 1) == 0) throw new ArgumentException("A PCG64 increment is always odd; this state was not taken from a NumpyRandom.", nameof(state));
        (_state, _increment) = state;
    }
}

/// <summary>numpy's <c>SeedSequence</c> for a single non-negative integer seed and no spawn key: the entropy's 32-bit
/// words are hashed into a pool of four words, which is then expanded into the requested state words.</summary>
static class SeedSequence
{
    const uint InitA = 0x43b0d7e5, MultA = 0x931e8875, InitB = 0x8b51f9dd, MultB = 0x58f38ded;
    const uint MixMultL = 0xca01f9dd, MixMultR = 0x4973f715;
    const int PoolSize = 4, XShift = 16;

    public static void GenerateState(ulong seed, Span<ulong> state)
    {
        // The seed as little-endian 32-bit words; zero is one word.
        Span<uint> entropy = stackalloc uint[2];
        int n = seed >> 32 != 0 ? 2 : 1;
        entropy[0] = (uint)seed;
        entropy[1] = (uint)(seed >> 32);
        entropy = entropy[..n];

        Span<uint> pool = stackalloc uint[PoolSize];
        uint hashConst = InitA;
        for (int i = 0; i < PoolSize; i++)
            pool[i] = HashMix(i < entropy.Length ? entropy[i] : 0u, ref hashConst);
        for (int src = 0; src < PoolSize; src++)
            for (int dst = 0; dst < PoolSize; dst++)
                if (src != dst)
                    pool[dst] = Mix(pool[dst], HashMix(pool[src], ref hashConst));
        for (int src = PoolSize; src < entropy.Length; src++)
            for (int dst = 0; dst < PoolSize; dst++)
                pool[dst] = Mix(pool[dst], HashMix(entropy[src], ref hashConst));

        hashConst = InitB;
        for (int i = 0; i < state.Length * 2; i++)
        {
            uint value = pool[i % PoolSize];
            value ^= hashConst;
            hashConst *= MultB;
            value *= hashConst;
            value ^= value >> XShift;
            if ((i & 1) == 0) state[i / 2] = value;
            else state[i / 2] |= (ulong)value << 32;
        }
    }

    static uint HashMix(uint value, ref uint hashConst)
    {
        value ^= hashConst;
        hashConst *= MultA;
        value *= hashConst;
        value ^= value >> XShift;
        return value;
    }

    static uint Mix(uint x, uint y)
    {
        uint result = MixMultL * x - MixMultR * y;
        return result ^ (result >> XShift);
    }
}
