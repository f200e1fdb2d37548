using PurePg.Envs.Random;

namespace PurePg.Envs.Pong;

/// <summary>What a <see cref="Pong"/> environment observes.</summary>
public enum PongObservation
{
    /// <summary>The rendered frame: 210 × 160 grey levels 0 … 255, row-major (Atari's screen size), as floats.</summary>
    Frame,

    /// <summary>The lectures' input (Karpathy's pg-pong <c>prepro</c>): rows 35 … 194 of the frame, every second row and
    /// column (80 × 80), background 0 and everything else 1, minus the same of the previous frame; all zeros after a
    /// reset. 6,400 floats in {−1, 0, 1}.</summary>
    Difference80,
}

/// <summary>
/// Pong, built for this project in the spirit of Atari Pong (no emulator is involved): the agent's paddle on the right
/// (columns 140 … 143), the built-in opponent's on the left (16 … 19), both 16 rows tall, a 2 × 4 ball, walls above row 34
/// and below row 193. Each step moves the agent's paddle <see cref="PaddleSpeed"/> rows up (action 0, UP) or down
/// (1, DOWN) or not at all (2, NOOP, when <see cref="HasNoop"/>); the opponent moves towards the ball's centre by at most
/// <see cref="OpponentSpeed"/> rows; the ball moves by its velocity and reflects off the walls. A paddle reflects the ball
/// when its front edge crosses the paddle's face with the rows overlapping: the speed grows by
/// <see cref="SpeedIncrement"/> (up to <see cref="MaxBallSpeed"/>) and the angle to the horizontal is
/// 60° × o, o = (ball centre − paddle centre) / 10 clipped to [−1, 1] — the further from the centre, the steeper.
/// A ball that leaves the screen scores: reward +1 when it passes the opponent, −1 when it passes the agent; the next
/// ball is served from the centre at <see cref="ServeSpeed"/>, towards a random side at a random angle in [−30°, 30°]
/// (the environment's random stream). The game terminates when a side reaches 21 points; made by id, it is truncated at
/// 27,000 steps. A step is <see cref="FrameSkip"/> frames of these rules with the action held and the rewards summed
/// (by id: 2, as Atari's Pong-v0, which the lectures trained on, holds each action for 2 to 4 frames). Deterministic for a seed; a step allocates nothing. State (doubles): ball x, y, vx, vy, speed, agent
/// paddle top, opponent paddle top, agent points, opponent points.
/// </summary>
public sealed class Pong : Env
{
    /// <summary>Frame height and width (Atari's).</summary>
    public const int Height = 210, Width = 160;
    /// <summary>The first and one-past-last rows the ball and paddles move in.</summary>
    public const int FieldTop = 34, FieldBottom = 194;
    /// <summary>Paddle size and columns: the opponent's occupies [16, 20), the agent's [140, 144).</summary>
    public const int PaddleHeight = 16, PaddleWidth = 4, OpponentColumn = 16, AgentColumn = 140;
    /// <summary>Ball size.</summary>
    public const int BallWidth = 2, BallHeight = 4;
    /// <summary>Grey levels: walls and ball, the opponent's paddle, the agent's paddle, the scores (background 0).</summary>
    public const byte WallShade = 236, BallShade = 236, OpponentShade = 148, AgentShade = 147, ScoreShade = 200;
    /// <summary>Points that win a game.</summary>
    public const int PointsToWin = 21;
    /// <summary>Side of the difference observation, and the first frame row it samples.</summary>
    public const int Side = 80, CropTop = 35;

    /// <summary>Rows the agent's paddle moves per frame of UP or DOWN.</summary>
    public const double PaddleSpeed = 4;
    /// <summary>The largest move of the opponent's paddle per frame (rows).</summary>
    public double OpponentSpeed { get; }
    /// <summary>The ball's speed at a serve, its growth per paddle hit and its cap (pixels per frame).</summary>
    public const double ServeSpeed = 3.5, SpeedIncrement = 0.25, MaxBallSpeed = 7;
    /// <summary>The steepest bounce off a paddle, and the widest serve, in radians.</summary>
    public const double MaxBounceAngle = Math.PI / 3, MaxServeAngle = Math.PI / 6;

    /// <summary>Whether action 2 (NOOP) exists; without it the actions are UP and DOWN only, the lectures' set.</summary>
    public bool HasNoop { get; }

    /// <summary>What is observed.</summary>
    public PongObservation Kind { get; }

    /// <summary>Frames per step: the action is held, the rewards added, the observation taken after the last.</summary>
    public int FrameSkip { get; }

