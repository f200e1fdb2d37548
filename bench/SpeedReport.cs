using PurePg.Autodiff.Kernels;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Filters;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using PurePg.Envs;
using PurePg.Rl.Policies;
using PurePg.Rl.Training;

namespace PurePg.Bench;

/// <summary>
/// The speed report (<c>purepg bench speed</c>, or <c>dotnet run -c Release --project bench -- speed</c>): in one run,
/// this machine's FMA peak for both vector widths, the micro-benchmarks that matter to users run by BenchmarkDotNet
/// (GEMM on RL and square shapes with their percent of the peak and OpenBLAS beside them, the 4-64-64-2 policy's
/// forward + backward at batch 1/64/2048, one PPO epoch, F·v and 10 CG iterations, the 6400-200-1 network, CartPole
/// vector-env steps), the anchors run in the same session when installed (PyTorch: shared/anchors/torch_bench.py; NumPy:
/// bench/anchors/cartpole_numpy.py; OpenBLAS: BenchmarkDotNet's baseline rows) and their recorded figures
/// (shared/anchors/RESULTS.md, marked "recorded") otherwise, and end to end: PPO on CartPole-v1 to 475 beside
/// bench/anchors/ppo_cartpole_torch.py with the same settings. Writes DIR/report.md (default bench-speed/).
/// </summary>
public static class SpeedReport
{
    private sealed record Measured(string Type, string Method, string Param, double Nanoseconds, long? Allocated);

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(string[] args)
    {
        string output = Path.GetFullPath(Option(args, "--out") ?? "bench-speed");
        bool anchors = !args.Contains("--no-anchors");
        int seeds = int.Parse(Option(args, "--seeds") ?? "5", Inv);
        string root = FindRoot();
        var clock = Stopwatch.StartNew();
        var report = new StringBuilder();
        report.AppendLine("# Speed report (purepg bench speed)").AppendLine();
        report.AppendLine(Inv, $"{DateTime.UtcNow:yyyy-MM-dd}, commit {Git(root)}.").AppendLine();
        report.AppendLine($"`{Gemm.MachineLine()}`").AppendLine();

        var (p256, p512) = Peak.Measure();
        bool wide = !double.IsNaN(p512);
        double peakDefault = wide ? p512 : p256;
        string torch = anchors ? Python("import torch, numpy; print(f'PyTorch {torch.__version__}, NumPy {numpy.__version__}', end='')", torch: true) ?? "" : "";
        string numpy = anchors ? Python("import numpy; print(f'NumPy {numpy.__version__}', end='')", torch: false) ?? "" : "";
        if (torch.Length > 0) torch += $" ({_torchPython})";
        report.AppendLine(Inv, $"fp32 FMA peak, one core, measured in this run (12 independent register chains): 256-bit **{p256:F1} GFLOP/s**; "
            + $"512-bit {(wide ? $"**{p512:F1} GFLOP/s**" : "n/a (AVX-512 off)")}. GEMM uses the {(wide ? "512" : "256")}-bit kernel by default here.");
        string blasLine = OpenBlas.IsAvailable ? $"{OpenBlas.Config()} (BenchmarkDotNet's baseline rows, one thread)." : "OpenBLAS not installed (recorded figures).";
        report.AppendLine(Inv, $"Anchors run in this session: {(torch.Length > 0 ? torch : numpy.Length > 0 ? numpy + " (PyTorch not installed: its figures are recorded ones)" : "none (--no-anchors or no python3; recorded figures instead)")}; {blasLine}");
        report.AppendLine("Every PurePg figure: BenchmarkDotNet (ShortRun: 3 warm-ups, 3 iterations; median), one thread. Anchor figures from this run are "
            + "medians of their own scripts' batches; \"recorded\" = shared/anchors/RESULTS.md (2026-11-22, the same machine kind), not re-run here. "
            + "Ratio = anchor time / our time (> 1: we are faster).").AppendLine();

        Console.WriteLine("speed report: BenchmarkDotNet runs (a few minutes) …");
        var measured = RunBenchmarks();
        var recorded = Recorded(root);
        Dictionary<(string Case, string Batch), double> torchRows = torch.Length > 0 ? TorchBench(root) : [];

        // GEMM
        report.AppendLine("## GEMM (C = op(A)·op(B), fp32, one thread)").AppendLine();
        report.AppendLine("| product M×K×N, orientation | ours µs | ours GFLOP/s | % of peak | OpenBLAS µs | OpenBLAS / ours | allocated |");
        report.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var m in measured.Where(m => m.Method == "Ours" && m.Type.Contains("Gemm", StringComparison.Ordinal)).OrderBy(m => Array.IndexOf(GemmShapes, m.Param)))
        {
            var shape = m.Param;
            double flops = GemmFlops(shape), gflops = flops / m.Nanoseconds;
            var blas = measured.FirstOrDefault(o => o.Method == "OpenBLAS" && o.Param == shape);
            var (blasUs, tag) = Anchor(blas?.Nanoseconds / 1000, recorded.Gemm.TryGetValue(shape, out double r) ? r : null);
            report.AppendLine(Inv, $"| {shape} | {m.Nanoseconds / 1000:F2} | {gflops:F1} | {100 * gflops / peakDefault:F0} % | {Fmt(blasUs)}{tag} | {Ratio(blasUs, m.Nanoseconds / 1000)} | {m.Allocated ?? 0} B |");
        }
        report.AppendLine();
        report.AppendLine("Per kernel width (Stopwatch, best of ≥ 5 timings after a warm-up; the 256-bit kernel forced on an AVX-512 machine as the tests do):").AppendLine();
        foreach (string line in Peak.KernelTable(p256, p512)) report.AppendLine(line);
        report.AppendLine();

