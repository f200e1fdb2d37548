using PurePg.Envs;

namespace PurePg.Rl.Policies;

/// <summary>The returns of evaluation episodes: their mean and (population) standard deviation, each return and length.</summary>
public sealed record EvaluationResult(double Mean, double Std, IReadOnlyList<double> Returns, IReadOnlyList<int> Lengths);

/// <summary>Stable-Baselines3's <c>evaluate_policy</c>: runs whole episodes of a policy and reports their returns.</summary>
public static class Evaluation
{
    /// <summary>
    /// R_i = Σ_t r_t over <paramref name="episodes"/> episodes of <paramref name="policy"/> on <paramref name="env"/> (its
    /// time limit ends an episode as truncation), the first reset with <paramref name="seed"/> and the rest continuing its
    /// stream; mean R̄ = (1/n) Σ R_i and std √((1/n) Σ (R_i − R̄)²). Stochastic actions come from the policy's own stream
    /// (<see cref="TrainedPolicy.Reseed"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The environment's spaces do not match the policy's.</exception>
    public static EvaluationResult Evaluate(TrainedPolicy policy, Env env, int episodes, bool deterministic = true, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(env);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(episodes);
        if (env.ObservationSpace is not Box observations || observations.Size != policy.ObservationSize)
            throw new ArgumentException($"{env.Id ?? env.GetType().Name} observes {env.ObservationSpace}; the policy takes {policy.ObservationSize} features.", nameof(env));
        var returns = new double[episodes];
        var lengths = new int[episodes];
        var action = new float[policy.ActionSpace is Box b ? b.Size : 0];
        var obs = new float[policy.ObservationSize];
        for (int e = 0; e < episodes; e++)
        {
            env.Reset(e == 0 ? seed : null).CopyTo(obs);
            while (true)
            {
                StepResult r = action.Length == 0 ? env.Step(policy.Predict(obs, deterministic)) : Step(policy, env, obs, action, deterministic);
                returns[e] += r.Reward;
                lengths[e]++;
                r.Observation.CopyTo(obs);
                if (r.Terminated || r.Truncated) break;
            }
        }
        double mean = returns.Average();
        return new(mean, Math.Sqrt(returns.Average(x => (x - mean) * (x - mean))), returns, lengths);
    }

    private static StepResult Step(TrainedPolicy policy, Env env, float[] obs, float[] action, bool deterministic)
    {
        policy.Predict(obs, action, deterministic);
        return env.Step(action);
    }
}
