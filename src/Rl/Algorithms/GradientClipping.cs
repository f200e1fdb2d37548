namespace PurePg.Rl.Algorithms;

/// <summary>Global gradient-norm clipping over several parameter vectors at once (as torch's clip_grad_norm_ over all
/// parameters): every gradient is scaled by min(1, c/‖(g₁, g₂)‖₂).</summary>
public static class GradientClipping
{
    /// <summary>Copies g₁, g₂ into the outputs scaled to a joint norm ≤ <paramref name="maxNorm"/>; returns the norm before clipping.</summary>
    public static double ClipJointly(ReadOnlySpan<float> g1, ReadOnlySpan<float> g2, Span<float> out1, Span<float> out2, double maxNorm)
    {
        double norm = Math.Sqrt((double)System.Numerics.Tensors.TensorPrimitives.SumOfSquares(g1) + System.Numerics.Tensors.TensorPrimitives.SumOfSquares(g2));
        float scale = norm > maxNorm ? (float)(maxNorm / norm) : 1f;
        System.Numerics.Tensors.TensorPrimitives.Multiply(g1, scale, out1);
        System.Numerics.Tensors.TensorPrimitives.Multiply(g2, scale, out2);
        return norm;
    }
}
