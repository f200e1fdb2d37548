namespace PurePg.Envs;

/// <summary>What one <see cref="Env.Step(int)"/> returns, as Gymnasium's <c>(obs, reward, terminated, truncated)</c>.
/// <see cref="Observation"/> views the environment's own buffer: it stays valid until the next Step or Reset
/// (copy it to keep it).</summary>
public readonly ref struct StepResult
{
    /// <summary>Creates a result.</summary>
    public StepResult(ReadOnlySpan<float> observation, double reward, bool terminated, bool truncated)
    {
        Observation = observation;
        Reward = reward;
        Terminated = terminated;
        Truncated = truncated;
    }

    /// <summary>s_{t+1}, the observation after the step (float32, as Gymnasium's classic-control spaces).</summary>
    public ReadOnlySpan<float> Observation { get; }

    /// <summary>r_t, the reward for the step (float64, as Gymnasium returns it).</summary>
    public double Reward { get; }

    /// <summary>The episode reached a terminal state of the MDP: do not bootstrap from s_{t+1}.</summary>
    public bool Terminated { get; }

    /// <summary>The episode was cut by a time limit: s_{t+1} is not terminal, and a value estimate may bootstrap from it.</summary>
    public bool Truncated { get; }

    /// <summary>Deconstructs as <c>var (obs, reward, terminated, truncated) = env.Step(a)</c>.</summary>
    public void Deconstruct(out ReadOnlySpan<float> observation, out double reward, out bool terminated, out bool truncated)
    {
        observation = Observation;
        reward = Reward;
        terminated = Terminated;
        truncated = Truncated;
    }
}
