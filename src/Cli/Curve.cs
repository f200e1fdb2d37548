using System.Globalization;
using System.Security;
using System.Text;

namespace PurePg.Cli;

/// <summary>
/// curve.svg: the rolling mean return of the last 100 episodes (bold) over each iteration's mean return (faint), the
/// evaluations during training when there are any, the environment's threshold, and a dashed line where the run was
/// resumed; axes with 1-2-5 ticks that contain everything drawn, and a legend outside the plot area.
/// </summary>
internal static class Curve
{
    private const double Width = 760, Height = 460, Left = 72, Right = 28, Top = 44, Bottom = 112;
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static void Write(RunFolder run, string title, double? threshold, IReadOnlyList<long> resumes)
    {
        var m = run.ReadMetrics();
        if (!m.TryGetValue("steps", out var steps)) return;
        var raw = Points(steps, m.GetValueOrDefault("iter_return_mean"));
        var rolling = Points(steps, m.GetValueOrDefault("ep_return_mean"));
        var eval = Points(steps, m.GetValueOrDefault("eval_return_mean"));
        double maxX = steps.Length > 0 ? steps.Max() : 1;
        var ys = raw.Concat(rolling).Concat(eval).Select(p => p.Y).Concat(threshold is double t ? [t] : []).ToList();
        double lo = ys.Count > 0 ? ys.Min() : 0, hi = ys.Count > 0 ? ys.Max() : 1;
        var (yTicks, yStep) = Ticks(lo, hi);
        // y: from a tick at or below the data to one at or above; x: the steps the run took, ticks within them
        var (xAll, xStep) = Ticks(0, Math.Max(1, maxX));
        var xTicks = xAll.Where(v => v <= Math.Max(1, maxX)).ToArray();
        double x0 = 0, x1 = Math.Max(1, maxX), y0 = yTicks[0], y1 = yTicks[^1];
        double X(double x) => Left + (x - x0) / (x1 - x0) * (Width - Left - Right);
        double Y(double y) => Top + (y1 - y) / (y1 - y0) * (Height - Top - Bottom);
        string F(double v) => v.ToString("0.#", Inv);

        var svg = new StringBuilder();
        svg.AppendLine($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\" font-size=\"12\">");
        svg.AppendLine($"<rect width=\"{Width}\" height=\"{Height}\" fill=\"white\"/>");
        svg.AppendLine($"<text x=\"{Width / 2}\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">{SecurityElement.Escape(title)}</text>");
        foreach (double v in yTicks)
        {
            svg.AppendLine($"<line x1=\"{Left}\" y1=\"{F(Y(v))}\" x2=\"{Width - Right}\" y2=\"{F(Y(v))}\" stroke=\"#e6e6e6\"/>");
            svg.AppendLine($"<text x=\"{Left - 6}\" y=\"{F(Y(v))}\" text-anchor=\"end\" dominant-baseline=\"middle\">{Label(v, yStep)}</text>");
        }
        foreach (double v in xTicks)
        {
            svg.AppendLine($"<line x1=\"{F(X(v))}\" y1=\"{Height - Bottom}\" x2=\"{F(X(v))}\" y2=\"{Height - Bottom + 5}\" stroke=\"black\"/>");
            svg.AppendLine($"<text x=\"{F(X(v))}\" y=\"{Height - Bottom + 19}\" text-anchor=\"middle\">{Label(v, xStep)}</text>");
        }
        svg.AppendLine($"<rect x=\"{Left}\" y=\"{Top}\" width=\"{Width - Left - Right}\" height=\"{Height - Top - Bottom}\" fill=\"none\" stroke=\"black\"/>");
        svg.AppendLine($"<text x=\"{(Left + Width - Right) / 2}\" y=\"{Height - Bottom + 40}\" text-anchor=\"middle\">environment steps</text>");
        double mid = (Top + Height - Bottom) / 2;
        svg.AppendLine($"<text x=\"18\" y=\"{mid}\" text-anchor=\"middle\" transform=\"rotate(-90 18 {mid})\">episode return</text>");

        var legend = new List<(string Swatch, string Text)>();
        foreach (long r in resumes.Where(r => r > 0 && r <= x1))
            svg.AppendLine($"<line x1=\"{F(X(r))}\" y1=\"{Top}\" x2=\"{F(X(r))}\" y2=\"{Height - Bottom}\" stroke=\"#7f7f7f\" stroke-dasharray=\"2 3\"/>");
        if (resumes.Any(r => r > 0)) legend.Add(("<line x1=\"0\" y1=\"0\" x2=\"22\" y2=\"0\" stroke=\"#7f7f7f\" stroke-dasharray=\"2 3\"/>", "resumed"));
        if (threshold is double th)
        {
            svg.AppendLine($"<line x1=\"{Left}\" y1=\"{F(Y(th))}\" x2=\"{Width - Right}\" y2=\"{F(Y(th))}\" stroke=\"#d62728\" stroke-dasharray=\"6 4\"/>");
            legend.Add(("<line x1=\"0\" y1=\"0\" x2=\"22\" y2=\"0\" stroke=\"#d62728\" stroke-dasharray=\"6 4\"/>", $"threshold {th.ToString(Inv)}"));
        }
        if (raw.Count > 0)
        {
            svg.AppendLine(Polyline(raw, X, Y, "#1f77b4", 1, 0.3));
            legend.Add(("<line x1=\"0\" y1=\"0\" x2=\"22\" y2=\"0\" stroke=\"#1f77b4\" stroke-opacity=\"0.3\"/>", "iteration mean"));
        }
        if (rolling.Count > 0)
        {
            svg.AppendLine(Polyline(rolling, X, Y, "#1f77b4", 2.2, 1));
            legend.Add(("<line x1=\"0\" y1=\"0\" x2=\"22\" y2=\"0\" stroke=\"#1f77b4\" stroke-width=\"2.2\"/>", "mean of last 100 episodes"));
        }
        if (eval.Count > 0)
        {
            svg.AppendLine(Polyline(eval, X, Y, "#ff7f0e", 1.5, 1));
            foreach (var p in eval) svg.AppendLine($"<circle cx=\"{F(X(p.X))}\" cy=\"{F(Y(p.Y))}\" r=\"3\" fill=\"#ff7f0e\"/>");
            legend.Add(("<line x1=\"0\" y1=\"0\" x2=\"22\" y2=\"0\" stroke=\"#ff7f0e\" stroke-width=\"1.5\"/><circle cx=\"11\" cy=\"0\" r=\"3\" fill=\"#ff7f0e\"/>", "evaluation (deterministic)"));
        }
        // the legend in rows below the axis title, wrapped before an entry would pass the right edge (≤ 7 px a character)
        double lx = Left, ly = Height - Bottom + 62;
        foreach (var (swatch, text) in legend)
        {
            double width = 44 + 7 * text.Length;
            if (lx > Left && lx + width > Width - Right) (lx, ly) = (Left, ly + 20);
            svg.AppendLine($"<g transform=\"translate({F(lx)} {F(ly)})\">{swatch}<text x=\"28\" y=\"0\" dominant-baseline=\"middle\">{SecurityElement.Escape(text)}</text></g>");
            lx += width;
        }
        svg.AppendLine("</svg>");
        RunFolder.WriteAtomically(run.CurvePath, svg.ToString());
    }

    private static List<(double X, double Y)> Points(double[] steps, double[]? values) =>
        values is null ? [] : steps.Zip(values).Where(p => double.IsFinite(p.Second)).Select(p => (p.First, p.Second)).ToList();

    private static string Polyline(List<(double X, double Y)> points, Func<double, double> x, Func<double, double> y, string colour, double width, double opacity) =>
        $"<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"{width.ToString(Inv)}\" stroke-opacity=\"{opacity.ToString(Inv)}\" stroke-linejoin=\"round\" points=\"" +
        string.Join(" ", points.Select(p => $"{x(p.X).ToString("0.#", Inv)},{y(p.Y).ToString("0.#", Inv)}")) + "\"/>";

    /// <summary>Ticks at multiples of a 1-2-5 step (1, 2, 5, 10, 20, …) from at or below <paramref name="lo"/> to at or
    /// above <paramref name="hi"/>, about five intervals.</summary>
    internal static (double[] Ticks, double Step) Ticks(double lo, double hi)
    {
        if (!(hi > lo)) (lo, hi) = (lo - 1, hi + 1);
        double rough = (hi - lo) / 5, magnitude = Math.Pow(10, Math.Floor(Math.Log10(rough)));
        double step = new[] { 1.0, 2, 5, 10 }.Select(f => f * magnitude).First(s => s >= rough * 0.999);
        double first = Math.Floor(lo / step + 1e-9) * step, last = Math.Ceiling(hi / step - 1e-9) * step;
        int count = (int)Math.Round((last - first) / step) + 1, decimals = Math.Clamp((int)-Math.Floor(Math.Log10(step)), 0, 15);
        return (Enumerable.Range(0, count).Select(k => Math.Round(first + k * step, decimals)).ToArray(), step);
    }

    /// <summary>A tick label: 20k, 1.5M for large numbers, otherwise as many decimals as the step needs.</summary>
    internal static string Label(double v, double step)
    {
        if (v == 0) return "0";
        if (Math.Abs(v) >= 1e6 && step >= 1e5) return (v / 1e6).ToString("0.#", Inv) + "M";
        if (Math.Abs(v) >= 1e4 && step >= 1e3) return (v / 1e3).ToString("0.#", Inv) + "k";
        int decimals = Math.Max(0, (int)-Math.Floor(Math.Log10(step) + 1e-9));
        return v.ToString("F" + decimals, Inv);
    }
}
