using PurePg.Autodiff;
using PurePg.Autodiff.Modules;
using PurePg.Envs;
using PurePg.Rl.Policies;

namespace PurePg.Rl.Algorithms;

/// <summary>
/// The agent the actor-critic and trust-region algorithms share: a policy π_θ (categorical for a Discrete action space,
/// diagonal Gaussian for a Box) and a value function V_φ, each an MLP with its own flat parameter vector (θ, φ), so
/// second-order steps (natural gradient, TRPO) act on θ alone.
/// </summary>
public sealed class ActorCritic
{
    /// <summary>Builds both networks for the given spaces and initializes them as the anchors do (orthogonal; gains √2
    /// hidden, <paramref name="policyHeadGain"/> (0.01) policy head, 1 value head; log σ = <paramref name="initialLogStd"/>).</summary>
    public ActorCritic(Box observationSpace, Space actionSpace, int[] hiddenSizes, Activation activation, double initialLogStd, Rng rng,
        double policyHeadGain = 0.01)
    {
        ArgumentNullException.ThrowIfNull(observationSpace);
        ArgumentNullException.ThrowIfNull(rng);
        ObservationSize = observationSpace.Size;
        ActionSpace = actionSpace;
        switch (actionSpace)
        {
            case Discrete d:
                Categorical = new CategoricalMlpPolicy<float>(Theta, ObservationSize, hiddenSizes, d.N, activation);
                Categorical.Initialize(rng, policyHeadGain);
                break;
            case Box b:
                ActionSize = b.Size;
                Gaussian = new GaussianMlpPolicy<float>(Theta, ObservationSize, hiddenSizes, b.Size, activation);
                Gaussian.Initialize(rng, initialLogStd, policyHeadGain);
                break;
            default:
                throw new ArgumentException($"Unsupported action space {actionSpace}.", nameof(actionSpace));
        }
        Value = new ValueMlp<float>(Phi, ObservationSize, hiddenSizes, activation);
        Value.Initialize(rng);
    }

    /// <summary>θ, the policy's parameters.</summary>
    public ParameterSet<float> Theta { get; } = new();

    /// <summary>φ, the value function's parameters.</summary>
    public ParameterSet<float> Phi { get; } = new();

    /// <summary>The policy when actions are discrete.</summary>
    public CategoricalMlpPolicy<float>? Categorical { get; }

    /// <summary>The policy when actions are continuous.</summary>
    public GaussianMlpPolicy<float>? Gaussian { get; }

    /// <summary>V_φ.</summary>
    public ValueMlp<float> Value { get; }

    /// <summary>Features per observation.</summary>
    public int ObservationSize { get; }

    /// <summary>The action space the policy acts in: <see cref="Discrete"/> (categorical) or <see cref="Box"/> (Gaussian).</summary>
    public Space ActionSpace { get; }

    /// <summary>Floats per action (0 for discrete actions).</summary>
    public int ActionSize { get; }

    /// <summary>Samples (or takes the mode of) actions for a batch of observations, with log π(a|s) and V(s), on the
    /// agent's own acting tape (a caller's tape is never touched). Not thread-safe: one agent per acting thread.</summary>
    public void Act(ReadOnlyMemory<float> observations, Rng rng, Span<int> discrete, Span<float> continuous,
        Span<float> logProbs, Span<float> values, bool deterministic = false)
    {
        if (Categorical is not null) Categorical.Act(_actingTape, observations, rng, discrete, logProbs, deterministic);
        else Gaussian!.Act(_actingTape, observations, rng, continuous, logProbs, deterministic);
        PredictValues(observations, values);
    }

    /// <summary>As <see cref="Act(ReadOnlyMemory{float}, Rng, Span{int}, Span{float}, Span{float}, Span{float}, bool)"/>, row i
    /// sampling from its own stream <paramref name="streams"/>[i]. The acting tape is batch-invariant
    /// (<see cref="Tape{T}.BatchInvariant"/>), so row i's action, log π and V are the same bits whether it is acted on alone,
    /// with all N copies, or in any block of them — on any machine with FMA.</summary>
    public void Act(ReadOnlyMemory<float> observations, ReadOnlySpan<Rng> streams, Span<int> discrete, Span<float> continuous,
        Span<float> logProbs, Span<float> values, bool deterministic = false)
    {
        if (Categorical is not null) Categorical.Act(_actingTape, observations, streams, discrete, logProbs, deterministic);
        else Gaussian!.Act(_actingTape, observations, streams, continuous, logProbs, deterministic);
        PredictValues(observations, values);
    }

