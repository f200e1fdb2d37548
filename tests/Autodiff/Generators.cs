using System.Runtime.Intrinsics;

namespace PurePg.Autodiff.Tests;

/// <summary>A generated test case: a shape and a seed from which every value of the case is drawn.</summary>
public readonly record struct Case(int Rows, int Cols, ulong Seed)
{
    public Shape Shape => new(Rows, Cols);
    public override string ToString() => $"[{Rows}, {Cols}] seed {Seed}";
}

public static class Generators
{
    /// <summary>Sizes 1 … 2·Vector512&lt;float&gt;.Count + 1 (= 33): every vector tail, and 1.</summary>
    public static readonly int MaxSize = 2 * Vector512<float>.Count + 1;

    public static Gen<int> Size => Gen.Choose(1, MaxSize);

    public static Arbitrary<Case> Cases =>
        (from r in Size from c in Size from s in Gen.Choose(0, int.MaxValue) select new Case(r, c, (ulong)s)).ToArbitrary();

    /// <summary>Runs <paramref name="property"/> for generated cases; the failing case is shrunk and reported.</summary>
    public static void ForAll<TCase>(Arbitrary<TCase> cases, Action<TCase> property, int maxTest = 100) =>
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(maxTest), Prop.ForAll(cases, property));

    /// <summary>Uniform values in [lo, hi).</summary>
    public static double[] Uniform(Rng rng, int n, double lo, double hi)
    {
        var v = new double[n];
        for (int i = 0; i < n; i++) v[i] = lo + (hi - lo) * rng.NextDouble();
        return v;
    }

    /// <summary>Values with |x| in [gap, hi): away from a kink at 0 by more than any finite-difference step.</summary>
    public static double[] AwayFromZero(Rng rng, int n, double gap, double hi)
    {
        var v = Uniform(rng, n, gap, hi);
        for (int i = 0; i < n; i++) if (rng.NextDouble() < 0.5) v[i] = -v[i];
        return v;
    }
}
