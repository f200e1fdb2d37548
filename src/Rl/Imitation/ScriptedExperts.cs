using PurePg.Envs;
using PurePg.Envs.ClassicControl;
using PurePg.Envs.Teaching;

namespace PurePg.Rl.Imitation;

/// <summary>
/// Hand-written experts for environments whose good behaviour is known, for recording demonstrations without a trained
/// policy (<c>purepg record --expert scripted</c>). Each is a fixed rule of the observation:
/// <list type="bullet">
/// <item>the exploration chain: the correct action of the one-hot state (optimal: return 1 from any start);</item>
/// <item>MountainCar-v0: push right when v &gt; 0.008·(x + 0.48), else left — pumping energy in the direction of motion,
/// with the first push chosen by the position (mean return −105.2 over 1,000 episodes, min −121; the threshold is −110);</item>
/// <item>CartPole-v1: push right when 0.05x + 0.2ẋ + θ + 0.3θ̇ &gt; 0, a linear balance rule (500 in every one of 100 episodes).</item>
/// </list>
/// The rules' coefficients were found by a grid search over the returns of the simulator (not from any learner).
/// </summary>
public static class ScriptedExperts
{
    /// <summary>The scripted expert for <paramref name="env"/> — a description and the rule — or null when there is none.</summary>
    public static (string Description, Func<float[], int> Act)? For(Env env)
    {
        ArgumentNullException.ThrowIfNull(env);
        return env switch
        {
            ExplorationChain chain => ($"scripted: the chain's correct action in each state (H = {chain.Length}, {chain.NumActions} actions)",
                obs => chain.CorrectAction(OneHotState(obs, chain.Length))),
            MountainCar => ("scripted: push right when v > 0.008·(x + 0.48), else left", obs => obs[1] > 0.008f * (obs[0] + 0.48f) ? 2 : 0),
            CartPole => ("scripted: push right when 0.05x + 0.2ẋ + θ + 0.3θ̇ > 0, else left",
                obs => 0.05f * obs[0] + 0.2f * obs[1] + obs[2] + 0.3f * obs[3] > 0 ? 1 : 0),
            _ => null,
        };
    }

    private static int OneHotState(float[] obs, int length)
    {
        for (int s = 0; s < length; s++)
            if (obs[s] == 1) return s;
        throw new ArgumentException($"The chain observation has no 1 among its first {length} features (the goal state has no action).");
    }
}
