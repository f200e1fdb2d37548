using System.Globalization;
using System.Text;

namespace PurePg.Bench;

/// <summary>
/// Learning curves written by <c>learn … curves.csv</c> as one SVG with two panels: the evaluation return against
/// environment steps (log scale) and against training seconds (log scale), one thin line per seed, one colour per
/// algorithm. Run: dotnet run -c Release --project bench -- plot-curves out.svg curves.csv [title]
/// </summary>
public static class CurvePlot
{
    sealed record Point(string Algo, int Seed, double Steps, double Seconds, double Return);

    public static void Run(string[] args)
    {
        string output = args[1], input = args[2];
        string title = args.Length > 3 ? args[3] : "evaluation return";
        var points = File.ReadLines(input).Skip(1).Where(l => l.Length > 0).Select(l => l.Split(',')).Select(f =>
            new Point(f[0], int.Parse(f[2], CultureInfo.InvariantCulture), double.Parse(f[3], CultureInfo.InvariantCulture),
                double.Parse(f[4], CultureInfo.InvariantCulture), double.Parse(f[5], CultureInfo.InvariantCulture))).ToList();
        if (points.Count == 0) throw new InvalidDataException($"{input} has no curve points.");
        var algos = points.Select(p => p.Algo).Distinct().ToArray();
        string[] colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"];
        const int panel = 420, height = 390, top = 60, bottom = 50, left = 60, gap = 80;
        int width = left + 2 * panel + gap + 20;
        double yMin = Math.Min(0, points.Min(p => p.Return)), yMax = points.Max(p => p.Return);
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">");
        sb.AppendLine(inv, $"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/><text x=\"{left}\" y=\"22\" font-size=\"14\">{title}</text>");
        for (int a = 0, x = left; a < algos.Length; x += Math.Max(90, 35 + 7 * algos[a].Length), a++) // entries as wide as their names
            sb.AppendLine(inv, $"<line x1=\"{x}\" x2=\"{x + 20}\" y1=\"40\" y2=\"40\" stroke=\"{colors[a % colors.Length]}\" stroke-width=\"2\"/><text x=\"{x + 25}\" y=\"44\">{algos[a]}</text>");
        foreach (var (index, axis, name) in new[] { (0, (Func<Point, double>)(p => p.Steps), "environment steps (log scale)"), (1, p => p.Seconds, "training seconds (log scale)") })
        {
            int x0 = left + index * (panel + gap);
            var xs = points.Select(axis).Where(v => v > 0).ToArray();
            double lo = Math.Floor(Math.Log10(xs.Min())), hi = Math.Ceiling(Math.Log10(xs.Max()));
            double X(double v) => x0 + (Math.Log10(Math.Max(v, Math.Pow(10, lo))) - lo) / (hi - lo) * panel;
            double Y(double r) => top + (yMax - r) / (yMax - yMin) * (height - top - bottom);
            sb.AppendLine(inv, $"<rect x=\"{x0}\" y=\"{top}\" width=\"{panel}\" height=\"{height - top - bottom}\" fill=\"none\" stroke=\"#ccc\"/>");
            for (double d = lo; d <= hi; d++)
                sb.AppendLine(inv, $"<line x1=\"{X(Math.Pow(10, d)):F1}\" x2=\"{X(Math.Pow(10, d)):F1}\" y1=\"{top}\" y2=\"{height - bottom}\" stroke=\"#eee\"/><text x=\"{X(Math.Pow(10, d)):F1}\" y=\"{height - bottom + 16}\" text-anchor=\"middle\">{Math.Pow(10, d):G}</text>");
            for (int k = 0; k <= 4; k++)
            {
                double r = yMin + k * (yMax - yMin) / 4;
                sb.AppendLine(inv, $"<text x=\"{x0 - 6}\" y=\"{Y(r) + 4:F1}\" text-anchor=\"end\">{r:F0}</text>");
            }
            sb.AppendLine(inv, $"<text x=\"{x0 + panel / 2}\" y=\"{height - 12}\" text-anchor=\"middle\">{name}</text>");
            foreach (var group in points.GroupBy(p => (p.Algo, p.Seed)))
            {
                string color = colors[Array.IndexOf(algos, group.Key.Algo) % colors.Length];
                var pts = group.OrderBy(axis).Select(p => $"{X(axis(p)):F1},{Y(p.Return):F1}");
                sb.AppendLine(inv, $"<polyline fill=\"none\" stroke=\"{color}\" stroke-opacity=\"0.7\" stroke-width=\"1.3\" points=\"{string.Join(' ', pts)}\"/>");
            }
        }
        sb.AppendLine("</svg>");
        File.WriteAllText(output, sb.ToString());
        Console.WriteLine($"{output}: {points.Count} points, {algos.Length} algorithms");
    }
}