        // networks
        report.AppendLine("## Networks and algorithm steps (one thread) beside PyTorch").AppendLine();
        report.AppendLine("| what | batch | ours µs | PyTorch µs | PyTorch / ours | ours allocated |");
        report.AppendLine("|---|---:|---:|---:|---:|---:|");
        (string Type, string Method, string Param, string Label, string TorchCase, string Batch)[] pairs =
        [
            ("CategoricalPolicyBenchmarks", "ForwardNoGrad", "1", "policy 4-64-64-2 tanh: forward (acting)", "a) cat 4-64-64-2: forward only, no_grad", "1"),
            ("CategoricalPolicyBenchmarks", "ForwardLogProbBackwardReplacing", "1", "policy 4-64-64-2: forward + log π + backward", "a) cat: fwd+log_prob+bwd (log_softmax+gather)", "1"),
            ("CategoricalPolicyBenchmarks", "ForwardLogProbBackwardReplacing", "64", "policy 4-64-64-2: forward + log π + backward", "a) cat: fwd+log_prob+bwd (log_softmax+gather)", "64"),
            ("CategoricalPolicyBenchmarks", "ForwardLogProbBackwardReplacing", "2048", "policy 4-64-64-2: forward + log π + backward", "a) cat: fwd+log_prob+bwd (log_softmax+gather)", "2048"),
            ("PpoEpochBenchmarks", "Epoch", "", "one PPO epoch: 32 minibatches of 64, policy + value, Adam", "c) PPO epoch: 32 mb x 64, clip surr + value MLP + Adam", "2048"),
            ("FisherBenchmarks", "FisherVectorProductWithForward", "", "F·v with its forward pass, 2,048 states, 4,610 parameters", "d) TRPO FVP (fwd + double backprop), 4610 params", "2048"),
            ("FisherBenchmarks", "ConjugateGradient10", "", "10 CG iterations on (F + λI)x = g", "d) TRPO 10 CG iterations (10 full FVPs)", "2048"),
            ("PongActingBenchmarks", "AnchorInput", "", "Pong 6400-200-1: act (forward + sample; ours incl. sampling)", "e) pong 6400-200-1: forward only, no_grad", "1"),
            ("PongBenchmarks", "ForwardBackwardReplacing", "1", "Pong 6400-200-1: forward + backward", "e) pong: fwd+bwd (policy-gradient loss)", "1"),
            ("PongBenchmarks", "ForwardBackwardReplacing", "1000", "Pong 6400-200-1: forward + backward", "e) pong: fwd+bwd (policy-gradient loss)", "1000"),
        ];
        foreach (var p in pairs)
        {
            var m = measured.FirstOrDefault(x => x.Type == p.Type && x.Method == p.Method && x.Param == p.Param);
            if (m is null) { report.AppendLine(Inv, $"| {p.Label} | {p.Batch} | failed (see BenchmarkDotNet's log) | | | |"); continue; }
            var (anchorUs, tag) = Anchor(torchRows.TryGetValue((p.TorchCase, p.Batch), out double t) ? t : null,
                recorded.Torch.TryGetValue((p.TorchCase, p.Batch), out double r) ? r : null);
            report.AppendLine(Inv, $"| {p.Label} | {p.Batch} | {m.Nanoseconds / 1000:F1} | {Fmt(anchorUs)}{tag} | {Ratio(anchorUs, m.Nanoseconds / 1000)} | {m.Allocated ?? 0} B |");
        }
        report.AppendLine();

