using System.Diagnostics;
using PurePg.Envs;
using PurePg.Envs.Vector;
using PurePg.Rl.Algorithms;

namespace PurePg.Bench;

/// <summary>
/// End-to-end learning runs (not BenchmarkDotNet): per seed, the environment steps and wall-clock seconds until the mean
/// deterministic evaluation return over 20 episodes reaches the threshold (evaluated every <c>evalEvery</c> steps), and
/// the median over seeds. Run: dotnet run -c Release --project bench -- learn ALGO ENV [seeds=5] [maxSteps]
/// ALGO: ppo | a2c | trpo | a3c. Hyperparameters: rl-baselines3-zoo's where it has them for the pair.
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
                if (eval >= threshold) { solved = true; break; }
            }
            Console.WriteLine($"| {seed} | {(solved ? run.Steps().ToString("N0") : $"not within {maxSteps:N0}")} | {clock.Elapsed.TotalSeconds:F2} | {eval:F1} |");
            finals.Add(eval);
            if (solved) { steps.Add(run.Steps()); times.Add(clock.Elapsed.TotalSeconds); }
        }
        static double Median(List<double> x) { x.Sort(); return x.Count == 0 ? double.NaN : x.Count % 2 == 1 ? x[x.Count / 2] : 0.5 * (x[x.Count / 2 - 1] + x[x.Count / 2]); }
        Console.WriteLine($"| median ({steps.Count}/{seeds} solved) | {Median(steps):N0} | {Median(times):F2} | {Median(finals):F1} |");
    }

    static Run Make(string algo, string id, int seed, long maxSteps)
    {
        switch (algo, id)
        {
            case ("ppo", "CartPole-v1"):
            {
                // rl-baselines3-zoo ppo.yml CartPole-v1: 8 envs, n_steps 32, batch 256, gae 0.8, γ 0.98, 20 epochs, lr lin 1e-3, clip 0.2
                var s = new PpoSettings { NumEnvs = 8, StepsPerEnv = 32, BatchSize = 256, GaeLambda = 0.8, Gamma = 0.98, Epochs = 20,
                    LearningRate = 1e-3, AnnealLearningRate = true, TotalTimesteps = 100_000, Seed = seed };
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
            case ("a3c", "CartPole-v1"):
            {
                var s = new A3cSettings { Workers = 4, Seed = seed };
                var a3c = new A3c(() => EnvRegistry.Make("CartPole-v1"), s);
                return new Run(() => { a3c.Train(2_000); return 0; }, () => a3c.TotalSteps, (env, sd) => a3c.Agent.EvaluateReturn(env, 20, sd).Mean);
            }
            default:
                throw new ArgumentException($"No settings for {algo} on {id}.");
        }
    }
}
