using PurePg.Envs.ClassicControl;

namespace PurePg.Envs.Rendering;

/// <summary>
/// Pictures of environments' current states, in the manner of Gymnasium's <c>render_mode="rgb_array"</c> frames (the same
/// geometry, drawn at half Gymnasium's size for the classic-control tasks): CartPole, Acrobot, MountainCar (both),
/// Pendulum and Pong (its own 160 × 210 frame in Atari's colours). Reads the state through <see cref="Env.GetState"/>.
/// </summary>
public static class EnvRenderer
{
    /// <summary>Whether <paramref name="env"/> has a picture here.</summary>
    public static bool CanRender(Env env) => env is CartPole or Acrobot or MountainCar or MountainCarContinuous or Pendulum or Pong.Pong;

    /// <summary>A canvas of the size <paramref name="env"/>'s pictures have.</summary>
    /// <exception cref="NotSupportedException">No picture for this environment (named).</exception>
    public static Canvas NewCanvas(Env env)
    {
        var (width, height) = CanvasSize(env);
        return new Canvas(width, height, env is Pong.Pong ? Colour.PongField : Colour.White);
    }

    static NotSupportedException NotSupported(Env env) =>
        new($"No picture for {(env.Id.Length > 0 ? env.Id : env.GetType().Name)}: pictures exist for CartPole-v1, Acrobot-v1, MountainCar-v0, MountainCarContinuous-v0, Pendulum-v1 and the PurePg/Pong ids.");

