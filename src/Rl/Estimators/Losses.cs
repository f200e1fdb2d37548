using System.Numerics;
using PurePg.Autodiff;

namespace PurePg.Rl.Estimators;

/// <summary>The surrogate objectives and value losses of the actor-critic and trust-region algorithms, as tape values, in
/// the lectures' notation (r = π_θ(a|s)/π_old(a|s)). Generic so that tests check them in double precision.</summary>
public static class Losses
{
    /// <summary>The importance-weighted surrogate L(θ) = mean(r·Â), whose gradient at θ = θ_old is the policy gradient.</summary>
    public static Var<T> Surrogate<T>(Tape<T> tape, Var<T> logProb, ReadOnlyMemory<T> oldLogProb, ReadOnlyMemory<T> advantages)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        int n = logProb.Rows;
        var ratio = tape.Exp(logProb - tape.Borrow(oldLogProb, n, 1));
        return tape.Mean(ratio * tape.Borrow(advantages, n, 1));
    }

    /// <summary>PPO's clipped surrogate mean(min(r·Â, clip(r, 1 − ε, 1 + ε)·Â)) (to be maximized).</summary>
    public static Var<T> ClippedSurrogate<T>(Tape<T> tape, Var<T> logProb, ReadOnlyMemory<T> oldLogProb, ReadOnlyMemory<T> advantages, T epsilon)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        return ClippedSurrogate(tape, tape.Exp(logProb - tape.Borrow(oldLogProb, logProb.Rows, 1)), advantages, epsilon);
    }

    /// <summary>The same for a ratio r [n, 1] already recorded (when the caller also needs log r).</summary>
    public static Var<T> ClippedSurrogate<T>(Tape<T> tape, Var<T> ratio, ReadOnlyMemory<T> advantages, T epsilon)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        var a = tape.Borrow(advantages, ratio.Rows, 1);
        return tape.Mean(tape.Minimum(ratio * a, tape.Clamp(ratio, T.One - epsilon, T.One + epsilon) * a));
    }

    /// <summary>mean((V − R)²), or with <paramref name="clip"/> c PPO's clipped form
    /// mean(max((V − R)², (V_old + clip(V − V_old, −c, c) − R)²)).</summary>
    public static Var<T> ValueLoss<T>(Tape<T> tape, Var<T> value, ReadOnlyMemory<T> returns, ReadOnlyMemory<T> oldValues = default, T? clip = null)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tape);
        int n = value.Rows;
        var r = tape.Borrow(returns, n, 1);
        if (clip is not T c) return tape.Mean(tape.Square(value - r));
        var old = tape.Borrow(oldValues, n, 1);
        var clipped = old + tape.Clamp(value - old, -c, c);
        return tape.Mean(tape.Maximum(tape.Square(value - r), tape.Square(clipped - r)));
    }
}