        // vector env
        report.AppendLine("## CartPole-v1 vector environment (random actions, same-step autoreset)").AppendLine();
        report.AppendLine("| copies | ours ns per env-step | ours M steps/s | NumPy ns per env-step | NumPy / ours |");
        report.AppendLine("|---:|---:|---:|---:|---:|");
        var numpyRows = numpy.Length > 0 ? NumpyCartPole(root) : [];
        foreach (var m in measured.Where(m => m.Type == "CartPoleVectorBenchmarks" && m.Method == "StructureOfArrays").OrderBy(m => int.Parse(m.Param, Inv)))
        {
            int n = int.Parse(m.Param, Inv);
            double ns = m.Nanoseconds / n;
            var (anchorNs, tag) = Anchor(numpyRows.TryGetValue(n, out double a) ? a : null, recorded.NumpyCartPole.TryGetValue(n, out double r) ? r : null);
            report.AppendLine(Inv, $"| {n} | {ns:F1} | {1e3 / ns:F1} | {Fmt(anchorNs)}{tag} | {Ratio(anchorNs, ns)} |");
        }
        report.AppendLine();

        // end to end
        Console.WriteLine($"speed report: PPO on CartPole-v1 to 475 on {seeds} seeds, ours and PyTorch's …");
        report.AppendLine("## End to end: PPO on CartPole-v1 to 475").AppendLine();
        report.AppendLine("configs/ppo-CartPole-v1.json (the zoo's settings: 8 copies × 32 steps, 20 epochs of one minibatch of 256, lr 1e-3 annealed over "
            + "100k steps, γ 0.98, λ 0.8) on both sides; PyTorch's side is bench/anchors/ppo_cartpole_torch.py — our script (not CleanRL's), the same "
            + "settings, network and initialization, Gymnasium's CartPole equations in NumPy. Protocol on both: every 2,048 steps, 10 deterministic "
            + "episodes; stop at the first evaluation ≥ 475. \"Training s\" excludes the evaluations. One thread each. The seeds' streams differ "
            + "(PyTorch's generator vs ours), so the steps differ; seconds per 1,000 steps compares the work.").AppendLine();
        report.AppendLine("| seed | ours: steps to 475 | ours: training s | ours: ms per 1k steps | PyTorch: steps to 475 | PyTorch: training s | PyTorch: ms per 1k steps |");
        report.AppendLine("|---:|---:|---:|---:|---:|---:|---:|");
        var torchPpo = torch.Length > 0 ? TorchPpo(root, seeds) : [];
        // Warm-up (Python has nothing to compile): the tiered JIT promotes methods by time as well as by calls, so one short
        // run was not enough — seeds 0 and 1 ran at 35–48 ms per 1,000 steps, the rest at 16–17. Runs for 3 s instead.
        var warm = Stopwatch.StartNew();
        for (int k = 0; warm.Elapsed.TotalSeconds < 3; k++) OurPpo(root, seed: 1000 + k, maxSteps: 16_384);
        List<double> ourRate = [], torchRate = [], ourSeconds = [], torchSeconds = [];
        for (int seed = 0; seed < seeds; seed++)
        {
            var (steps, train) = OurPpo(root, seed);
            if (steps is not null) ourSeconds.Add(train);
            ourRate.Add(1000 * train / steps.GetValueOrDefault(100_000) * 1000);
            string theirs = "| not run (PyTorch not installed) | | |";
            if (torchPpo.TryGetValue(seed, out var tp))
            {
                torchRate.Add(1000 * tp.Train / (tp.Steps ?? 100_000) * 1000);
                if (tp.Steps is not null) torchSeconds.Add(tp.Train);
                theirs = string.Create(Inv, $"| {tp.Steps?.ToString("N0", Inv) ?? "not reached in 100k"} | {tp.Train:F2} | {torchRate[^1]:F1} |");
            }
            report.AppendLine(Inv, $"| {seed} | {steps?.ToString("N0", Inv) ?? "not reached in 100k"} | {train:F2} | {ourRate[^1]:F1} {theirs}");
        }
        if (torchRate.Count > 0)
            report.AppendLine().AppendLine(Inv, $"Median training time per 1,000 steps: ours {Median(ourRate):F1} ms, PyTorch {Median(torchRate):F1} ms — **{Median(torchRate) / Median(ourRate):F1}×**. "
                + $"Median training seconds to 475 (seeds that reached it): ours {(ourSeconds.Count > 0 ? Median(ourSeconds).ToString("F2", Inv) : "—")} ({ourSeconds.Count}/{seeds}), "
                + $"PyTorch {(torchSeconds.Count > 0 ? Median(torchSeconds).ToString("F2", Inv) : "—")} ({torchSeconds.Count}/{seeds}).");
        report.AppendLine().AppendLine(Inv, $"({clock.Elapsed.TotalMinutes:F1} min for the whole report.)");