    double _ballX, _ballY, _vx, _vy, _speed, _agentY, _opponentY;
    int _agentPoints, _opponentPoints;
    readonly byte[] _current = new byte[Side * Side], _previous = new byte[Side * Side];

    /// <summary>Creates the environment (no time limit; <see cref="EnvRegistry.Make"/> applies 27,000 steps).</summary>
    /// <param name="observation">The rendered frame or the lectures' difference of preprocessed frames.</param>
    /// <param name="noop">Whether the action set has NOOP (three actions) or only UP and DOWN.</param>
    /// <param name="opponentSpeed">The opponent's largest move per frame, in rows (positive).</param>
    /// <param name="frameSkip">Frames per step (1 … 8).</param>
    /// <exception cref="ArgumentOutOfRangeException">The opponent's speed is not positive and finite, or the frame skip is out of range.</exception>
    public Pong(PongObservation observation = PongObservation.Frame, bool noop = true, double opponentSpeed = 3, int frameSkip = 1)
        : base(observation == PongObservation.Frame ? Box.Uniform(Height * Width, 0, 255) : Box.Uniform(Side * Side, -1, 1), new Discrete(noop ? 3 : 2))
    {
        if (!(opponentSpeed > 0) || !double.IsFinite(opponentSpeed))
            throw new ArgumentOutOfRangeException(nameof(opponentSpeed), opponentSpeed, "Pong: the opponent's speed must be positive and finite.");
        if (!Enum.IsDefined(observation)) throw new ArgumentOutOfRangeException(nameof(observation), observation, "Pong: unknown observation kind.");
        if (frameSkip is < 1 or > 8) throw new ArgumentOutOfRangeException(nameof(frameSkip), frameSkip, "Pong: frames per step must be 1 … 8.");
        FrameSkip = frameSkip;
        Kind = observation;
        HasNoop = noop;
        OpponentSpeed = opponentSpeed;
    }

    /// <summary>The agent's points and the opponent's in the current game.</summary>
    public (int Agent, int Opponent) Score => (_agentPoints, _opponentPoints);

    /// <inheritdoc/>
    public override int StateLength => 9;

    /// <inheritdoc/>
    protected override void ResetCore(NumpyRandom random, Span<float> observation)
    {
        _agentY = _opponentY = (FieldTop + FieldBottom - PaddleHeight) / 2.0;
        _agentPoints = _opponentPoints = 0;
        Serve(random);
        Preprocess(_previous);
        if (Kind == PongObservation.Frame) Render(observation);
        else observation.Clear();
    }

    void Serve(NumpyRandom random)
    {
        _ballX = (Width - BallWidth) / 2.0;
        _ballY = (FieldTop + FieldBottom - BallHeight) / 2.0;
        double direction = random.NextDouble() < 0.5 ? -1 : 1;
        double angle = random.Uniform(-MaxServeAngle, MaxServeAngle);
        _speed = ServeSpeed;
        _vx = direction * _speed * Math.Cos(angle);
        _vy = _speed * Math.Sin(angle);
    }

    /// <inheritdoc/>
    protected override (double Reward, bool Terminated) StepCore(int action, NumpyRandom random, Span<float> observation)
    {
        double reward = 0;
        bool terminated = false;
        for (int f = 0; f < FrameSkip && !terminated; f++)
        {
            reward += Advance(action, random);
            terminated = _agentPoints >= PointsToWin || _opponentPoints >= PointsToWin;
        }
        Observe(observation);
        return (reward, terminated);
    }

    /// <summary>One step of the rules; returns the reward.</summary>
    double Advance(int action, NumpyRandom random)
    {
        const double top = FieldTop, bottom = FieldBottom - PaddleHeight;
        _agentY = Math.Clamp(_agentY + action switch { 0 => -PaddleSpeed, 1 => PaddleSpeed, _ => 0 }, top, bottom);
        double target = _ballY + BallHeight / 2.0 - PaddleHeight / 2.0;
        _opponentY = Math.Clamp(_opponentY + Math.Clamp(target - _opponentY, -OpponentSpeed, OpponentSpeed), top, bottom);

        double oldX = _ballX;
        _ballX += _vx;
        _ballY += _vy;
        if (_ballY < FieldTop) { _ballY = 2 * FieldTop - _ballY; _vy = -_vy; }
        else if (_ballY + BallHeight > FieldBottom) { _ballY = 2 * (FieldBottom - BallHeight) - _ballY; _vy = -_vy; }

        const double agentFace = AgentColumn, opponentFace = OpponentColumn + PaddleWidth;
        if (_vx > 0 && oldX + BallWidth <= agentFace && _ballX + BallWidth > agentFace && Overlaps(_agentY))
        {
            _ballX = 2 * (agentFace - BallWidth) - _ballX;
            Bounce(_agentY, -1);
        }
        else if (_vx < 0 && oldX >= opponentFace && _ballX < opponentFace && Overlaps(_opponentY))
        {
            _ballX = 2 * opponentFace - _ballX;
            Bounce(_opponentY, 1);
        }

        if (_ballX >= Width) { _opponentPoints++; Serve(random); return -1; }
        if (_ballX + BallWidth <= 0) { _agentPoints++; Serve(random); return 1; }
        return 0;
    }

