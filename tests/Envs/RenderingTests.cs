using PurePg.Envs.Rendering;

namespace PurePg.Envs.Tests;

/// <summary>The environments' pictures: the bodies at the pixels their states put them.</summary>
public class RenderingTests
{
    static Canvas Picture(string id, double[] state)
    {
        var env = EnvRegistry.Make(id);
        env.Reset(seed: 0);
        env.SetState(state);
        var canvas = EnvRenderer.NewCanvas(env);
        EnvRenderer.Render(env, canvas);
        return canvas;
    }

    static Colour At(Canvas c, double x, double y) => (Colour)c.Pixels[(int)y * c.Width + (int)x];

    [Fact]
    public void CartPole_draws_the_cart_at_x_and_the_pole_leaning_by_theta()
    {
        var c = Picture("CartPole-v1", [0, 0, 0, 0]);
        Assert.Equal((300, 200), (c.Width, c.Height));
        Assert.Equal(Colour.Black, At(c, 150, 150));         // cart centre on the track
        Assert.Equal(Colour.Pole, At(c, 150, 146 - 40));     // pole straight up from the axle
        Assert.Equal(Colour.White, At(c, 170, 146 - 40));
        c = Picture("CartPole-v1", [1.0, 0, 0.2, 0]);
        Assert.Equal(Colour.Black, At(c, 150 + 62.5, 150));  // 1 m right = 62.5 px
        Assert.Equal(Colour.White, At(c, 150, 147));          // (the track line is row 150)
        double ax = 212.5, ay = 146.25;
        Assert.Equal(Colour.Pole, At(c, ax + 50 * Math.Sin(0.2), ay - 50 * Math.Cos(0.2))); // leaning right
        Assert.Equal(Colour.White, At(c, ax - 50 * Math.Sin(0.2), ay - 50 * Math.Cos(0.2)));
    }

    [Fact]
    public void Pendulum_and_acrobot_point_where_their_angles_say()
    {
        var c = Picture("Pendulum-v1", [0, 0]);
        Assert.Equal(Colour.Red, At(c, 125, 125 - 40));     // θ = 0: up
        Assert.Equal(Colour.White, At(c, 125, 125 + 40));
        c = Picture("Pendulum-v1", [Math.PI / 2, 0]);
        Assert.Equal(Colour.Red, At(c, 125 + 40, 125));     // θ = π/2: right
        c = Picture("Acrobot-v1", [0, 0, 0, 0]);
        double scale = 250 / 4.4;
        Assert.Equal(Colour.Axle, At(c, 125, 125 + 1.5 * scale)); // hanging straight down, two links
        Assert.Equal(Colour.White, At(c, 125, 125 - 0.5 * scale));
        Assert.Equal(Colour.Black, At(c, 10, 125 - scale));        // the goal line one link above the pivot
    }

    [Fact]
    public void MountainCar_puts_the_car_on_the_hill_and_pong_uses_atari_colours()
    {
        var c = Picture("MountainCar-v0", [-0.5, 0]);
        double x = (-0.5 + 1.2) * 300 / 1.8, y = 200 - (Math.Sin(-1.5) * 0.45 + 0.55) * 300 / 1.8;
        Assert.Equal(Colour.Black, At(c, x, y - 12));  // the body above the valley's floor
        c = Picture("MountainCar-v0", [0.3, 0]);
        Assert.Equal(Colour.White, At(c, x, y - 12));

        var pong = Picture("PurePg/Pong-v0", [80, 100, 1, 0, 3.5, 60, 90, 3, 5]);
        Assert.Equal(Colour.PongPlayer, At(pong, 141, 65));
        Assert.Equal(Colour.PongOpponent, At(pong, 17, 95));
        Assert.Equal(Colour.PongWhite, At(pong, 80, 101));
        Assert.Equal(Colour.PongField, At(pong, 80, 150));
        Assert.Equal(Colour.PongWhite, At(pong, 80, 200)); // bottom wall

        var env = EnvRegistry.Make("CartPole-v1");
        env.Reset(0);
        Assert.Throws<ArgumentException>(() => EnvRenderer.Render(env, new Canvas(10, 10)));
        var chain = EnvRegistry.Make("PurePg/Chain-v0");
        Assert.False(EnvRenderer.CanRender(chain));
        Assert.Contains("No picture", Assert.Throws<NotSupportedException>(() => EnvRenderer.NewCanvas(chain)).Message);
    }
}
