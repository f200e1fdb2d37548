using PurePg.Autodiff;
using PurePg.Autodiff.Modules;
using PurePg.Envs.Vector;
using PurePg.Rl.Estimators;
using PurePg.Rl.Optimizers;
using PurePg.Rl.Rollouts;
using PurePg.Rl.SecondOrder;

namespace PurePg.Rl.Algorithms;

internal sealed class TrustRegionRunner
{
    private readonly TrpoSettings _settings;
    private readonly bool _natural;
    private readonly OnPolicyRollout _rollout;

    public OnPolicyRollout Rollout => _rollout;

    public IRolloutSource Source { get; }

    public VectorEnv? Env => (Source as VectorEnvRolloutSource)?.Env;

    public long StepsPerIteration => (long)_settings.NumEnvs * _settings.StepsPerEnv;
    private readonly Tape<float> _tape = new();
    private readonly Adam<float> _valueOptimizer;
    private readonly float[] _thetaOld;

    public TrustRegionRunner(IRolloutSource source, TrpoSettings settings, bool natural)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        OnPolicyRollout.CheckSource(source, settings.NumEnvs, settings.StepsPerEnv);
        _settings = settings;
        Source = source;
        _natural = natural;
        var init = new Rng((ulong)settings.Seed);
        Agent = new ActorCritic(source.SingleObservationSpace, source.SingleActionSpace, settings.HiddenSizes, settings.Activation, settings.InitialLogStd, init);
        Core = new SecondOrderCore(Agent, settings.Damping);
        _valueOptimizer = new Adam<float>(Agent.Phi.Count, LearningRateSchedule.Constant(settings.ValueLearningRate));
        _thetaOld = new float[Agent.Theta.Count];
        _rollout = new OnPolicyRollout(source, Agent, init.Split());
        source.Reset(settings.Seed);
    }

    public ActorCritic Agent { get; }

    public SecondOrderCore Core { get; }

    public IReadOnlyList<EpisodeStatistics> LastEpisodes => _rollout.Buffer.Episodes;

    public double ExplainedVariance => _rollout.ExplainedVariance;

    public long TotalSteps => _rollout.TotalSteps;

    public void WriteState(BinaryWriter w)
    {
        Agent.WriteParameters(w);
        _valueOptimizer.WriteState(w);
        _rollout.WriteState(w);
    }

    public void ReadState(BinaryReader r)
    {
        Agent.ReadParameters(r);
        _valueOptimizer.ReadState(r);
        _rollout.ReadState(r);
    }

    public TrustRegionUpdate Update()
    {
        // collect and estimate
        _rollout.CollectAndEstimate(_settings.Gamma, _settings.GaeLambda);
        if (_settings.ValueTargets != ValueTargets.Gae) // the value targets with their own λ (the advantages keep theirs)
            _rollout.RecomputeTargets(_settings.Gamma, _settings.ValueTargets == ValueTargets.MonteCarlo ? 1.0 : 0.0);
        if (_settings.NormalizeAdvantages) AdvantageEstimation.Normalize(_rollout.Advantages);
        var buffer = _rollout.Buffer;

        // g and x ≈ (F + λI)⁻¹ g at θ_old
        Core.Begin(buffer.Observations, buffer.DiscreteActions, buffer.ContinuousActions, _rollout.Advantages);
        var cg = Core.Solve(_settings.CgIterations);
        Agent.Theta.Values.CopyTo(_thetaOld);
        var (surrogateOld, _) = Core.Evaluate();

        double kl = 0, improvement = 0, fraction = 0;
        bool accepted = false;
        if (_natural)
        {
            double gx = 0;
            for (int i = 0; i < Core.Gradient.Length; i++) gx += Core.Gradient[i] * Core.Direction[i];
            double alpha = _settings.NaturalStepSize ?? Math.Sqrt(2 * _settings.MaxKl / Math.Max(gx, 1e-12));
            SetTheta(alpha);
            (double surrogate, kl) = Core.Evaluate();
            (improvement, fraction, accepted) = (surrogate - surrogateOld, 1, true);
        }
        else
        {
            double scale = Math.Sqrt(2 * _settings.MaxKl / Math.Max(Core.DirectionQuadraticForm(), 1e-12));
            double coefficient = 1;
            for (int j = 0; j < _settings.BacktrackIterations; j++, coefficient *= _settings.BacktrackCoefficient)
            {
                SetTheta(scale * coefficient);
                var (surrogate, k) = Core.Evaluate();
                if (k <= _settings.MaxKl && surrogate - surrogateOld > 0)
                {
                    (kl, improvement, fraction, accepted) = (k, surrogate - surrogateOld, coefficient, true);
                    break;
                }
            }
            if (!accepted) _thetaOld.CopyTo(Agent.Theta.Values); // restore θ_old
        }

        FitValue();
        return new TrustRegionUpdate(TotalSteps, _rollout.MeanEpisodeReturn, kl, improvement, fraction, accepted, cg.Iterations, cg.ResidualNorm);
    }

    private void SetTheta(double step)
    {
        var theta = Agent.Theta.Values;
        for (int i = 0; i < theta.Length; i++) theta[i] = (float)(_thetaOld[i] + step * Core.Direction[i]);
    }

    private void FitValue()
    {
        int n = _rollout.Size;
        for (int it = 0; it < _settings.ValueIterations; it++)
        {
            _tape.Reset();
            _tape.ZeroGradients();
            var v = Agent.Value.Forward(_tape, _tape.Borrow(_rollout.Buffer.Observations, n, Agent.ObservationSize));
            var loss = _tape.Mean(_tape.Square(v - _tape.Borrow(_rollout.Returns, n, 1)));
            _tape.Backward(-loss);
            _valueOptimizer.Ascend(Agent.Phi.Values, _tape.GradientOf(Agent.Phi));
        }
    }
}