    /// <summary>As <see cref="Act(ReadOnlyMemory{float}, ReadOnlySpan{Rng}, Span{int}, Span{float}, Span{float}, Span{float}, bool)"/>
    /// on <paramref name="tape"/>, a batch-invariant tape of the calling thread (so several threads can act for one agent at
    /// once, each on its own tape and rows, with the bits one thread gives); V_φ(s) is computed only when
    /// <paramref name="values"/> is not empty.</summary>
    /// <exception cref="ArgumentException">The tape is not batch-invariant.</exception>
    public void Act(Tape<float> tape, ReadOnlyMemory<float> observations, ReadOnlySpan<Rng> streams, Span<int> discrete, Span<float> continuous,
        Span<float> logProbs, Span<float> values, bool deterministic = false)
    {
        ArgumentNullException.ThrowIfNull(tape);
        if (!tape.BatchInvariant) throw new ArgumentException("Acting for a rollout needs a batch-invariant tape (Tape.BatchInvariant = true).", nameof(tape));
        if (Categorical is not null) Categorical.Act(tape, observations, streams, discrete, logProbs, deterministic);
        else Gaussian!.Act(tape, observations, streams, continuous, logProbs, deterministic);
        if (values.IsEmpty) return;
        int batch = logProbs.Length;
        if (values.Length != batch) throw new ArgumentException($"values has {values.Length} elements for a batch of {batch} observations.", nameof(values));
        tape.Reset();
        using var _ = tape.NoGrad();
        tape.Value(Value.Forward(tape, tape.Borrow(observations, batch, ObservationSize))).CopyTo(values);
    }

    /// <summary>V_φ(s) for a batch of observations (no gradient), on the agent's own acting tape.</summary>
    public void PredictValues(ReadOnlyMemory<float> observations, Span<float> values)
    {
        int batch = Policies.PolicyChecks.FiniteBatch(observations.Span, ObservationSize);
        if (values.Length != batch) throw new ArgumentException($"values has {values.Length} elements for a batch of {batch} observations.", nameof(values));
        _actingTape.Reset();
        using var _ = _actingTape.NoGrad();
        _actingTape.Value(Value.Forward(_actingTape, _actingTape.Borrow(observations, batch, ObservationSize))).CopyTo(values);
    }

    private readonly Tape<float> _actingTape = new() { BatchInvariant = true };

    /// <summary>Writes θ then φ, the parameters every algorithm's checkpoint starts with.</summary>
    public void WriteParameters(BinaryWriter w)
    {
        Training.StateIo.WriteFloats(w, Theta.Values);
        Training.StateIo.WriteFloats(w, Phi.Values);
    }

    /// <summary>Restores what <see cref="WriteParameters"/> wrote, naming θ or φ if the lengths disagree.</summary>
    public void ReadParameters(BinaryReader r)
    {
        Training.StateIo.ReadFloats(r, Theta.Values, "θ");
        Training.StateIo.ReadFloats(r, Phi.Values, "φ");
    }

    /// <summary>Records log π_θ(a|s) [batch, 1] and the mean entropy [1, 1] for states and the actions taken.</summary>
    public (Var<float> LogProb, Var<float> Entropy) Evaluate(Tape<float> tape, Var<float> states, ReadOnlySpan<int> discrete, ReadOnlySpan<float> continuous)
    {
        if (Categorical is not null)
        {
            var pi = Categorical.Distribution(tape, states);
            return (pi.LogProb(discrete), tape.Mean(pi.Entropy()));
        }
        var g = Gaussian!.Distribution(tape, states);
        return (g.LogProb(continuous), g.Entropy());
    }

    /// <summary>Mean and standard deviation of the undiscounted return over <paramref name="episodes"/> episodes of
    /// <paramref name="env"/> (first reset with <paramref name="seed"/>), with the policy's mode or samples.</summary>
    public (double Mean, double Std) EvaluateReturn(Env env, int episodes, long seed, bool deterministic = true,
        Func<float[], float[]>? normalizeObservation = null)
    {
        ArgumentNullException.ThrowIfNull(env);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(episodes);
        var tape = new Tape<float>();
        var rng = new Rng((ulong)seed);
        var returns = new double[episodes];
        int[] a = new int[1];
        float[] lp = new float[1], v = new float[1], u = new float[Math.Max(1, ActionSize)];
        var obs = new float[ObservationSize];
        for (int e = 0; e < episodes; e++)
        {
            env.Reset(e == 0 ? seed : null).CopyTo(obs);
            double total = 0;
            while (true)
            {
                var input = normalizeObservation is null ? obs : normalizeObservation(obs);
                StepResult r;
                if (Categorical is not null)
                {
                    Categorical.Act(tape, input, rng, a, lp, deterministic);
                    r = env.Step(a[0]);
                }
                else
                {
                    Gaussian!.Act(tape, input, rng, u, lp, deterministic);
                    r = env.Step(u);
                }
                total += r.Reward;
                r.Observation.CopyTo(obs);
                if (r.Terminated || r.Truncated) break;
            }
            returns[e] = total;
        }
        double mean = returns.Average();
        return (mean, Math.Sqrt(returns.Sum(x => (x - mean) * (x - mean)) / episodes));
    }
}
