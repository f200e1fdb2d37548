using PurePg.Envs.Vector;

namespace PurePg.Rl.Rollouts;

/// <summary>One finished episode: its undiscounted return Σ r_t and its length.</summary>
public readonly record struct EpisodeStatistics(double Return, int Length);

/// <summary>
/// A rollout of T steps from N environment copies in structure-of-arrays form, [T, N] row-major (step-major): what was
/// observed, done and received at every step, plus what bootstrapping needs — the observation after the last step, and
/// for steps whose episode was truncated (not terminated) the final observation, from which V(s_final) may be
/// bootstrapped. Episode statistics are recorded as episodes finish. Collecting allocates nothing after construction
/// (the statistics list grows only until it reaches the number of episodes per rollout).
/// </summary>
public sealed class RolloutBuffer
{
    private readonly double[] _episodeReturn;
    private readonly int[] _episodeLength;

    /// <summary>Buffers for <paramref name="steps"/> T steps of <paramref name="numEnvs"/> N copies.</summary>
    public RolloutBuffer(int steps, int numEnvs, int observationSize, int actionSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(steps);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numEnvs);
        (Steps, NumEnvs, ObservationSize, ActionSize) = (steps, numEnvs, observationSize, actionSize);
        int n = steps * numEnvs;
        Observations = new float[n * observationSize];
        DiscreteActions = new int[n];
        ContinuousActions = new float[n * Math.Max(actionSize, 0)];
        Rewards = new float[n];
        Terminated = new bool[n];
        Truncated = new bool[n];
        LogProbs = new float[n];
        TimeSteps = new int[n];
        Values = new float[n];
        FinalObservations = new float[n * observationSize];
        LastObservations = new float[numEnvs * observationSize];
        _episodeReturn = new double[numEnvs];
        _episodeLength = new int[numEnvs];
    }

    /// <summary>T.</summary>
    public int Steps { get; }

    /// <summary>N.</summary>
    public int NumEnvs { get; }

    /// <summary>Features per observation.</summary>
    public int ObservationSize { get; }

    /// <summary>Floats per continuous action (0 for discrete actions).</summary>
    public int ActionSize { get; }

    /// <summary>s_t, [T, N, obs].</summary>
    public float[] Observations { get; }

    /// <summary>a_t for discrete action spaces, [T, N].</summary>
    public int[] DiscreteActions { get; }

    /// <summary>a_t for Box action spaces, [T, N, act].</summary>
    public float[] ContinuousActions { get; }

    /// <summary>r_t, [T, N].</summary>
    public float[] Rewards { get; }

    /// <summary>Whether step t ended its episode in a terminal state (no bootstrap), [T, N].</summary>
    public bool[] Terminated { get; }

    /// <summary>Whether step t ended its episode at the time limit (bootstrap from <see cref="FinalObservations"/>), [T, N].</summary>
    public bool[] Truncated { get; }

    /// <summary>log π(a_t|s_t) when acting, [T, N].</summary>
    public float[] LogProbs { get; }

    /// <summary>h, each step's index within its episode ([T, N]; 0 on the first step after a reset, continuing across
    /// rollouts).</summary>
    public int[] TimeSteps { get; }

    /// <summary>V(s_t) when acting (if a critic is used), [T, N].</summary>
    public float[] Values { get; }

    /// <summary>The final observation of steps with <see cref="Truncated"/> set, [T, N, obs] (stale elsewhere).</summary>
    public float[] FinalObservations { get; }

    /// <summary>s_T, the observation after the last step of the rollout, [N, obs]: bootstrap unfinished episodes from it.</summary>
    public float[] LastObservations { get; }

    /// <summary>The episodes that finished during the last <see cref="Collect"/>, in the order of their last steps (step t,
    /// then copy i).</summary>
    public List<EpisodeStatistics> Episodes { get; } = new();

    /// <summary>For each of <see cref="Episodes"/>, the step t and copy i whose step ended it.</summary>
    public List<(int Step, int Copy)> EpisodeEnds { get; } = new();

    /// <summary>The action chooser: given observations [N, obs], fill actions (discrete [N] or continuous [N, act]),
    /// log-probabilities [N] and values [N] (leave 0 if no critic).</summary>
    public delegate void ActFunction(ReadOnlyMemory<float> observations, Span<int> discreteActions, Span<float> continuousActions, Span<float> logProbs, Span<float> values);

    /// <summary>
    /// Runs T steps of <paramref name="env"/> (which must have been reset; its current observations are s_0), recording
    /// everything above. Episodes that span the end of a rollout continue in the next one: their running return and
    /// length are carried over.
    /// </summary>
    public void Collect(VectorEnv env, ActFunction act)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentNullException.ThrowIfNull(act);
        if (env.NumEnvs != NumEnvs || env.ObservationSize != ObservationSize)
            throw new ArgumentException($"The buffer is for {NumEnvs} copies with {ObservationSize} features; the environment has {env.NumEnvs} and {env.ObservationSize}.");
        Episodes.Clear();
        EpisodeEnds.Clear();
        int n = NumEnvs, o = ObservationSize;
        for (int t = 0; t < Steps; t++)
        {
            int row = t * n;
            var obs = Observations.AsMemory(row * o, n * o);
            env.Observations.CopyTo(obs.Span);
            var discrete = DiscreteActions.AsSpan(row, n);
            var continuous = ActionSize > 0 ? ContinuousActions.AsSpan(row * ActionSize, n * ActionSize) : Span<float>.Empty;
            act(obs, discrete, continuous, LogProbs.AsSpan(row, n), Values.AsSpan(row, n));
            if (ActionSize > 0) env.Step(continuous);
            else env.Step(discrete);
            CheckFinite(env, t);
            env.Rewards.CopyTo(Rewards.AsSpan(row, n));
            env.Terminated.CopyTo(Terminated.AsSpan(row, n));
            env.Truncated.CopyTo(Truncated.AsSpan(row, n));
            for (int i = 0; i < n; i++)
            {
                _episodeReturn[i] += env.RawRewards[i];
                TimeSteps[row + i] = _episodeLength[i]++;
                if (env.Terminated[i] || env.Truncated[i])
                {
                    if (env.Truncated[i] && !env.Terminated[i])
                        env.FinalObservations.Slice(i * o, o).CopyTo(FinalObservations.AsSpan((row + i) * o, o));
                    Episodes.Add(new EpisodeStatistics(_episodeReturn[i], _episodeLength[i]));
                    EpisodeEnds.Add((t, i));
                    _episodeReturn[i] = 0;
                    _episodeLength[i] = 0;
                }
            }
        }
        env.Observations.CopyTo(LastObservations);
    }

    /// <summary>Starts assembling this [T, N] rollout from blocks of copies (<see cref="CopyBlock"/>): forgets the episodes.</summary>
    public void BeginBlocks()
    {
        Episodes.Clear();
        EpisodeEnds.Clear();
    }

    /// <summary>
    /// Copies <paramref name="block"/>, a [T, M] rollout of copies <paramref name="firstCopy"/> … firstCopy + M − 1, into those
    /// columns of this [T, N] one — observations, actions, rewards, flags, log π, V, step indices, last observations and
    /// the final observations of the steps cut at the time limit (the only ones <see cref="Collect"/> writes) — and appends its episodes as ended by (t, firstCopy + i). After the last block,
    /// <see cref="EndBlocks"/> orders the episodes as one <see cref="Collect"/> of all N copies lists them.
    /// </summary>
    /// <exception cref="ArgumentException">The block's T, features or action size differ, or it does not fit at firstCopy.</exception>
    public void CopyBlock(RolloutBuffer block, int firstCopy)
    {
        ArgumentNullException.ThrowIfNull(block);
        int m = block.NumEnvs, n = NumEnvs, o = ObservationSize, d = ActionSize;
        if (block.Steps != Steps || block.ObservationSize != o || block.ActionSize != d)
            throw new ArgumentException($"The block is [{block.Steps}, {m}] with {block.ObservationSize} features and {block.ActionSize} action floats; this rollout is [{Steps}, {n}] with {o} and {d}.", nameof(block));
        if (firstCopy < 0 || firstCopy + m > n)
            throw new ArgumentOutOfRangeException(nameof(firstCopy), firstCopy, $"Copies {firstCopy} … {firstCopy + m - 1} are not all among this rollout's {n}.");
        for (int t = 0; t < Steps; t++)
        {
            int src = t * m, dst = t * n + firstCopy;
            block.Observations.AsSpan(src * o, m * o).CopyTo(Observations.AsSpan(dst * o));
            // final observations as Collect keeps them: only where the episode was cut at the time limit (the rows read)
            for (int i = 0; i < m; i++)
                if (block.Truncated[src + i] && !block.Terminated[src + i])
                    block.FinalObservations.AsSpan((src + i) * o, o).CopyTo(FinalObservations.AsSpan((dst + i) * o));
            block.DiscreteActions.AsSpan(src, m).CopyTo(DiscreteActions.AsSpan(dst));
            block.ContinuousActions.AsSpan(src * d, m * d).CopyTo(ContinuousActions.AsSpan(dst * d));
            block.Rewards.AsSpan(src, m).CopyTo(Rewards.AsSpan(dst));
            block.Terminated.AsSpan(src, m).CopyTo(Terminated.AsSpan(dst));
            block.Truncated.AsSpan(src, m).CopyTo(Truncated.AsSpan(dst));
            block.LogProbs.AsSpan(src, m).CopyTo(LogProbs.AsSpan(dst));
            block.TimeSteps.AsSpan(src, m).CopyTo(TimeSteps.AsSpan(dst));
            block.Values.AsSpan(src, m).CopyTo(Values.AsSpan(dst));
        }
        block.LastObservations.AsSpan(0, m * o).CopyTo(LastObservations.AsSpan(firstCopy * o));
        if (block.EpisodeEnds.Count != block.Episodes.Count)
            throw new ArgumentException($"The block lists {block.Episodes.Count} episodes but {block.EpisodeEnds.Count} episode ends.", nameof(block));
        for (int k = 0; k < block.Episodes.Count; k++)
        {
            var (t, i) = block.EpisodeEnds[k];
            if ((uint)t >= (uint)Steps || (uint)i >= (uint)m)
                throw new ArgumentException($"The block's episode {k} ends at step {t} of copy {i}, outside its [{Steps}, {m}].", nameof(block));
            Episodes.Add(block.Episodes[k]);
            EpisodeEnds.Add((t, firstCopy + i));
        }
    }

    /// <summary>Orders the episodes the blocks brought by their last step t, then copy i — one Collect's order.</summary>
    public void EndBlocks()
    {
        var order = Enumerable.Range(0, Episodes.Count).OrderBy(k => EpisodeEnds[k].Step).ThenBy(k => EpisodeEnds[k].Copy).ToArray();
        var episodes = order.Select(k => Episodes[k]).ToArray();
        var ends = order.Select(k => EpisodeEnds[k]).ToArray();
        Episodes.Clear();
        Episodes.AddRange(episodes);
        EpisodeEnds.Clear();
        EpisodeEnds.AddRange(ends);
    }

    private static void CheckFinite(VectorEnv env, int t)
    {
        if (!float.IsFinite(System.Numerics.Tensors.TensorPrimitives.Sum(env.Rewards)))
            for (int i = 0; i < env.NumEnvs; i++)
                if (!float.IsFinite(env.Rewards[i])) throw new ArithmeticException($"environment copy {i} returned the reward {env.Rewards[i]} at rollout step {t}.");
        if (!float.IsFinite(System.Numerics.Tensors.TensorPrimitives.SumOfSquares(env.Observations)))
            for (int k = 0; k < env.Observations.Length; k++)
                if (!float.IsFinite(env.Observations[k]))
                    throw new ArithmeticException($"environment copy {k / env.ObservationSize} returned the observation value {env.Observations[k]} (feature {k % env.ObservationSize}) at rollout step {t}.");
    }

    /// <summary>Forgets the running returns and lengths (every copy starts a new episode).</summary>
    internal void ClearRunningEpisodes()
    {
        Array.Clear(_episodeReturn);
        Array.Clear(_episodeLength);
    }

    /// <summary>Writes the running returns and lengths of the episodes still going (they continue into the next rollout).</summary>
    public void WriteState(BinaryWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        for (int i = 0; i < NumEnvs; i++) { writer.Write(_episodeReturn[i]); writer.Write(_episodeLength[i]); }
    }

    /// <summary>Restores what <see cref="WriteState"/> wrote.</summary>
    public void ReadState(BinaryReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        for (int i = 0; i < NumEnvs; i++) { _episodeReturn[i] = reader.ReadDouble(); _episodeLength[i] = reader.ReadInt32(); }
    }

    /// <summary>
    /// Discounted reward-to-go for every step, G_t = r_t + γ G_{t+1} within each copy's episodes: 0 after a terminated
    /// step, <paramref name="truncatedValues"/>[t, i] = V(s_final) after a truncated one, and
    /// <paramref name="lastValues"/>[i] = V(s_T) after the rollout's last step (pass zeros to ignore unfinished tails).
    /// </summary>
    public void RewardToGo(double gamma, ReadOnlySpan<float> truncatedValues, ReadOnlySpan<float> lastValues, Span<float> rewardToGo)
    {
        Estimators.Returns.CheckGamma(gamma);
        int n = NumEnvs;
        if (rewardToGo.Length != Steps * n || truncatedValues.Length != Steps * n || lastValues.Length != n)
            throw new ArgumentException($"RewardToGo: need [T, N] = [{Steps}, {n}] outputs and truncated values, and {n} last values.");
        for (int i = 0; i < n; i++)
        {
            double g = lastValues[i];
            for (int t = Steps - 1; t >= 0; t--)
            {
                int k = t * n + i;
                if (Terminated[k]) g = 0;
                else if (Truncated[k]) g = truncatedValues[k];
                g = Rewards[k] + gamma * g;
                rewardToGo[k] = (float)g;
            }
        }
    }
}
