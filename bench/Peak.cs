using System.Diagnostics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using PurePg.Autodiff;
using PurePg.Autodiff.Kernels;

namespace PurePg.Bench;

/// <summary>
/// This machine's register-only fp32 FMA throughput on one core for both vector widths, measured in the same run as our
/// GEMM with each micro-kernel (the 256-bit kernel is forced on an AVX-512 machine through the kernel override the tests
/// use), so every GEMM figure prints as a percentage of the peak of the width it ran at. The peak loop keeps 12
/// independent FMA chains in registers (latency 4 × 2 FMA ports needs 8; 12 leaves margin), best of 7 timings.
/// Run: dotnet run -c Release --project bench -- peak [step]   ("step" adds every product of the 4-64-64-2 policy step
/// at batch 64 and 2048: the small-K layers the squares do not show)
/// </summary>
public static class Peak
{
    public static void Run(string[] args)
    {
        Console.WriteLine(Gemm.MachineLine());
        if (OpenBlas.IsAvailable) Console.WriteLine(OpenBlas.Config());
        var (p256, p512) = Measure();
        Console.WriteLine($"fp32 FMA peak, one core: 256-bit {p256:F1} GFLOP/s; 512-bit {(double.IsNaN(p512) ? "n/a (no AVX-512)" : $"{p512:F1} GFLOP/s")}");
        Console.WriteLine();
        foreach (string line in KernelTable(p256, p512, stepShapes: args.Contains("step"))) Console.WriteLine(line);
    }

    /// <summary>The register-only fp32 FMA peak of one core, GFLOP/s, at 256 and 512 bits (NaN where AVX-512 is off).</summary>
    public static (double P256, double P512) Measure() =>
        (Best(Fma256), Vector512.IsHardwareAccelerated && Avx512F.IsSupported ? Best(Fma512) : double.NaN);

    /// <summary>Our GEMM with each micro-kernel this machine has, on the square and RL shapes (and, with
    /// <paramref name="stepShapes"/>, every product of the 4-64-64-2 policy step at batch 64 and 2048), as markdown rows
    /// with the percent of that width's peak.</summary>
    public static IEnumerable<string> KernelTable(double p256, double p512, bool stepShapes = false)
    {
        yield return "| product (M×K×N, orientation) | kernel | best ms | GFLOP/s | % of that width's peak |";
        yield return "|---|---|---:|---:|---:|";
        GemmShape[] shapes =
        [
            new("square", 512, 512, 512, false, false), new("square", 1024, 1024, 1024, false, false),
            new("fwd", 2048, 64, 64, false, true), new("dW", 64, 2048, 64, true, false),
            .. PongGemmBenchmarks.Shapes(),
            .. stepShapes ? PolicyStepShapes(64).Concat(PolicyStepShapes(2048)) : [],
        ];
        var kernels = new List<(GemmIsa Isa, string Name, double Peak)> { (GemmIsa.Vector256, "256-bit", p256) };
        if (!double.IsNaN(p512)) kernels.Add((GemmIsa.Vector512, "512-bit", p512));
        foreach (var s in shapes)
        {
            var rng = new Rng(1);
            float[] a = Gaussian(rng, s.M * s.K), b = Gaussian(rng, s.K * s.N), c = new float[s.M * s.N];
            foreach (var (isa, name, peak) in kernels)
            {
                Gemm.IsaOverride = isa;
                int inner = (int)Math.Max(1, 2e8 / s.Flops);
                double best = double.MaxValue;
                var total = Stopwatch.StartNew();
                for (int round = 0; round < 40 && (round < 5 || total.ElapsedMilliseconds < 1500); round++)
                {
                    var clock = Stopwatch.StartNew();
                    for (int q = 0; q < inner; q++) Gemm.Multiply<float>(a, s.TransA, b, s.TransB, c, s.M, s.N, s.K, accumulate: false);
                    if (round > 0) best = Math.Min(best, clock.Elapsed.TotalMilliseconds / inner); // round 0 warms up
                }
                Gemm.IsaOverride = null;
                double gflops = s.Flops / (best * 1e6);
                yield return $"| {s} | {name} | {best:F3} | {gflops:F1} | {100 * gflops / peak:F0} % |";
            }
        }
    }

    /// <summary>The products of one step of the 4-64-64-2 tanh policy at <paramref name="batch"/> B (x·Wᵀ forward, Gᵀ·x
    /// for dW, G·W for dX; no dX for the input layer).</summary>
    private static IEnumerable<GemmShape> PolicyStepShapes(int batch) =>
    [
        new($"B={batch} fwd 1", batch, 4, 64, false, true), new($"B={batch} fwd 2", batch, 64, 64, false, true),
        new($"B={batch} fwd 3", batch, 64, 2, false, true), new($"B={batch} dW 3", 2, batch, 64, true, false),
        new($"B={batch} dX 3", batch, 2, 64, false, false), new($"B={batch} dW 2", 64, batch, 64, true, false),
        new($"B={batch} dX 2", batch, 64, 64, false, false), new($"B={batch} dW 1", 64, batch, 4, true, false),
    ];

    private static double Best(Func<long, float> loop)
    {
        const long iterations = 20_000_000;
        loop(1000);
        double best = double.MaxValue;
        for (int r = 0; r < 7; r++)
        {
            var clock = Stopwatch.StartNew();
            float sink = loop(iterations);
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
            if (float.IsNaN(sink)) Console.Write("");
        }
        return iterations * 12.0 * (loop == Fma512 ? 16 : 8) * 2 / best / 1e9;
    }

    private static float Fma256(long iterations)
    {
        var m = Vector256.Create(0.9999999f);
        var d = Vector256.Create(1e-7f);
        Vector256<float> a0 = Vector256.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Fma.MultiplyAdd(a0, m, d); a1 = Fma.MultiplyAdd(a1, m, d); a2 = Fma.MultiplyAdd(a2, m, d); a3 = Fma.MultiplyAdd(a3, m, d);
            a4 = Fma.MultiplyAdd(a4, m, d); a5 = Fma.MultiplyAdd(a5, m, d); a6 = Fma.MultiplyAdd(a6, m, d); a7 = Fma.MultiplyAdd(a7, m, d);
            a8 = Fma.MultiplyAdd(a8, m, d); a9 = Fma.MultiplyAdd(a9, m, d); a10 = Fma.MultiplyAdd(a10, m, d); a11 = Fma.MultiplyAdd(a11, m, d);
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    private static float Fma512(long iterations)
    {
        var m = Vector512.Create(0.9999999f);
        var d = Vector512.Create(1e-7f);
        Vector512<float> a0 = Vector512.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Avx512F.FusedMultiplyAdd(a0, m, d); a1 = Avx512F.FusedMultiplyAdd(a1, m, d); a2 = Avx512F.FusedMultiplyAdd(a2, m, d);
            a3 = Avx512F.FusedMultiplyAdd(a3, m, d); a4 = Avx512F.FusedMultiplyAdd(a4, m, d); a5 = Avx512F.FusedMultiplyAdd(a5, m, d);
            a6 = Avx512F.FusedMultiplyAdd(a6, m, d); a7 = Avx512F.FusedMultiplyAdd(a7, m, d); a8 = Avx512F.FusedMultiplyAdd(a8, m, d);
            a9 = Avx512F.FusedMultiplyAdd(a9, m, d); a10 = Avx512F.FusedMultiplyAdd(a10, m, d); a11 = Avx512F.FusedMultiplyAdd(a11, m, d);
        }
        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    private static float[] Gaussian(Rng rng, int n) => Enumerable.Range(0, n).Select(_ => (float)rng.NextGaussian()).ToArray();
}
