using System.Diagnostics;

namespace PurePg.Cli;

/// <summary>
/// <c>purepg bench speed</c>: the speed report. Its micro-benchmarks run under BenchmarkDotNet, which builds and starts
/// the benchmark project itself, so the command runs the bench/ project of the PurePg clone it is started in
/// (<c>dotnet run -c Release --project bench -- speed …</c>) and passes its options on.
/// </summary>
internal static class BenchSpeed
{
    public const string Help = """
        purepg bench speed [--out DIR] [--seeds N] [--no-anchors]
          the speed report, written to DIR/report.md (default DIR: bench-speed): this machine's FMA peak at 256 and
          512 bits, GEMM (% of peak, OpenBLAS beside it), the 4-64-64-2 policy at batch 1/64/2048, a PPO epoch, F·v and
          10 CG iterations, the 6400-200-1 network, CartPole vector-env steps — BenchmarkDotNet, one thread — each
          beside its anchor run in the same session when installed (python3-torch, python3-numpy, libopenblas0) or its
          recorded figure (../shared/anchors/RESULTS.md), and PPO on CartPole-v1 to 475 beside
          bench/anchors/ppo_cartpole_torch.py on N seeds (default 5). Runs inside a PurePg clone (it builds bench/);
          about 6 minutes. --no-anchors: the Python anchors are not run (their recorded figures instead); OpenBLAS's
          rows run whenever the library is installed.
        """;

    public static int Run(string[] args)
    {
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] is "--help" or "-h") { Console.WriteLine(Help); return 0; }
            if (args[i] is "--no-anchors") continue;
            if (args[i] is not ("--out" or "--seeds"))
                throw new UsageException($"purepg bench speed: unknown option '{args[i]}' (valid: --out, --seeds, --no-anchors).");
            if (i + 1 >= args.Length) throw new UsageException($"purepg bench speed: {args[i]} needs a value.");
            if (args[i] == "--seeds" && (!int.TryParse(args[i + 1], out int n) || n < 1))
                throw new UsageException($"purepg bench speed: --seeds must be a positive integer, not '{args[i + 1]}'.");
            i++;
        }
        string? root = null;
        for (var d = new DirectoryInfo(Environment.CurrentDirectory); d is not null && root is null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "bench", "PurePg.Bench.csproj"))) root = d.FullName;
        if (root is null)
            throw new UsageException($"purepg bench speed: run it inside a PurePg clone — it builds and runs bench/PurePg.Bench.csproj, and there is none above {Environment.CurrentDirectory}.");
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = Environment.CurrentDirectory };
        foreach (string a in (string[])["run", "-c", "Release", "--project", Path.Combine(root, "bench"), "--", "speed", .. args]) info.ArgumentList.Add(a);
        using var process = Process.Start(info) ?? throw new InvalidOperationException("purepg bench speed: could not start dotnet.");
        process.WaitForExit();
        return process.ExitCode;
    }
}
