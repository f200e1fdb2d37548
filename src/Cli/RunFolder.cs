using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PurePg.Cli;

/// <summary>
/// A run folder (shared/DESIGN.md): config.json (every effective setting, the seed, the library version),
/// metrics.csv (one row per iteration), checkpoints/ (atomic, checksummed) and curve.svg (return against steps).
/// </summary>
internal sealed class RunFolder
{
    public RunFolder(string path) => Path = path;

    public string Path { get; }
    public string ConfigPath => System.IO.Path.Combine(Path, "config.json");
    public string MetricsPath => System.IO.Path.Combine(Path, "metrics.csv");
    public string CurvePath => System.IO.Path.Combine(Path, "curve.svg");
    public string CheckpointDirectory => System.IO.Path.Combine(Path, "checkpoints");

    public static string Version => typeof(RunFolder).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    public void WriteConfig(JsonObject config)
    {
        string text = config.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        File.WriteAllText(ConfigPath + ".tmp", text);
        File.Move(ConfigPath + ".tmp", ConfigPath, overwrite: true);
    }

    public JsonObject ReadConfig()
    {
        if (!File.Exists(ConfigPath)) throw new UsageException($"{Path} is not a run folder: it has no config.json.");
        try { return JsonNode.Parse(File.ReadAllText(ConfigPath))!.AsObject(); }
        catch (JsonException e) { throw new UsageException($"{ConfigPath} is not valid JSON: {e.Message}"); }
    }

    /// <summary>Checkpoint files, newest (most steps) first.</summary>
    public IEnumerable<(long Steps, string File)> Checkpoints() =>
        !Directory.Exists(CheckpointDirectory) ? []
        : Directory.GetFiles(CheckpointDirectory, "step-*.ckpt")
            .Select(f => (Steps: long.Parse(System.IO.Path.GetFileNameWithoutExtension(f)[5..], CultureInfo.InvariantCulture), File: f))
            .OrderByDescending(c => c.Steps);

    public string CheckpointPath(long steps) => System.IO.Path.Combine(CheckpointDirectory, $"step-{steps:D10}.ckpt");

    /// <summary>Keeps the newest <paramref name="keep"/> checkpoints.</summary>
    public void Prune(int keep)
    {
        foreach (var (_, file) in Checkpoints().Skip(keep)) File.Delete(file);
    }

    /// <summary>Keeps only the metrics rows up to <paramref name="steps"/> (a resume continues from there).</summary>
    public void TruncateMetrics(long steps)
    {
        if (!File.Exists(MetricsPath)) return;
        var lines = File.ReadAllLines(MetricsPath);
        var kept = lines.Take(1).Concat(lines.Skip(1).Where(l => long.Parse(l.Split(',')[0], CultureInfo.InvariantCulture) <= steps));
        File.WriteAllLines(MetricsPath, kept);
    }

    /// <summary>Draws return against steps as an SVG polyline with the threshold as a dashed line.</summary>
    public void WriteCurve(string title, double? threshold)
    {
        if (!File.Exists(MetricsPath)) return;
        var rows = File.ReadAllLines(MetricsPath).Skip(1).Select(l => l.Split(','))
            .Select(c => (Steps: double.Parse(c[0], CultureInfo.InvariantCulture), Return: double.Parse(c[2], CultureInfo.InvariantCulture)))
            .Where(r => double.IsFinite(r.Return)).ToList();
        const double w = 720, h = 400, left = 70, right = 20, top = 40, bottom = 50;
        double maxX = Math.Max(1, rows.Count > 0 ? rows.Max(r => r.Steps) : 1);
        var ys = rows.Select(r => r.Return).Concat(threshold is double t ? [t] : []).ToList();
        double minY = ys.Count > 0 ? ys.Min() : 0, maxY = ys.Count > 0 ? ys.Max() : 1;
        if (maxY - minY < 1e-9) { minY -= 1; maxY += 1; }
        double pad = 0.05 * (maxY - minY);
        minY -= pad; maxY += pad;
        string X(double x) => (left + x / maxX * (w - left - right)).ToString("F1", CultureInfo.InvariantCulture);
        string Y(double y) => (top + (maxY - y) / (maxY - minY) * (h - top - bottom)).ToString("F1", CultureInfo.InvariantCulture);
        var svg = new StringBuilder();
        svg.AppendLine($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">");
        svg.AppendLine($"<rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>");
        svg.AppendLine($"<text x=\"{w / 2}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{System.Security.SecurityElement.Escape(title)}</text>");
        svg.AppendLine($"<line x1=\"{left}\" y1=\"{h - bottom}\" x2=\"{w - right}\" y2=\"{h - bottom}\" stroke=\"black\"/>");
        svg.AppendLine($"<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{h - bottom}\" stroke=\"black\"/>");
        for (int k = 0; k <= 4; k++)
        {
            double xv = maxX * k / 4, yv = minY + (maxY - minY) * k / 4;
            svg.AppendLine($"<text x=\"{X(xv)}\" y=\"{h - bottom + 18}\" text-anchor=\"middle\">{xv.ToString("N0", CultureInfo.InvariantCulture)}</text>");
            svg.AppendLine($"<text x=\"{left - 6}\" y=\"{Y(yv)}\" text-anchor=\"end\" dominant-baseline=\"middle\">{yv.ToString("G4", CultureInfo.InvariantCulture)}</text>");
        }
        svg.AppendLine($"<text x=\"{(left + w - right) / 2}\" y=\"{h - 10}\" text-anchor=\"middle\">environment steps</text>");
        svg.AppendLine($"<text x=\"16\" y=\"{(top + h - bottom) / 2}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {(top + h - bottom) / 2})\">mean episode return</text>");
        if (threshold is double th)
            svg.AppendLine($"<line x1=\"{left}\" y1=\"{Y(th)}\" x2=\"{w - right}\" y2=\"{Y(th)}\" stroke=\"#d62728\" stroke-dasharray=\"6 4\"/><text x=\"{w - right}\" y=\"{double.Parse(Y(th), CultureInfo.InvariantCulture) - 6}\" text-anchor=\"end\" fill=\"#d62728\">threshold {th}</text>");
        if (rows.Count > 0)
            svg.AppendLine($"<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"{string.Join(" ", rows.Select(r => $"{X(r.Steps)},{Y(r.Return)}"))}\"/>");
        svg.AppendLine("</svg>");
        File.WriteAllText(CurvePath, svg.ToString());
    }
}
