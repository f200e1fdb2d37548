using System.Diagnostics;
using PurePg.Envs;
using PurePg.Envs.Vector;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Normalization;

namespace PurePg.Bench;

/// <summary>
/// End-to-end learning runs (not BenchmarkDotNet): per seed, the environment steps and wall-clock seconds until the mean
/// deterministic evaluation return over 20 episodes reaches the threshold (evaluated every <c>evalEvery</c> steps), and
/// the median over seeds. Run: dotnet run -c Release --project bench -- learn ALGO ENV [seeds=5] [maxSteps] [curves.csv]
/// (the last appends every evaluation as algo,env,seed,steps,seconds,eval_return, for <see cref="CurvePlot"/>).
/// ALGO: ppo | a2c | trpo | a3c | es | es-norm (observation normalization) | reinforce | reinforce-kK (K reused batches) |
/// reinforce-b:BASELINE (None, Constant, TimeDependent, VarianceOptimal, Value). Hyperparameters: rl-baselines3-zoo's where it has them for the pair.
/// </summary>
public static class LearningRuns
{
    sealed record Run(Func<object> Update, Func<long> Steps, Func<Env, long, double> Evaluate);

    public static void Start(string[] args)
    {
        string algo = args[1], id = args[2];
        int seeds = args.Length > 3 ? int.Parse(args[3]) : 5;
        var spec = EnvRegistry.Spec(id);
        double threshold = id == "Pendulum-v1" ? -200 : spec.RewardThreshold ?? throw new ArgumentException($"{id} has no threshold.");
        long maxSteps = args.Length > 4 ? long.Parse(args[4]) : 1_000_000;
        long evalEvery = id == "CartPole-v1" ? 2_048 : 10_000;
        string? curves = args.Length > 5 ? args[5] : null;
        if (curves is not null && !File.Exists(curves)) File.WriteAllText(curves, "algo,env,seed,steps,seconds,eval_return\n");
        Console.WriteLine($"{algo} on {id}: steps until the mean deterministic return over 20 evaluation episodes ≥ {threshold}");
        Console.WriteLine("| seed | env steps | wall-clock s (training only) | final eval |");
        Console.WriteLine("|---|---|---|---|");
        var steps = new List<double>();
        var times = new List<double>();
        var finals = new List<double>();
        for (int seed = 0; seed < seeds; seed++)
        {
            var run = Make(algo, id, seed, maxSteps);
            var evalEnv = EnvRegistry.Make(id);
            var clock = new Stopwatch();
            long nextEval = evalEvery;
            double eval = double.NaN;
            bool solved = false;
            while (run.Steps() < maxSteps)
            {
                clock.Start();
                run.Update();
                clock.Stop();
                if (run.Steps() < nextEval) continue;
                nextEval = run.Steps() + evalEvery;
                eval = run.Evaluate(evalEnv, 10_000 + seed);
                if (curves is not null)
                    File.AppendAllText(curves, string.Create(System.Globalization.CultureInfo.InvariantCulture,
                        $"{algo},{id},{seed},{run.Steps()},{clock.Elapsed.TotalSeconds:F4},{eval:F2}\n"));
                if (eval >= threshold) { solved = true; break; }
            }
            Console.WriteLine($"| {seed} | {(solved ? run.Steps().ToString("N0") : $"not within {maxSteps:N0}")} | {clock.Elapsed.TotalSeconds:F2} | {eval:F1} |");
            finals.Add(eval);
            if (solved) { steps.Add(run.Steps()); times.Add(clock.Elapsed.TotalSeconds); }
        }
        static double Median(List<double> x) { x.Sort(); return x.Count == 0 ? double.NaN : x.Count % 2 == 1 ? x[x.Count / 2] : 0.5 * (x[x.Count / 2 - 1] + x[x.Count / 2]); }
        Console.WriteLine($"| median ({steps.Count}/{seeds} solved) | {Median(steps):N0} | {Median(times):F2} | {Median(finals):F1} |");
    }

    static (VectorEnv Env, Func<float[], float[]>? Normalize) Environment(string id, int copies, bool normalize)
    {
        VectorEnv env = id == "CartPole-v1" ? new CartPoleVectorEnv(copies) : new SyncVectorEnv(id, copies);
        if (!normalize) return (env, null);
        var wrapped = new NormalizedVectorEnv(env);
        return (wrapped, raw =>
        {
            var z = new float[raw.Length];
            wrapped.NormalizeObservation(raw, z);
            return z;
        });
    }

