using PurePg.Autodiff;
using PurePg.Envs.Vector;
using PurePg.Rl.Estimators;
using PurePg.Rl.Rollouts;

namespace PurePg.Rl.Algorithms;

/// <summary>
/// The collect-and-estimate step A2C, PPO, TRPO and the natural gradient share: T steps of N copies with the agent's
/// policy (recording log π and V), then GAE(γ, λ) with V(s_final) bootstrapped after truncations and V(s_T) after the
/// rollout's last step. Holds the rollout source (local copies or a cluster's), the estimates and the step counter, and
/// writes them for checkpoints.
/// </summary>
internal sealed class OnPolicyRollout
{
    private readonly IRolloutSource _source;
    private readonly ActorCritic _agent;
    private readonly float[] _truncatedValues, _lastValues, _scratch;

    public OnPolicyRollout(IRolloutSource source, ActorCritic agent, Rng rng)
    {
        _source = source;
        _agent = agent;
        Rng = rng;
        int n = source.StepsPerEnv * source.NumEnvs;
        Advantages = new float[n];
        Returns = new float[n];
        _truncatedValues = new float[n];
        _scratch = new float[n];
        _lastValues = new float[source.NumEnvs];
    }

    /// <summary>The local source for <paramref name="env"/> (null-checked before the settings are read).</summary>
    public static VectorEnvRolloutSource Local(VectorEnv env, int stepsPerEnv)
    {
        ArgumentNullException.ThrowIfNull(env);
        return new VectorEnvRolloutSource(env, stepsPerEnv);
    }

    /// <summary>Refuses a source whose N or T differ from the settings', naming both.</summary>
    public static void CheckSource(IRolloutSource source, int numEnvs, int stepsPerEnv)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.NumEnvs != numEnvs) throw new ArgumentException($"The environment has {source.NumEnvs} copies but NumEnvs = {numEnvs}.");
        if (source.StepsPerEnv != stepsPerEnv) throw new ArgumentException($"The rollout source steps {source.StepsPerEnv} times per copy but StepsPerEnv = {stepsPerEnv}.");
    }

    public RolloutBuffer Buffer => _source.Buffer;
    public float[] Advantages { get; }
    public float[] Returns { get; }

    /// <summary>The learner's own stream (minibatch order); acting uses the source's per-copy streams.</summary>
    public Rng Rng { get; }
    public long TotalSteps { get; private set; }
    public int Size => Advantages.Length;

    /// <summary>Collects N·T steps and writes Â (GAE(γ, λ)) and the targets R = Â + V.</summary>
    public void CollectAndEstimate(double gamma, double lambda)
    {
        _source.Collect(_agent);
        TotalSteps += (long)Buffer.Steps * Buffer.NumEnvs;
        _agent.PredictValues(Buffer.FinalObservations, _scratch);
        for (int k = 0; k < _scratch.Length; k++) _truncatedValues[k] = Buffer.Truncated[k] && !Buffer.Terminated[k] ? _scratch[k] : 0f;
        _agent.PredictValues(Buffer.LastObservations, _lastValues);
        AdvantageEstimation.Gae(Buffer, gamma, lambda, _truncatedValues, _lastValues, Advantages, Returns);
    }

    /// <summary>Recomputes only the value targets with another λ (1: Monte Carlo; 0: TD), keeping the advantages.</summary>
    public void RecomputeTargets(double gamma, double lambda) =>
        AdvantageEstimation.Gae(Buffer, gamma, lambda, _truncatedValues, _lastValues, _scratch, Returns);

    /// <summary>How much of the value targets' variance V explains, 1 − Var[R − V(s)] / Var[R], over the last rollout
    /// (1: perfect; 0: no better than a constant; negative: worse), as Stable-Baselines3 logs it.</summary>
    public double ExplainedVariance
    {
        get
        {
            ReadOnlySpan<float> values = Buffer.Values, returns = Returns;
            double meanR = 0, meanD = 0;
            for (int k = 0; k < returns.Length; k++) { meanR += returns[k]; meanD += returns[k] - values[k]; }
            meanR /= returns.Length;
            meanD /= returns.Length;
            double varR = 0, varD = 0;
            for (int k = 0; k < returns.Length; k++)
            {
                varR += (returns[k] - meanR) * (returns[k] - meanR);
                double d = returns[k] - values[k] - meanD;
                varD += d * d;
            }
            return varR == 0 ? double.NaN : 1 - varD / varR;
        }
    }

    /// <summary>The mean return of the episodes that finished in the last rollout (NaN if none did).</summary>
    public double MeanEpisodeReturn => Buffer.Episodes.Count > 0 ? Buffer.Episodes.Average(e => e.Return) : double.NaN;

    public void WriteState(BinaryWriter w)
    {
        w.Write(TotalSteps);
        Training.StateIo.WriteRng(w, Rng);
        _source.WriteState(w);
    }

    public void ReadState(BinaryReader r)
    {
        TotalSteps = r.ReadInt64();
        Training.StateIo.ReadRng(r, Rng);
        _source.ReadState(r);
    }
}