        Directory.CreateDirectory(output);
        string file = Path.Combine(output, "report.md"), temporary = file + ".tmp";
        File.WriteAllText(temporary, report.ToString());
        File.Move(temporary, file, overwrite: true);
        Console.WriteLine();
        Console.WriteLine(report);
        Console.WriteLine($"written: {file}");
        return 0;
    }

    private static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        if (i < 0) return null;
        if (i + 1 >= args.Length) throw new ArgumentException($"{name} needs a value.");
        return args[i + 1];
    }

    /// <summary>The clone's root: the nearest directory above the working directory that holds bench/PurePg.Bench.csproj.</summary>
    private static string FindRoot()
    {
        for (var d = new DirectoryInfo(Environment.CurrentDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "bench", "PurePg.Bench.csproj"))) return d.FullName;
        throw new InvalidOperationException($"bench speed: no bench/PurePg.Bench.csproj above {Environment.CurrentDirectory}; run it inside a PurePg clone.");
    }

    private static readonly string[] GemmShapes = ["square 512x512x512 NN", "square 1024x1024x1024 NN", "fwd 2048x4x64 NT", "fwd 2048x64x64 NT",
        "dX 2048x64x64 NN", "dW 64x2048x64 TN", "fwd 64x64x64 NT", "fwd 1000x6400x200 NT", "dW 200x1000x6400 TN"];

    private static List<Measured> RunBenchmarks()
    {
        bool Keep(BenchmarkDotNet.Running.BenchmarkCase c)
        {
            string type = c.Descriptor.Type.Name, method = c.Descriptor.WorkloadMethod.Name;
            string param = c.Parameters.Items.Count == 0 ? "" : c.Parameters.Items[0].Value?.ToString() ?? "";
            return type switch
            {
                "GemmBenchmarks" or "PongGemmBenchmarks" => GemmShapes.Contains(param),
                "CategoricalPolicyBenchmarks" => method == "ForwardLogProbBackwardReplacing" || (method == "ForwardNoGrad" && param == "1"),
                "PpoEpochBenchmarks" => true,
                "FisherBenchmarks" => method is "FisherVectorProductWithForward" or "ConjugateGradient10",
                "PongActingBenchmarks" => method == "AnchorInput",
                "PongBenchmarks" => method == "ForwardBackwardReplacing",
                "CartPoleVectorBenchmarks" => method == "StructureOfArrays",
                _ => false,
            };
        }
        var config = ManualConfig.Create(DefaultConfig.Instance)
            .AddJob(Job.ShortRun)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddFilter(new SimpleFilter(Keep))
            .WithOptions(ConfigOptions.DisableLogFile);
        Type[] types = [typeof(GemmBenchmarks), typeof(PongGemmBenchmarks), typeof(CategoricalPolicyBenchmarks), typeof(PpoEpochBenchmarks),
            typeof(FisherBenchmarks), typeof(PongActingBenchmarks), typeof(PongBenchmarks), typeof(CartPoleVectorBenchmarks)];
        var rows = new List<Measured>();
        foreach (Summary summary in BenchmarkRunner.Run(types, config))
            foreach (var r in summary.Reports)
            {
                if (r.ResultStatistics is null) continue; // failed (e.g. OpenBLAS not installed)
                var c = r.BenchmarkCase;
                string param = c.Parameters.Items.Count == 0 ? "" : c.Parameters.Items[0].Value?.ToString() ?? "";
                rows.Add(new(c.Descriptor.Type.Name, c.Descriptor.WorkloadMethod.Name, param, r.ResultStatistics.Median,
                    r.GcStats.GetBytesAllocatedPerOperation(c)));
            }
        return rows;
    }

    private static double GemmFlops(string shape)
    {
        var dims = shape.Split(' ')[1].Split('x').Select(s => double.Parse(s, Inv)).ToArray();
        return 2 * dims[0] * dims[1] * dims[2];
    }

    /// <summary>The anchor's figure from this run, else its recorded one (tagged), else none.</summary>
    private static (double? Value, string Tag) Anchor(double? live, double? recorded) =>
        live is not null ? (live, "") : recorded is not null ? (recorded, " (recorded)") : (null, "");

    private static string Fmt(double? v) => v is double x ? x.ToString(x >= 100 ? "F0" : x >= 10 ? "F1" : "F2", Inv) : "—";

    private static string Ratio(double? anchor, double ours) => anchor is double a ? (a / ours).ToString("F2", Inv) + "×" : "—";

    private static double Median(List<double> x)
    {
        var s = x.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]);
    }

    private static string Git(string root)
    {
        try
        {
            var (code, text) = Exec("git", ["-C", root, "rev-parse", "--short", "HEAD"], root);
            if (code != 0) return "unknown";
            var (_, dirty) = Exec("git", ["-C", root, "status", "--porcelain", "--untracked-files=no"], root);
            return text.Trim() + (dirty.Trim().Length > 0 ? " + working-tree changes" : "");
        }
        catch (System.ComponentModel.Win32Exception) { return "unknown (no git)"; }
    }

    private static (int Code, string Output) Exec(string file, IEnumerable<string> args, string directory)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = directory };
        foreach (string a in args) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        _ = stderr.Result;
        return (p.ExitCode, output);
    }

    private static string _torchPython = "python3", _numpyPython = "python3";

    /// <summary>Runs <paramref name="code"/> under the first Python that can (Debian's /usr/bin/python3, which
    /// python3-torch and python3-numpy install into, before whatever python3 the PATH finds first), remembering it.</summary>
    private static string? Python(string code, bool torch)
    {
        foreach (string python in (string[])["/usr/bin/python3", "python3"])
        {
            try
            {
                var (exit, text) = Exec(python, ["-c", code], Environment.CurrentDirectory);
                if (exit != 0) continue;
                if (torch) _torchPython = python; else _numpyPython = python;
                return text.Trim();
            }
            catch (System.ComponentModel.Win32Exception) { } // not there
        }
        return null;
    }

    private static IEnumerable<string[]> TableRows(string text) => text.Split('\n')
        .Where(l => l.StartsWith('|') && !l.StartsWith("|---", StringComparison.Ordinal))
        .Select(l => l.Trim().Trim('|').Split('|').Select(c => c.Trim()).ToArray());

    private static double LeadingNumber(string cell) => double.Parse(cell.Split(' ')[0].Replace(",", "", StringComparison.Ordinal), Inv);

    private static Dictionary<(string, string), double> TorchBench(string root)
    {
        Console.WriteLine("speed report: shared/anchors/torch_bench.py --threads 1 (about two minutes) …");
        var (code, text) = Exec(_torchPython, [Path.Combine(root, "..", "shared", "anchors", "torch_bench.py"), "--threads", "1"], root);
        if (code != 0) { Console.WriteLine("torch_bench.py failed; recorded figures instead."); return []; }
        var rows = new Dictionary<(string, string), double>();
        foreach (var c in TableRows(text).Where(c => c.Length >= 4 && c[0] != "case"))
            rows[(c[0], c[2])] = LeadingNumber(c[3]);
        return rows;
    }

    private static Dictionary<int, double> NumpyCartPole(string root)
    {
        var (code, text) = Exec(_numpyPython, [Path.Combine(root, "bench", "anchors", "cartpole_numpy.py"), "1", "64", "1024"], root);
        if (code != 0) return [];
        return TableRows(text).Where(c => c.Length >= 5 && c[0] == "NumPy vectorized").ToDictionary(c => int.Parse(c[1], Inv), c => LeadingNumber(c[4]));
    }

    private static Dictionary<int, (long? Steps, double Train)> TorchPpo(string root, int seeds)
    {
        var (code, text) = Exec(_torchPython, [Path.Combine(root, "bench", "anchors", "ppo_cartpole_torch.py"), "--threads", "1", "--seeds",
            .. Enumerable.Range(0, seeds).Select(s => s.ToString(Inv))], root);
        if (code != 0) { Console.WriteLine("ppo_cartpole_torch.py failed."); return []; }
        return TableRows(text).Where(c => c.Length >= 4 && c[0] != "seed").ToDictionary(c => int.Parse(c[0], Inv),
            c => (c[1] == "not reached" ? (long?)null : long.Parse(c[1], Inv), double.Parse(c[2], Inv)));
    }

    /// <summary>Our side of the end-to-end row: the committed config, evaluated as the PyTorch script does.</summary>
    private static (long? Steps, double Train) OurPpo(string root, int seed, long maxSteps = 100_000)
    {
        var entries = SettingsBinder.FromJson(JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "configs", "ppo-CartPole-v1.json"))).RootElement)
            .Where(kv => kv.Key is not ("TotalTimesteps" or "NumEnvs")).ToList();
        var (ppo, _) = AlgorithmCatalog.Create("ppo", "CartPole-v1", 8, seed, 100_000, entries, normalize: false);
        var train = new Stopwatch();
        long nextEval = 2048;
        int k = 0;
        while (ppo.TotalSteps < maxSteps)
        {
            train.Start();
            ppo.Iterate();
            train.Stop();
            if (ppo.TotalSteps < nextEval) continue;
            nextEval += 2048;
            var policy = TrainedPolicy.From(ppo, "CartPole-v1");
            long evalSeed = 1_000_000 + 1000L * seed + k++;
            policy.Reseed((ulong)evalSeed);
            if (Evaluation.Evaluate(policy, EnvRegistry.Make("CartPole-v1"), 10, deterministic: true, evalSeed).Mean >= 475)
                return (ppo.TotalSteps, train.Elapsed.TotalSeconds);
        }
        return (null, train.Elapsed.TotalSeconds);
    }

    private sealed record RecordedFigures(Dictionary<string, double> Gemm, Dictionary<(string, string), double> Torch, Dictionary<int, double> NumpyCartPole);

    /// <summary>The anchors' recorded figures in shared/anchors/RESULTS.md: OpenBLAS sgemm µs (1 thread), PyTorch µs per
    /// call (1 thread, default malloc), vectorized NumPy CartPole ns per env-step.</summary>
    private static RecordedFigures Recorded(string root)
    {
        string file = Path.Combine(root, "..", "shared", "anchors", "RESULTS.md");
        var figures = new RecordedFigures([], [], []);
        if (!File.Exists(file)) return figures;
        foreach (var c in TableRows(File.ReadAllText(file)))
        {
            try
            {
                if (c.Length >= 10 && c[1] == "sgemm")
                {
                    string kind = c[0].StartsWith("square", StringComparison.Ordinal) ? "square" : c[0].Contains("fwd") ? "fwd" : c[0].Contains("dX") ? "dX" : c[0].Contains("dW") ? "dW" : "mlp";
                    figures.Gemm[$"{kind} {c[3]}x{c[4]}x{c[5]} {c[2]}"] = LeadingNumber(c[8]);
                }
                else if (c.Length == 7 && c[1] is "1" or "64" or "1000" or "2048" && c[0].Length > 2 && c[0][1] == ')')
                    figures.Torch[(c[0], c[1])] = LeadingNumber(c[2]);
                else if (c.Length == 5 && c[0].StartsWith("(ii) vectorized numpy", StringComparison.Ordinal))
                    figures.NumpyCartPole[int.Parse(c[1], Inv)] = LeadingNumber(c[4]);
            }
            catch (FormatException) { } // a prose row of the same width
        }
        return figures;
    }
}
