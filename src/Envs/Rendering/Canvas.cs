namespace PurePg.Envs.Rendering;

/// <summary>The colours a <see cref="Canvas"/> paints with: index into <see cref="Canvas.Palette"/>.</summary>
public enum Colour : byte
{
    /// <summary>White (255, 255, 255).</summary>
    White,
    /// <summary>Black (0, 0, 0).</summary>
    Black,
    /// <summary>Gymnasium's pole and link colour (202, 152, 101).</summary>
    Pole,
    /// <summary>Gymnasium's axle and joint colour (129, 132, 203).</summary>
    Axle,
    /// <summary>Atari Pong's field (144, 72, 17).</summary>
    PongField,
    /// <summary>Atari Pong's opponent paddle (213, 130, 74).</summary>
    PongOpponent,
    /// <summary>Atari Pong's player paddle (92, 186, 92).</summary>
    PongPlayer,
    /// <summary>Atari Pong's walls and ball (236, 236, 236).</summary>
    PongWhite,
    /// <summary>A light grey (200, 200, 200) for scores and guides.</summary>
    LightGrey,
    /// <summary>A red (204, 77, 77), e.g. a pendulum's rod.</summary>
    Red,
    /// <summary>A green (0, 140, 0), e.g. a goal flag.</summary>
    Green,
    /// <summary>A yellow (204, 204, 0), e.g. a flag's cloth.</summary>
    Yellow,
}

/// <summary>
/// An image of palette indices (<see cref="Colour"/>), row-major, top row first, with the few drawing operations the
/// environments' 2-D pictures need: filled axis-aligned and rotated rectangles, thick lines, filled circles and polylines.
/// Coordinates are pixels with y downward; shapes are filled where a pixel's centre lies inside.
/// </summary>
public sealed class Canvas
{
    /// <summary>The RGB triple of each <see cref="Colour"/>, in order.</summary>
    public static ReadOnlySpan<byte> Palette =>
    [
        255, 255, 255, 0, 0, 0, 202, 152, 101, 129, 132, 203, 144, 72, 17, 213, 130, 74, 92, 186, 92, 236, 236, 236,
        200, 200, 200, 204, 77, 77, 0, 140, 0, 204, 204, 0,
    ];

    /// <summary>Colours in the palette.</summary>
    public static int PaletteSize => Palette.Length / 3;

    /// <summary>An image of the given size filled with <paramref name="background"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A side is not positive.</exception>
    public Canvas(int width, int height, Colour background = Colour.White)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        (Width, Height) = (width, height);
        Pixels = new byte[width * height];
        Clear(background);
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>The palette indices, row-major.</summary>
    public byte[] Pixels { get; }

    /// <summary>Fills the whole image.</summary>
    public void Clear(Colour colour) => Pixels.AsSpan().Fill((byte)colour);

    /// <summary>Fills the pixels [x0, x1) × [y0, y1) (clipped to the image).</summary>
    public void FillRectangle(int x0, int y0, int x1, int y1, Colour colour)
    {
        x0 = Math.Max(x0, 0); y0 = Math.Max(y0, 0); x1 = Math.Min(x1, Width); y1 = Math.Min(y1, Height);
        for (int y = y0; y < y1; y++)
            if (x1 > x0) Pixels.AsSpan(y * Width + x0, x1 - x0).Fill((byte)colour);
    }

    /// <summary>Fills the convex polygon with the given corners (in order, either orientation).</summary>
    public void FillConvex(ReadOnlySpan<(double X, double Y)> corners, Colour colour)
    {
        if (corners.Length < 3) return;
        double minX = double.MaxValue, minY = double.MaxValue, maxX = double.MinValue, maxY = double.MinValue;
        foreach (var (x, y) in corners) { minX = Math.Min(minX, x); maxX = Math.Max(maxX, x); minY = Math.Min(minY, y); maxY = Math.Max(maxY, y); }
        int x0 = Math.Max((int)Math.Floor(minX), 0), x1 = Math.Min((int)Math.Ceiling(maxX), Width - 1);
        int y0 = Math.Max((int)Math.Floor(minY), 0), y1 = Math.Min((int)Math.Ceiling(maxY), Height - 1);
        for (int py = y0; py <= y1; py++)
        for (int px = x0; px <= x1; px++)
        {
            double cx = px + 0.5, cy = py + 0.5;
            int sign = 0;
            bool inside = true;
            for (int e = 0; e < corners.Length && inside; e++)
            {
                var (ax, ay) = corners[e];
                var (bx, by) = corners[(e + 1) % corners.Length];
                double cross = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
                int s = cross > 0 ? 1 : cross < 0 ? -1 : 0;
                if (s == 0) continue;
                if (sign == 0) sign = s;
                else if (s != sign) inside = false;
            }
            if (inside) Pixels[py * Width + px] = (byte)colour;
        }
    }

    /// <summary>A line of the given thickness from (x0, y0) to (x1, y1), as a filled rectangle along it.</summary>
    public void Line(double x0, double y0, double x1, double y1, double thickness, Colour colour)
    {
        double dx = x1 - x0, dy = y1 - y0, length = Math.Sqrt(dx * dx + dy * dy);
        if (length == 0) { FillCircle(x0, y0, thickness / 2, colour); return; }
        double nx = -dy / length * thickness / 2, ny = dx / length * thickness / 2;
        FillConvex([(x0 + nx, y0 + ny), (x1 + nx, y1 + ny), (x1 - nx, y1 - ny), (x0 - nx, y0 - ny)], colour);
    }

    /// <summary>A filled circle of radius <paramref name="radius"/> around (cx, cy).</summary>
    public void FillCircle(double cx, double cy, double radius, Colour colour)
    {
        int x0 = Math.Max((int)Math.Floor(cx - radius), 0), x1 = Math.Min((int)Math.Ceiling(cx + radius), Width - 1);
        int y0 = Math.Max((int)Math.Floor(cy - radius), 0), y1 = Math.Min((int)Math.Ceiling(cy + radius), Height - 1);
        for (int py = y0; py <= y1; py++)
        for (int px = x0; px <= x1; px++)
        {
            double dx = px + 0.5 - cx, dy = py + 0.5 - cy;
            if (dx * dx + dy * dy <= radius * radius) Pixels[py * Width + px] = (byte)colour;
        }
    }

    /// <summary>Consecutive points joined by lines of the given thickness.</summary>
    public void Polyline(ReadOnlySpan<(double X, double Y)> points, double thickness, Colour colour)
    {
        for (int i = 0; i + 1 < points.Length; i++) Line(points[i].X, points[i].Y, points[i + 1].X, points[i + 1].Y, thickness, colour);
    }
}
