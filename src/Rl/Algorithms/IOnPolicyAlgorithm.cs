using PurePg.Envs.Vector;
using PurePg.Rl.Rollouts;

namespace PurePg.Rl.Algorithms;

/// <summary>
/// What every on-policy algorithm (PPO, A2C, A3C, TRPO, NPG, REINFORCE) is to the code that drives it — the library's
/// <see cref="OnPolicyAlgorithmExtensions.Learn"/>, the program, the benchmarks and the tests: one iteration at a time
/// (collect → estimate Â → improve θ, φ), a step count, the agent, the planned length that schedules follow, and the
/// full state for checkpoints. Sign convention, once for all: an iteration moves θ along an estimate of +∇J(θ) (ascent on
/// the expected return); losses written for descent are negated before the optimizers' <c>Ascend</c>.
/// </summary>
public interface IOnPolicyAlgorithm
{
    /// <summary>The algorithm's short name: ppo, a2c, a3c, trpo, npg, reinforce.</summary>
    string Name { get; }

    /// <summary>The agent: π_θ and V_φ.</summary>
    ActorCritic Agent { get; }

    /// <summary>The environments it collects from (null for A3C, whose threads own one environment each).</summary>
    VectorEnv? Env { get; }

    /// <summary>Environment steps taken.</summary>
    long TotalSteps { get; }

    /// <summary>Environment steps one iteration takes (N·T; for A3C, the steps its threads take between reports).</summary>
    long StepsPerIteration { get; }

    /// <summary>The planned length of the run in environment steps, which schedules (learning-rate anneals) follow;
    /// <see cref="OnPolicyAlgorithmExtensions.Learn"/> sets it, and a run extended past its plan sets the new one.</summary>
    long PlannedSteps { get; set; }

    /// <summary>Whether <see cref="WriteState"/> captures everything, so a resumed run is bit-identical to one that never
    /// stopped (false for A3C, whose threads interleave freely).</summary>
    bool ExactResume { get; }

    /// <summary>One iteration; returns the steps so far, the episodes that ended during it and the algorithm's diagnostics.</summary>
    IterationMetrics Iterate();

    /// <summary>Writes the full state (θ, φ, optimizer moments, generator states, environments …).</summary>
    void WriteState(BinaryWriter writer);

    /// <summary>Restores what <see cref="WriteState"/> wrote, into an algorithm built with the same settings.</summary>
    void ReadState(BinaryReader reader);
}

/// <summary>What one iteration reports: the steps taken so far, the episodes that finished during it (each return and
/// length) and the algorithm's diagnostics (name → value, e.g. approx_kl), for logs and metrics.</summary>
public sealed record IterationMetrics(long Steps, IReadOnlyList<EpisodeStatistics> Episodes, IReadOnlyList<(string Name, double Value)> Losses)
{
    /// <summary>How many episodes finished during the iteration.</summary>
    public int EpisodesFinished => Episodes.Count;

    /// <summary>The mean return of those episodes (NaN when none finished).</summary>
    public double MeanReturn => Episodes.Count > 0 ? Episodes.Average(e => e.Return) : double.NaN;

    /// <summary>Their mean length (NaN when none finished).</summary>
    public double MeanLength => Episodes.Count > 0 ? Episodes.Average(e => e.Length) : double.NaN;

    internal static IterationMetrics Of(long steps, IReadOnlyList<EpisodeStatistics> episodes, params (string, double)[] losses) =>
        new(steps, episodes.ToArray(), losses);
}