    bool Overlaps(double paddleY) => _ballY < paddleY + PaddleHeight && _ballY + BallHeight > paddleY;

    /// <summary>Reflects the ball off a paddle with top <paramref name="paddleY"/>, sending it in x-direction
    /// <paramref name="direction"/>: faster by <see cref="SpeedIncrement"/>, at 60° × the clipped offset.</summary>
    void Bounce(double paddleY, int direction)
    {
        double offset = Math.Clamp((_ballY + BallHeight / 2.0 - (paddleY + PaddleHeight / 2.0)) / 10.0, -1, 1);
        _speed = Math.Min(_speed + SpeedIncrement, MaxBallSpeed);
        double angle = offset * MaxBounceAngle;
        _vx = direction * _speed * Math.Cos(angle);
        _vy = _speed * Math.Sin(angle);
    }

    void Observe(Span<float> observation)
    {
        if (Kind == PongObservation.Frame) { Render(observation); return; }
        Preprocess(_current);
        for (int i = 0; i < observation.Length; i++) observation[i] = _current[i] - _previous[i];
        _current.AsSpan().CopyTo(_previous);
    }

    /// <summary>Writes the current frame, 210 × 160 grey levels row-major, into <paramref name="frame"/>: background 0, walls,
    /// both paddles, the ball and both scores (3 × 5 digits drawn 4 × 4 pixels per dot above the top wall).</summary>
    /// <exception cref="ArgumentException">The span is not 33,600 long.</exception>
    public void Render(Span<byte> frame)
    {
        if (frame.Length != Height * Width) throw new ArgumentException($"Pong: a frame has {Height * Width} pixels, the span {frame.Length}.", nameof(frame));
        frame.Clear();
        Fill(frame, 24, FieldTop, 0, Width, WallShade);
        Fill(frame, FieldBottom, Height, 0, Width, WallShade);
        int opponentTop = (int)Math.Floor(_opponentY), agentTop = (int)Math.Floor(_agentY);
        Fill(frame, opponentTop, opponentTop + PaddleHeight, OpponentColumn, OpponentColumn + PaddleWidth, OpponentShade);
        Fill(frame, agentTop, agentTop + PaddleHeight, AgentColumn, AgentColumn + PaddleWidth, AgentShade);
        int bx = (int)Math.Floor(_ballX), by = (int)Math.Floor(_ballY);
        Fill(frame, by, by + BallHeight, bx, bx + BallWidth, BallShade);
        DrawNumber(frame, _opponentPoints, 36);
        DrawNumber(frame, _agentPoints, 116);
    }

    void Render(Span<float> observation)
    {
        Span<byte> frame = stackalloc byte[Height * Width];
        Render(frame);
        for (int i = 0; i < frame.Length; i++) observation[i] = frame[i];
    }

    static void Fill(Span<byte> frame, int r0, int r1, int c0, int c1, byte shade)
    {
        r0 = Math.Max(r0, 0); r1 = Math.Min(r1, Height); c0 = Math.Max(c0, 0); c1 = Math.Min(c1, Width);
        for (int r = r0; r < r1; r++)
            if (c1 > c0) frame.Slice(r * Width + c0, c1 - c0).Fill(shade);
    }

    // 3 × 5 dot patterns of the digits, one row per 3 bits (most significant = left)
    static ReadOnlySpan<ushort> Digits => [0b111_101_101_101_111, 0b010_110_010_010_111, 0b111_001_111_100_111, 0b111_001_111_001_111,
        0b101_101_111_001_001, 0b111_100_111_001_111, 0b111_100_111_101_111, 0b111_001_001_001_001, 0b111_101_111_101_111, 0b111_101_111_001_111];