    /// <summary>Draws <paramref name="env"/>'s current state on <paramref name="canvas"/> (made by <see cref="NewCanvas"/>).</summary>
    /// <exception cref="NotSupportedException">No picture for this environment.</exception>
    /// <exception cref="ArgumentException">The canvas has another size.</exception>
    public static void Render(Env env, Canvas canvas)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(canvas);
        var expected = CanvasSize(env);
        if ((canvas.Width, canvas.Height) != expected)
            throw new ArgumentException($"A picture of {env.GetType().Name} is {expected.Width} × {expected.Height}; the canvas is {canvas.Width} × {canvas.Height}.", nameof(canvas));
        Span<double> s = stackalloc double[env.StateLength];
        env.GetState(s);
        switch (env)
        {
            case CartPole: CartPolePicture(canvas, s[0], s[2]); break;
            case Acrobot: AcrobotPicture(canvas, s[0], s[1]); break;
            case MountainCar: MountainCarPicture(canvas, s[0], 0.5); break;
            case MountainCarContinuous: MountainCarPicture(canvas, s[0], 0.45); break;
            case Pendulum: PendulumPicture(canvas, s[0]); break;
            case Pong.Pong pong: PongPicture(canvas, pong); break;
        }
    }

    static (int Width, int Height) CanvasSize(Env env) => env switch
    {
        CartPole or MountainCar or MountainCarContinuous => (300, 200),
        Acrobot or Pendulum => (250, 250),
        Pong.Pong => (Pong.Pong.Width, Pong.Pong.Height),
        _ => throw NotSupported(env),
    };

    /// <summary>Gymnasium's CartPole picture at half size: scale 62.5 pixels per metre, a 25 × 15 cart on a track at
    /// height 50, a 5 × 62.5 pole leaning by θ, the axle.</summary>
    static void CartPolePicture(Canvas c, double x, double theta)
    {
        c.Clear(Colour.White);
        const double scale = 300 / 4.8, poleWidth = 5, poleLength = scale * 1.0, cartWidth = 25, cartHeight = 15;
        double floor = c.Height - 50; // y downward
        double cartX = x * scale + c.Width / 2.0;
        c.Line(0, floor, c.Width, floor, 1, Colour.Black);
        c.FillRectangle((int)Math.Round(cartX - cartWidth / 2), (int)Math.Round(floor - cartHeight / 2), (int)Math.Round(cartX + cartWidth / 2), (int)Math.Round(floor + cartHeight / 2), Colour.Black);
        double axleY = floor - cartHeight / 4;
        double tipX = cartX + poleLength * Math.Sin(theta), tipY = axleY - poleLength * Math.Cos(theta);
        c.Line(cartX, axleY, tipX, tipY, poleWidth, Colour.Pole);
        c.FillCircle(cartX, axleY, poleWidth / 2, Colour.Axle);
    }

    /// <summary>Gymnasium's Acrobot picture at half size: two unit links hanging from the centre (θ = 0 down), the goal
    /// line one link length above the pivot.</summary>
    static void AcrobotPicture(Canvas c, double theta1, double theta2)
    {
        c.Clear(Colour.White);
        double scale = c.Width / (2 * 2.2), ox = c.Width / 2.0, oy = c.Height / 2.0;
        (double X, double Y) P(double px, double py) => (ox + px * scale, oy - py * scale);
        double x1 = Math.Sin(theta1), y1 = -Math.Cos(theta1);
        double x2 = x1 + Math.Sin(theta1 + theta2), y2 = y1 - Math.Cos(theta1 + theta2);
        var goal = P(0, 1);
        c.Line(0, goal.Y, c.Width, goal.Y, 1, Colour.Black);
        var (a, b, e) = (P(0, 0), P(x1, y1), P(x2, y2));
        c.Line(a.X, a.Y, b.X, b.Y, 0.1 * scale, Colour.Axle);
        c.Line(b.X, b.Y, e.X, e.Y, 0.1 * scale, Colour.Axle);
        c.FillCircle(a.X, a.Y, 0.05 * scale, Colour.Yellow);
        c.FillCircle(b.X, b.Y, 0.05 * scale, Colour.Yellow);
    }

    /// <summary>Gymnasium's MountainCar picture at half size: the hill y = 0.45 sin 3x + 0.55 over x ∈ [−1.2, 0.6], the car
    /// tilted along the slope, the flag at the goal.</summary>
    static void MountainCarPicture(Canvas c, double position, double goal)
    {
        c.Clear(Colour.White);
        const double min = -1.2, max = 0.6;
        double scale = c.Width / (max - min);
        double H(double x) => Math.Sin(3 * x) * 0.45 + 0.55;
        (double X, double Y) P(double x, double y) => ((x - min) * scale, c.Height - y * scale);
        Span<(double, double)> hill = stackalloc (double, double)[101];
        for (int i = 0; i <= 100; i++) { double x = min + (max - min) * i / 100; hill[i] = P(x, H(x)); }
        c.Polyline(hill, 1.5, Colour.Black);
        var flag = P(goal, H(goal));
        c.Line(flag.X, flag.Y, flag.X, flag.Y - 25, 1, Colour.Black);
        c.FillConvex([(flag.X, flag.Y - 25), (flag.X, flag.Y - 15), (flag.X + 12, flag.Y - 20)], Colour.Yellow);
        double angle = Math.Atan(Math.Cos(3 * position) * 3 * 0.45); // the slope's angle
        var (cx, cy) = P(position, H(position));
        double cos = Math.Cos(angle), sin = Math.Sin(angle);
        // u along the slope, v up from it, in pixels
        (double X, double Y) Car(double u, double v) => (cx + u * cos - v * sin, cy - u * sin - v * cos);
        const double half = 10, height = 10, clearance = 5;
        c.FillConvex([Car(-half, clearance), Car(half, clearance), Car(half, clearance + height), Car(-half, clearance + height)], Colour.Black);
        var w1 = Car(-half * 0.6, clearance);
        var w2 = Car(half * 0.6, clearance);
        c.FillCircle(w1.X, w1.Y, 3, Colour.LightGrey);
        c.FillCircle(w2.X, w2.Y, 3, Colour.LightGrey);
    }

    /// <summary>Gymnasium's Pendulum picture at half size: a rod from the centre at angle θ (0 up), the pivot.</summary>
    static void PendulumPicture(Canvas c, double theta)
    {
        c.Clear(Colour.White);
        double scale = c.Width / 4.4, ox = c.Width / 2.0, oy = c.Height / 2.0;
        double tipX = ox + Math.Sin(theta) * scale, tipY = oy - Math.Cos(theta) * scale;
        c.Line(ox, oy, tipX, tipY, 0.2 * scale, Colour.Red);
        c.FillCircle(tipX, tipY, 0.1 * scale, Colour.Red);
        c.FillCircle(ox, oy, 0.05 * scale, Colour.Black);
    }

    /// <summary>Pong's own frame, its grey levels in Atari Pong's colours.</summary>
    static void PongPicture(Canvas c, Pong.Pong pong)
    {
        Span<byte> frame = stackalloc byte[Pong.Pong.Height * Pong.Pong.Width];
        pong.Render(frame);
        for (int i = 0; i < frame.Length; i++)
            c.Pixels[i] = (byte)(frame[i] switch
            {
                0 => Colour.PongField,
                Pong.Pong.OpponentShade => Colour.PongOpponent,
                Pong.Pong.AgentShade => Colour.PongPlayer,
                Pong.Pong.ScoreShade => Colour.LightGrey,
                _ => Colour.PongWhite,
            });
    }
}
