using System.Numerics;
using PurePg.Autodiff;
using PurePg.Autodiff.Modules;
using PurePg.Rl.Distributions;

namespace PurePg.Rl.Policies;

internal static class PolicyChecks
{
    public static int Batch(int length, int observationSize)
    {
        if (length == 0 || length % observationSize != 0)
            throw new ArgumentException($"{length} observation values do not make whole rows of {observationSize} features.");
        return length / observationSize;
    }

    /// <summary>The batch size of <paramref name="observations"/>, after checking every value is finite: a NaN or ±∞
    /// observation is named (row and feature) instead of turning into a NaN log-probability or a wrong action.</summary>
    public static int FiniteBatch<T>(ReadOnlySpan<T> observations, int observationSize) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int batch = Batch(observations.Length, observationSize);
        for (int k = 0; k < observations.Length; k++)
            if (!T.IsFinite(observations[k]))
                throw new ArgumentException($"Observation {k / observationSize}, feature {k % observationSize}, is {observations[k]}: a policy acts on finite observations only.");
        return batch;
    }
}
