namespace PurePg.Envs;

/// <summary>
/// Marks an <see cref="Env"/> subclass with a public parameterless constructor as an environment to register under
/// <see cref="Id"/> when its assembly is loaded with <see cref="EnvRegistry.RegisterAssembly"/> (what
/// <c>purepg train --env-assembly</c> does), with Gymnasium's registration facts: a time limit and a reward threshold.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class RegisterEnvironmentAttribute(string id) : Attribute
{
    /// <summary>The id, e.g. "MyCorp/Line-v0".</summary>
    public string Id { get; } = id;

    /// <summary>The time limit applied as truncation (0: none).</summary>
    public int MaxEpisodeSteps { get; init; }

    /// <summary>The mean return at which the task counts as solved (NaN: none).</summary>
    public double RewardThreshold { get; init; } = double.NaN;

    /// <summary>One line for listings.</summary>
    public string Description { get; init; } = "";
}
