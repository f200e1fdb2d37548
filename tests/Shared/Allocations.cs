using Xunit;

namespace PurePg.Tests.Shared;

/// <summary>
/// The allocation checks of the test projects (linked into each): steady state allocates nothing. A window of calls is
/// measured with <see cref="GC.GetAllocatedBytesForCurrentThread"/> after a warm-up; a later window is tried if the first
/// catches a one-off runtime allocation on the thread (CI has seen 8,128 bytes appear in one window while the other test
/// projects ran beside it, never when run alone); an allocation per call shows in every window.
/// </summary>
internal static class Allocations
{
    /// <summary>Runs <paramref name="call"/> <paramref name="warmUp"/> times, then up to three windows of
    /// <paramref name="calls"/> calls; passes at the first window that allocated nothing.</summary>
    public static void NoneInSteadyState(Action call, int calls = 100, int warmUp = 200, string what = "the calls")
    {
        for (int k = 0; k < warmUp; k++) call();
        long allocated = 0;
        for (int window = 0; window < 3; window++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int k = 0; k < calls; k++) call();
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (allocated == 0) return;
        }
        Assert.Fail($"{calls} of {what} allocated {allocated} bytes in each of 3 windows");
    }
}
