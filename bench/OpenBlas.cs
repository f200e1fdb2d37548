using System.Runtime.InteropServices;

namespace PurePg.Bench;

/// <summary>
/// OpenBLAS's cblas_sgemm, called in-process as the side-by-side baseline of the GEMM benchmarks (the anchor in
/// shared/anchors/gemm.c calls the same routine from C). Needs the system library: apt-get install libopenblas-dev.
/// Pinned to one thread, as our GEMM is.
/// </summary>
internal static partial class OpenBlas
{
    private const string Library = "libopenblas.so.0";
    private const int RowMajor = 101, NoTrans = 111, Trans = 112;

    public static bool IsAvailable { get; } = NativeLibrary.TryLoad(Library, out _);

    public static void UseOneThread()
    {
        EnsureAvailable();
        openblas_set_num_threads(1);
    }

    private static void EnsureAvailable()
    {
        if (!IsAvailable) throw new InvalidOperationException($"{Library} not found: apt-get install libopenblas-dev to run the OpenBLAS baseline.");
    }

    /// <summary>C = op(A)·op(B), row-major, with the same storage conventions as PurePg's Gemm.Multiply.</summary>
    public static unsafe void Sgemm(float[] a, bool transA, float[] b, bool transB, float[] c, int m, int n, int k)
    {
        EnsureAvailable();
        fixed (float* pa = a, pb = b, pc = c)
            cblas_sgemm(RowMajor, transA ? Trans : NoTrans, transB ? Trans : NoTrans, m, n, k, 1f,
                pa, transA ? m : k, pb, transB ? k : n, 0f, pc, n);
    }

    /// <summary>The library's own build line (version, target, threading), e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH … Cooperlake MAX_THREADS=64".</summary>
    public static unsafe string Config()
    {
        EnsureAvailable();
        return Marshal.PtrToStringUTF8((nint)openblas_get_config())?.Trim() ?? "";
    }

    [LibraryImport(Library)]
    private static unsafe partial byte* openblas_get_config();

    [LibraryImport(Library)]
    private static unsafe partial void cblas_sgemm(int layout, int transA, int transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc);

    [LibraryImport(Library)]
    private static partial void openblas_set_num_threads(int n);
}
