using System.Diagnostics;
using PurePg.Autodiff;
using PurePg.Autodiff.Kernels;

namespace PurePg.Bench;

/// <summary>
/// GEMM beside OpenBLAS with the two calls interleaved one by one (ours, OpenBLAS, ours, …) on the same arrays, so a
/// noisy phase of the shared machine hits both alike; prints each one's best time and the median of the per-pair time
/// ratios (ours / OpenBLAS: below 1 is faster). BenchmarkDotNet's short job runs the two minutes apart, and on this
/// machine its ratios moved by up to ±0.3 between runs; these move by about ±0.03.
/// Run: dotnet run -c Release --project bench -- gemm-pairs [M K N TA TB]... (default: every MLP, square and Pong shape)
/// </summary>
public static class GemmPairs
{
    public static void Run(string[] args)
    {
        var shapes = new List<GemmShape>();
        for (int i = 1; i + 4 < args.Length; i += 5)
            shapes.Add(new("shape", int.Parse(args[i]), int.Parse(args[i + 1]), int.Parse(args[i + 2]), args[i + 3] == "T", args[i + 4] == "T"));
        if (shapes.Count == 0) shapes.AddRange(GemmBenchmarks.Shapes().Concat(PongGemmBenchmarks.Shapes()));
        if (!OpenBlas.IsAvailable) throw new InvalidOperationException("gemm-pairs needs OpenBLAS: apt-get install libopenblas-dev.");
        OpenBlas.UseOneThread();
        Console.WriteLine("| product (M×K×N, orientation) | PurePg best µs | OpenBLAS best µs | median of PurePg / OpenBLAS per pair |");
        Console.WriteLine("|---|---:|---:|---:|");
        foreach (var s in shapes)
        {
            var rng = new Rng(1);
            float[] a = Gaussian(rng, s.M * s.K), b = Gaussian(rng, s.K * s.N), c = new float[s.M * s.N];
            // enough calls per timing (≥ ~0.2 ms) that the clock's resolution does not matter, and ~2 s per shape
            int inner = (int)Math.Max(1, 2e5 / Math.Max(1, s.Flops / 1e3));
            void Ours() { for (int q = 0; q < inner; q++) Gemm.Multiply<float>(a, s.TransA, b, s.TransB, c, s.M, s.N, s.K, accumulate: false); }
            void Blas() { for (int q = 0; q < inner; q++) OpenBlas.Sgemm(a, s.TransA, b, s.TransB, c, s.M, s.N, s.K); }
            var warm = Stopwatch.StartNew();
            while (warm.ElapsedMilliseconds < 500) { Ours(); Blas(); }
            var ratios = new List<double>();
            double bestOurs = double.MaxValue, bestBlas = double.MaxValue;
            var total = Stopwatch.StartNew();
            while (total.ElapsedMilliseconds < 1500 || ratios.Count < 8)
            {
                var clock = Stopwatch.StartNew();
                Ours();
                double o = clock.Elapsed.TotalMicroseconds / inner;
                clock.Restart();
                Blas();
                double q = clock.Elapsed.TotalMicroseconds / inner;
                ratios.Add(o / q);
                bestOurs = Math.Min(bestOurs, o);
                bestBlas = Math.Min(bestBlas, q);
            }
            ratios.Sort();
            Console.WriteLine($"| {s} | {bestOurs:F2} | {bestBlas:F2} | {ratios[ratios.Count / 2]:F3} |");
        }
    }

    private static float[] Gaussian(Rng rng, int n) => Enumerable.Range(0, n).Select(_ => (float)rng.NextGaussian()).ToArray();
}