    static void DrawNumber(Span<byte> frame, int value, int left)
    {
        if (value >= 10) DrawDigit(frame, value / 10, left);
        DrawDigit(frame, value % 10, left + 16);
    }

    static void DrawDigit(Span<byte> frame, int digit, int left)
    {
        ushort bits = Digits[digit];
        for (int row = 0; row < 5; row++)
            for (int col = 0; col < 3; col++)
                if ((bits >> (14 - 3 * row - col) & 1) != 0) Fill(frame, 2 + 4 * row, 6 + 4 * row, left + 4 * col, left + 4 * col + 4, ScoreShade);
    }

    /// <summary>
    /// The lectures' preprocessing of a 210 × 160 frame: <c>I = I[35:195][::2, ::2]; I[I != 0] = 1</c> (background is 0
    /// here, so nothing needs erasing) — the 80 × 80 binary image, row-major, into <paramref name="image"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A span has the wrong length.</exception>
    public static void Preprocess(ReadOnlySpan<byte> frame, Span<byte> image)
    {
        if (frame.Length != Height * Width) throw new ArgumentException($"Pong: a frame has {Height * Width} pixels, the span {frame.Length}.", nameof(frame));
        if (image.Length != Side * Side) throw new ArgumentException($"Pong: a preprocessed image has {Side * Side} pixels, the span {image.Length}.", nameof(image));
        for (int r = 0; r < Side; r++)
            for (int c = 0; c < Side; c++)
                image[r * Side + c] = frame[(CropTop + 2 * r) * Width + 2 * c] != 0 ? (byte)1 : (byte)0;
    }

    /// <summary>The preprocessed image of the current state drawn directly on the 80 × 80 grid (what
    /// <see cref="Preprocess(ReadOnlySpan{byte}, Span{byte})"/> of <see cref="Render(Span{byte})"/> gives, without the
    /// full frame: walls and scores lie outside the sampled rows).</summary>
    void Preprocess(Span<byte> image)
    {
        image.Clear();
        int opponentTop = (int)Math.Floor(_opponentY), agentTop = (int)Math.Floor(_agentY);
        Mark(image, opponentTop, opponentTop + PaddleHeight, OpponentColumn, OpponentColumn + PaddleWidth);
        Mark(image, agentTop, agentTop + PaddleHeight, AgentColumn, AgentColumn + PaddleWidth);
        int bx = (int)Math.Floor(_ballX), by = (int)Math.Floor(_ballY);
        Mark(image, by, by + BallHeight, bx, bx + BallWidth);
    }

    /// <summary>Sets the grid pixels (r, c) whose frame pixel (35 + 2r, 2c) lies in rows [r0, r1) and columns [c0, c1).</summary>
    static void Mark(Span<byte> image, int r0, int r1, int c0, int c1)
    {
        int gr0 = Math.Max(CeilHalf(r0 - CropTop), 0), gr1 = Math.Min(CeilHalf(r1 - CropTop), Side);
        int gc0 = Math.Max(CeilHalf(c0), 0), gc1 = Math.Min(CeilHalf(c1), Side);
        for (int r = gr0; r < gr1; r++)
            for (int c = gc0; c < gc1; c++) image[r * Side + c] = 1;
    }

    static int CeilHalf(int v) => v >= 0 ? (v + 1) / 2 : -((-v) / 2);

    /// <inheritdoc/>
    protected override void GetStateCore(Span<double> state)
    {
        state[0] = _ballX; state[1] = _ballY; state[2] = _vx; state[3] = _vy; state[4] = _speed;
        state[5] = _agentY; state[6] = _opponentY; state[7] = _agentPoints; state[8] = _opponentPoints;
    }

    /// <summary>Sets the state; the observation is then what a reset gives (the frame, or zeros for the difference).</summary>
    protected override void SetStateCore(ReadOnlySpan<double> state, Span<float> observation)
    {
        for (int i = 7; i < 9; i++)
            if (state[i] < 0 || state[i] > PointsToWin || state[i] != Math.Floor(state[i]))
                throw new ArgumentException($"Pong: state[{i}] (points) is {state[i]}; points are whole numbers 0 … {PointsToWin}.", nameof(state));
        (_ballX, _ballY, _vx, _vy, _speed) = (state[0], state[1], state[2], state[3], state[4]);
        (_agentY, _opponentY) = (state[5], state[6]);
        (_agentPoints, _opponentPoints) = ((int)state[7], (int)state[8]);
        Preprocess(_previous);
        if (Kind == PongObservation.Frame) Render(observation);
        else observation.Clear();
    }
}