    static Run PpoRun(string id, int seed, PpoSettings s, bool normalize)
    {
        var (env, norm) = Environment(id, s.NumEnvs, normalize);
        var ppo = new Ppo(env, s);
        return new Run(() => ppo.Update(), () => ppo.TotalSteps, (e, sd) => ppo.Agent.EvaluateReturn(e, 20, sd, normalizeObservation: norm).Mean);
    }

    static Run TrpoRun(string id, int seed, TrpoSettings s, bool normalize)
    {
        var (env, norm) = Environment(id, s.NumEnvs, normalize);
        var trpo = new Trpo(env, s);
        return new Run(() => trpo.Update(), () => trpo.TotalSteps, (e, sd) => trpo.Agent.EvaluateReturn(e, 20, sd, normalizeObservation: norm).Mean);
    }

    static Run Make(string algo, string id, int seed, long maxSteps)
    {
        switch (algo, id)
        {
            case ("ppo", "CartPole-v1"):
            {
                // rl-baselines3-zoo ppo.yml CartPole-v1: 8 envs, n_steps 32, batch 256, gae 0.8, γ 0.98, 20 epochs, lr lin 1e-3, clip 0.2
                // the anneal follows this run's budget (maxSteps; the zoo's n_timesteps is 100,000: pass 100000 to match it)
                var s = new PpoSettings { NumEnvs = 8, StepsPerEnv = 32, BatchSize = 256, GaeLambda = 0.8, Gamma = 0.98, Epochs = 20,
                    LearningRate = 1e-3, AnnealLearningRate = true, TotalTimesteps = maxSteps, Seed = seed };
                var ppo = new Ppo(new CartPoleVectorEnv(s.NumEnvs), s);
                return new Run(() => ppo.Update(), () => ppo.TotalSteps, (env, sd) => ppo.Agent.EvaluateReturn(env, 20, sd).Mean);
            }
            case ("a2c", "CartPole-v1"):
            {
                // rl-baselines3-zoo a2c.yml CartPole-v1: 8 envs, ent_coef 0.0, otherwise SB3 defaults
                var s = new A2cSettings { NumEnvs = 8, Seed = seed };
                var a2c = new A2c(new CartPoleVectorEnv(s.NumEnvs), s);
                return new Run(() => a2c.Update(), () => a2c.TotalSteps, (env, sd) => a2c.Agent.EvaluateReturn(env, 20, sd).Mean);
            }
            case ("trpo", "CartPole-v1"):
            {
                // rl-baselines3-zoo trpo.yml CartPole-v1: 2 envs × 512 steps, γ 0.99, gae 0.95(… here 0.97), defaults otherwise
                var s = new TrpoSettings { NumEnvs = 2, StepsPerEnv = 512, Seed = seed };
                var trpo = new Trpo(new CartPoleVectorEnv(s.NumEnvs), s);
                return new Run(() => trpo.Update(), () => trpo.TotalSteps, (env, sd) => trpo.Agent.EvaluateReturn(env, 20, sd).Mean);
            }
            case (_, "CartPole-v1") when algo == "reinforce" || algo.StartsWith("reinforce-k", StringComparison.Ordinal):
            {
                // ReinforceSettings' defaults (Spinning Up's VPG where it has one: 8 × 500 steps per update, Adam 1e-3, value
                // baseline with 80 regression steps); reinforce-kK also learns from the K − 1 previous batches, by per-step
                // importance weights truncated at c = 1 (ρ̄ = min(ρ, 1), as V-trace)
                int k = algo == "reinforce" ? 1 : int.Parse(algo["reinforce-k".Length..]);
                var s = new ReinforceSettings { Seed = seed, ReuseBatches = k, Truncation = k > 1 ? 1.0 : null };
                var reinforce = new Reinforce(new CartPoleVectorEnv(s.NumEnvs), s);
                return new Run(() => reinforce.Update(), () => reinforce.TotalSteps, (env, sd) => reinforce.Agent.EvaluateReturn(env, 20, sd).Mean);
            }
            case (_, "CartPole-v1") when algo.StartsWith("reinforce-b:", StringComparison.Ordinal):
            {
                // the same defaults with another baseline: reinforce-b:None | Constant | TimeDependent | VarianceOptimal | Value
                var s = new ReinforceSettings { Seed = seed, Baseline = Enum.Parse<ReinforceBaseline>(algo["reinforce-b:".Length..]) };
                var reinforce = new Reinforce(new CartPoleVectorEnv(s.NumEnvs), s);
                return new Run(() => reinforce.Update(), () => reinforce.TotalSteps, (env, sd) => reinforce.Agent.EvaluateReturn(env, 20, sd).Mean);
            }
            case ("es" or "es-norm", "CartPole-v1" or "Pendulum-v1" or "MountainCarContinuous-v0"):
            {
                // Salimans et al.'s defaults (EsSettings), both cores evaluating; es-norm: with the paper's observation normalization;
                // MountainCarContinuous: σ = 0.1 (at the paper's 0.02 the car never leaves the valley within 500k steps)
                var es = new Es(() => EnvRegistry.Make(id), new EsSettings { Workers = 2, Seed = seed, NormalizeObservations = algo == "es-norm",
                    Sigma = id == "MountainCarContinuous-v0" ? 0.1 : 0.02 });
                return new Run(() => es.Iterate(), () => es.TotalSteps, (env, sd) =>
                    PurePg.Rl.Policies.Evaluation.Evaluate(PurePg.Rl.Policies.TrainedPolicy.From(es, id), env, 20, seed: sd).Mean);
            }
            case ("a3c", "CartPole-v1"):
            {
                var s = new A3cSettings { Workers = 4, Seed = seed };
                var a3c = new A3c(() => EnvRegistry.Make("CartPole-v1"), s);
                return new Run(() => { a3c.Train(2_000); return 0; }, () => a3c.TotalSteps, (env, sd) => a3c.Agent.EvaluateReturn(env, 20, sd).Mean);
            }
            case ("ppo", "Acrobot-v1"):
                // zoo: normalize, 16 envs, n_steps 256, gae 0.94, γ 0.99, 4 epochs, ent 0
                return PpoRun(id, seed, new PpoSettings { NumEnvs = 16, StepsPerEnv = 256, GaeLambda = 0.94, Epochs = 4, Seed = seed }, normalize: true);
            case ("trpo", "Acrobot-v1"):
                return TrpoRun(id, seed, new TrpoSettings { NumEnvs = 2, StepsPerEnv = 1024, Seed = seed }, normalize: true);
            case ("ppo", "Pendulum-v1"):
                // zoo: 4 envs, n_steps 1024, gae 0.95, γ 0.9, 10 epochs, lr 1e-3, clip 0.2 (zoo also uses gSDE, which we do not have)
                return PpoRun(id, seed, new PpoSettings { NumEnvs = 4, StepsPerEnv = 1024, GaeLambda = 0.95, Gamma = 0.9, Epochs = 10, LearningRate = 1e-3, Seed = seed }, normalize: false);
            case ("trpo", "Pendulum-v1"):
                return TrpoRun(id, seed, new TrpoSettings { NumEnvs = 2, StepsPerEnv = 1024, Gamma = 0.9, GaeLambda = 0.95, Seed = seed }, normalize: false);
            case ("ppo", "MountainCarContinuous-v0"):
                // zoo: normalize, 1 env, n_steps 8, batch 256… (with gSDE); here 8 envs × 32 steps, batch 256, γ 0.9999, lr 7.77e-5,
                // ent 0.00429, clip 0.1, 10 epochs, gae 0.9, max_grad 5, vf 0.19
                return PpoRun(id, seed, new PpoSettings { NumEnvs = 8, StepsPerEnv = 32, BatchSize = 256, Gamma = 0.9999, LearningRate = 7.77e-5,
                    EntropyCoefficient = 0.00429, ClipRange = 0.1, Epochs = 10, GaeLambda = 0.9, MaxGradientNorm = 5, ValueCoefficient = 0.19, Seed = seed }, normalize: true);
            case ("trpo", "MountainCarContinuous-v0"):
                return TrpoRun(id, seed, new TrpoSettings { NumEnvs = 2, StepsPerEnv = 1024, Gamma = 0.999, Seed = seed }, normalize: true);
            default:
                throw new ArgumentException($"No settings for {algo} on {id}.");
        }
    }
}
