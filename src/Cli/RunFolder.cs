using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PurePg.Cli;

/// <summary>
/// A run folder (shared/DESIGN.md): config.json (every effective setting, the seed, the library version, the planned
/// steps and where the run was resumed), metrics.csv (one row per iteration), checkpoints/ (atomic, checksummed:
/// step-N.ckpt, the newest <c>--keep</c> of them, and best.ckpt, the best evaluation so far), eval.json (the final
/// evaluation) and curve.svg (return against steps).
/// </summary>
internal sealed class RunFolder
{
    /// <summary>The file whose exclusive creation claims a folder for one run.</summary>
    private const string ClaimFile = ".purepg-run";

    public RunFolder(string path) => Path = path;

    public string Path { get; }
    public string ConfigPath => System.IO.Path.Combine(Path, "config.json");
    public string MetricsPath => System.IO.Path.Combine(Path, "metrics.csv");
    public string CurvePath => System.IO.Path.Combine(Path, "curve.svg");
    public string EvaluationPath => System.IO.Path.Combine(Path, "eval.json");
    public string CheckpointDirectory => System.IO.Path.Combine(Path, "checkpoints");
    public string BestCheckpointPath => System.IO.Path.Combine(CheckpointDirectory, "best.ckpt");

    public static string Version => typeof(RunFolder).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>
    /// Makes a new run folder <c>parent/name</c>, or <c>parent/name-2</c>, <c>-3</c>, … when that one is taken. A folder is
    /// taken once a run has created its claim file in it; the claim is an exclusive create (O_EXCL), so of any number of
    /// processes racing for one name exactly one gets it and the others move on to the next suffix.
    /// </summary>
    public static RunFolder CreateUnique(string parent, string name)
    {
        for (int suffix = 1; ; suffix++)
        {
            string path = System.IO.Path.Combine(parent, suffix == 1 ? name : $"{name}-{suffix}");
            try
            {
                Directory.CreateDirectory(path);
                using (new FileStream(System.IO.Path.Combine(path, ClaimFile), FileMode.CreateNew, FileAccess.Write)) { }
                return new RunFolder(path);
            }
            catch (IOException) when (File.Exists(System.IO.Path.Combine(path, ClaimFile)))
            {
                // another run has this one
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"Cannot create the run folder {path}: {e.Message}");
            }
        }
    }

    /// <summary>Writes <paramref name="text"/> to <paramref name="path"/> atomically: a temporary file beside it, flushed, renamed over it.</summary>
    public static void WriteAtomically(string path, string text) => PurePg.Rl.Training.AtomicFile.Write(path, Encoding.UTF8.GetBytes(text));

    public void WriteConfig(JsonObject config) => WriteAtomically(ConfigPath, config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

    public JsonObject ReadConfig()
    {
        if (!File.Exists(ConfigPath)) throw new UsageException($"{Path} is not a run folder: it has no config.json.");
        try { return JsonNode.Parse(File.ReadAllText(ConfigPath))!.AsObject(); }
        catch (Exception e) when (e is JsonException or InvalidOperationException) { throw new UsageException($"{ConfigPath} is not a valid run configuration: {OneLine(e.Message)}"); }
    }

    public void WriteEvaluation(JsonObject evaluation) => WriteAtomically(EvaluationPath, evaluation.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

    /// <summary>Step checkpoint files, newest (most steps) first.</summary>
    public IEnumerable<(long Steps, string File)> Checkpoints() =>
        !Directory.Exists(CheckpointDirectory) ? []
        : Directory.GetFiles(CheckpointDirectory, "step-*.ckpt")
            .Select(f => (Name: System.IO.Path.GetFileNameWithoutExtension(f), File: f))
            .Where(c => long.TryParse(c.Name.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out _))
            .Select(c => (Steps: long.Parse(c.Name.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture), c.File))
            .OrderByDescending(c => c.Steps);

    public string CheckpointPath(long steps) => System.IO.Path.Combine(CheckpointDirectory, $"step-{steps:D10}.ckpt");

    /// <summary>Keeps the newest <paramref name="keep"/> step checkpoints (best.ckpt is separate and always kept).</summary>
    public void Prune(int keep)
    {
        foreach (var (_, file) in Checkpoints().Skip(keep)) File.Delete(file);
    }

    /// <summary>Keeps only the metrics rows up to <paramref name="steps"/> (a resume continues from there), atomically.</summary>
    public void TruncateMetrics(long steps)
    {
        if (!File.Exists(MetricsPath)) return;
        var lines = File.ReadAllLines(MetricsPath);
        var kept = lines.Take(1).Concat(lines.Skip(1).Where(l => long.TryParse(l.Split(',')[0], CultureInfo.InvariantCulture, out long s) && s <= steps));
        WriteAtomically(MetricsPath, string.Concat(kept.Select(l => l + "\n")));
    }

    /// <summary>metrics.csv as columns by name (values parsed; empty cells are NaN).</summary>
    public Dictionary<string, double[]> ReadMetrics()
    {
        if (!File.Exists(MetricsPath)) return new();
        var lines = File.ReadAllLines(MetricsPath);
        if (lines.Length == 0) return new();
        var names = lines[0].Split(',');
        var rows = lines.Skip(1).Select(l => l.Split(',')).Where(c => c.Length == names.Length).ToArray();
        return names.Select((name, k) => (name, values: rows.Select(r => double.TryParse(r[k], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : double.NaN).ToArray()))
            .ToDictionary(c => c.name, c => c.values);
    }

    /// <summary>The first line of a message, without .NET's "(Parameter 'x')" suffix.</summary>
    public static string OneLine(string message)
    {
        string line = message.Split('\n')[0].Trim();
        int parameter = line.LastIndexOf(" (Parameter '", StringComparison.Ordinal);
        return parameter > 0 && line.EndsWith("')", StringComparison.Ordinal) ? line[..parameter] : line;
    }
}
