using PurePg.Autodiff;
using PurePg.Envs.Vector;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Policies;

namespace PurePg.Rl.Tests;

/// <summary>TRPO's promise checked from outside its code: after every accepted update, the mean KL(π_old ‖ π_new) over the
/// batch, recomputed in double from both parameter vectors by a separate network and a hand-written log-softmax, is at
/// most δ and the surrogate mean(π_new/π_old · Â) rose; after a rejected one, θ is bit-identical to before.</summary>
public class TrpoPropertyTests
{
    [Fact]
    public void Every_accepted_step_keeps_the_recomputed_KL_within_delta_and_raises_the_surrogate()
    {
        int accepted = 0, rejected = 0;
        // single tries at large δ (a full step of the quadratic model that lowers the true surrogate must be refused) and at a
        // δ so small that θ does not change in float32 (no improvement: refused)
        foreach (var (maxKl, tries) in new[] { (0.01, 10), (1e-4, 10), (1e-7, 10), (2.0, 1), (1e-16, 1), (50.0, 1), (1000.0, 1) })
        {
            var settings = new TrpoSettings { NumEnvs = 2, StepsPerEnv = 256, MaxKl = maxKl, BacktrackIterations = tries, HiddenSizes = [16], ValueIterations = 5, Seed = 3 };
            var trpo = new Trpo(new CartPoleVectorEnv(2), settings);
            var thetaD = new ParameterSet<double>();
            var policyD = new CategoricalMlpPolicy<double>(thetaD, 4, [16], 2);
            Assert.Equal(trpo.Agent.Theta.Count, thetaD.Count);
            for (int i = 0; i < 6; i++)
            {
                float[] before = trpo.Agent.Theta.Values.ToArray();
                var update = trpo.Update();
                float[] after = trpo.Agent.Theta.Values.ToArray();
                if (!update.Accepted)
                {
                    Assert.Equal(before, after);
                    rejected++;
                    continue;
                }
                accepted++;
                var buffer = trpo.Rollout.Buffer;
                int n = buffer.Steps * buffer.NumEnvs;
                double[] logOld = LogSoftmax(policyD, thetaD, before, buffer.Observations, n), logNew = LogSoftmax(policyD, thetaD, after, buffer.Observations, n);
                double kl = 0, surrogateGain = 0;
                for (int k = 0; k < n; k++)
                {
                    for (int a = 0; a < 2; a++) kl += Math.Exp(logOld[2 * k + a]) * (logOld[2 * k + a] - logNew[2 * k + a]);
                    int taken = buffer.DiscreteActions[k];
                    surrogateGain += (Math.Exp(logNew[2 * k + taken] - logOld[2 * k + taken]) - 1) * trpo.Rollout.Advantages[k];
                }
                kl /= n;
                surrogateGain /= n;
                Assert.True(kl <= maxKl * (1 + 1e-3), $"δ = {maxKl}, update {i}: recomputed KL {kl:G6}");
                Assert.True(surrogateGain > 0, $"δ = {maxKl}, update {i}: the surrogate changed by {surrogateGain:G6}");
            }
        }
        Assert.True(accepted >= 5 && rejected >= 1, $"{accepted} accepted, {rejected} rejected: both paths must be exercised");
    }

    /// <summary>log π(·|s) for every state with θ = <paramref name="values"/>, in double, from the logits by hand.</summary>
    private static double[] LogSoftmax(CategoricalMlpPolicy<double> policy, ParameterSet<double> theta, float[] values, float[] observations, int n)
    {
        for (int i = 0; i < values.Length; i++) theta.Values[i] = values[i];
        var tape = new Tape<double>();
        var obs = observations.AsSpan(0, n * 4).ToArray().Select(x => (double)x).ToArray();
        double[] logits = tape.Value(policy.Network.Forward(tape, tape.Constant(obs, n, 4))).ToArray();
        var result = new double[2 * n];
        for (int k = 0; k < n; k++)
        {
            double m = Math.Max(logits[2 * k], logits[2 * k + 1]);
            double lse = m + Math.Log(Math.Exp(logits[2 * k] - m) + Math.Exp(logits[2 * k + 1] - m));
            result[2 * k] = logits[2 * k] - lse;
            result[2 * k + 1] = logits[2 * k + 1] - lse;
        }
        return result;
    }
}
