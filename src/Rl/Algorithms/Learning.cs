using PurePg.Rl.Rollouts;

namespace PurePg.Rl.Algorithms;

/// <summary>Something that watches training and may stop it: the library's callbacks (Stable-Baselines3's
/// BaseCallback). Return false from <see cref="OnIteration"/> or <see cref="OnEpisode"/> to stop after this iteration.</summary>
public abstract class TrainingCallback
{
    /// <summary>Before the first iteration of a <see cref="OnPolicyAlgorithmExtensions.Learn"/> call.</summary>
    public virtual void OnStart(IOnPolicyAlgorithm algorithm) { }

    /// <summary>After each episode that ended during an iteration (in the order they ended).</summary>
    public virtual bool OnEpisode(IOnPolicyAlgorithm algorithm, EpisodeStatistics episode) => true;

    /// <summary>After each iteration.</summary>
    public virtual bool OnIteration(IOnPolicyAlgorithm algorithm, IterationMetrics metrics) => true;

    /// <summary>When the call ends (by its step budget, a callback's stop or cancellation).</summary>
    public virtual void OnEnd(IOnPolicyAlgorithm algorithm) { }
}

/// <summary>Stable-Baselines3's <c>model.learn(total_timesteps, callback)</c> for every on-policy algorithm.</summary>
public static class OnPolicyAlgorithmExtensions
{
    /// <summary>
    /// Trains for <paramref name="steps"/> more environment steps (whole iterations: the last may go past), planning the
    /// run to end there — schedules such as PPO's learning-rate anneal follow TotalSteps + <paramref name="steps"/> —
    /// calling the callbacks after every episode and iteration, and stopping early when one returns false. Returns the
    /// algorithm, so that calls chain: <c>new Ppo(env, settings).Learn(100_000)</c>.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (checked between
    /// iterations; the algorithm is left consistent and can be saved or trained on).</exception>
    public static T Learn<T>(this T algorithm, long steps, IEnumerable<TrainingCallback>? callbacks = null, CancellationToken cancellationToken = default)
        where T : IOnPolicyAlgorithm
    {
        ArgumentNullException.ThrowIfNull(algorithm);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(steps);
        var watchers = callbacks?.ToArray() ?? [];
        long target = algorithm.TotalSteps + steps;
        algorithm.PlannedSteps = target;
        foreach (var c in watchers) c.OnStart(algorithm);
        try
        {
            while (algorithm.TotalSteps < target)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var metrics = algorithm.Iterate();
                bool go = true;
                foreach (var episode in metrics.Episodes)
                    foreach (var c in watchers) go &= c.OnEpisode(algorithm, episode);
                foreach (var c in watchers) go &= c.OnIteration(algorithm, metrics);
                if (!go) break;
            }
        }
        finally
        {
            foreach (var c in watchers) c.OnEnd(algorithm);
        }
        return algorithm;
    }
}
