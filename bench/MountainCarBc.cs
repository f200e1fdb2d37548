using PurePg.Autodiff.Kernels;
using System.Diagnostics;
using System.Globalization;
using PurePg.Envs;
using PurePg.Envs.Vector;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Imitation;

namespace PurePg.Bench;

/// <summary>
/// BC → PPO on MountainCar-v0, where PPO from a random start does not find the flag: CleanRL's PPO settings (4 copies ×
/// 128 steps, 4 minibatches, 4 epochs, α = 2.5·10⁻⁴ annealed, entropy 0.01, no normalization) from a random
/// initialization, and the same PPO started from behaviour cloning (200 epochs) on a handful of demonstrations of the
/// scripted expert (each seed records its own), without and with the value warm-up (value-only iterations before the
/// first policy update); and the three again without the entropy bonus. Every 10,000 steps the deterministic policy is evaluated on 20 episodes; a seed reaches the
/// threshold when an evaluation's mean is ≥ −110. Also: the agreement of the policy's mode with the expert on the
/// demonstrated states after the first PPO iterations (what "the first updates undo the cloning" would show).
/// Run: dotnet run -c Release --project bench -- mountaincar-bc [budget=500000] [seeds=10] [demos=5] [warmup=5] [α=2.5e-4] [epochs=4]
/// </summary>
public static class MountainCarBc
{
    const string Id = "MountainCar-v0";
    const double Threshold = -110;

    sealed record Result(string Condition, int Seed, double AfterBc, double Best, double Final, double FinalStochastic, long? StepsToThreshold, double[] Agreement, double Seconds);

    public static void Run(string[] args)
    {
        long budget = args.Length > 1 ? long.Parse(args[1], CultureInfo.InvariantCulture) : 500_000;
        int seeds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 10;
        int demos = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 5;
        int warmup = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 5;
        double rate = args.Length > 5 ? double.Parse(args[5], CultureInfo.InvariantCulture) : 2.5e-4;
        int epochs = args.Length > 6 ? int.Parse(args[6], CultureInfo.InvariantCulture) : 4;
        Console.WriteLine(Gemm.MachineLine());
        Console.WriteLine($"mountaincar-bc: budget {budget:N0} steps, {seeds} seeds, {demos} demonstrations per seed, value warm-up {warmup} iterations, α = {rate} annealed, {epochs} epochs, evaluation every 10,000 steps (20 episodes, deterministic)");
        string[] conditions = ["PPO", "BC → PPO", $"BC → PPO, warm-up {warmup}", "PPO, entropy 0", "BC → PPO, entropy 0", $"BC → PPO, entropy 0, warm-up {warmup}"];
        var jobs = (from c in conditions from s in Enumerable.Range(0, seeds) select (c, s)).ToArray();
        var results = new Result[jobs.Length];
        Parallel.For(0, jobs.Length, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
            i => results[i] = RunOne(jobs[i].c, jobs[i].s, budget, demos, jobs[i].c.Contains("warm-up") ? warmup : 0, rate, epochs));
        Console.WriteLine();
        Console.WriteLine("| start | seeds reaching −110 | median steps to it | after BC | best evaluation | final evaluation | final, sampled actions | agreement with the expert: after BC / 1 / 5 / 20 iterations | seconds per run |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        foreach (string c in conditions)
        {
            var r = results.Where(x => x.Condition == c).ToArray();
            var reached = r.Where(x => x.StepsToThreshold is not null).Select(x => (double)x.StepsToThreshold!.Value).Order().ToArray();
            string agreement = !c.StartsWith("BC", StringComparison.Ordinal) ? "—" : string.Join(" / ", Enumerable.Range(0, 4).Select(k => r.Average(x => x.Agreement[k]).ToString("F3", CultureInfo.InvariantCulture)));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {c} | {reached.Length}/{r.Length} | {(reached.Length == 0 ? "—" : $"{reached[reached.Length / 2] / 1000:F0}k")} | {(!c.StartsWith("BC", StringComparison.Ordinal) ? "—" : MeanStd(r.Select(x => x.AfterBc)))} | {MeanStd(r.Select(x => x.Best))} | {MeanStd(r.Select(x => x.Final))} | {MeanStd(r.Select(x => x.FinalStochastic))} | {agreement} | {r.Average(x => x.Seconds):F1} |"));
        }
    }

    static string MeanStd(IEnumerable<double> values)
    {
        var v = values.ToArray();
        double mean = v.Average();
        return string.Create(CultureInfo.InvariantCulture, $"{mean:F1} ± {Math.Sqrt(v.Average(x => (x - mean) * (x - mean))):F1}");
    }

    static Result RunOne(string condition, int seed, long budget, int demos, int warmup, double rate, int epochs)
    {
        var clock = Stopwatch.StartNew();
        var ppo = new Ppo(new SyncVectorEnv(Id, 4), new PpoSettings
        {
            NumEnvs = 4, StepsPerEnv = 128, BatchSize = 128, Epochs = epochs, LearningRate = rate, AnnealLearningRate = true,
            EntropyCoefficient = condition.Contains("entropy 0") ? 0 : 0.01, Seed = seed, TotalTimesteps = budget,
        });
        var evalEnv = EnvRegistry.Make(Id);
        double Evaluate(int k) => ppo.Agent.EvaluateReturn(evalEnv, 20, 3_000_000 + k).Mean;
        double afterBc = double.NaN;
        var agreement = new double[4];
        Demonstrations? data = null;
        if (condition.StartsWith("BC", StringComparison.Ordinal))
        {
            var recorder = EnvRegistry.Make(Id);
            var expert = ScriptedExperts.For(recorder)!.Value;
            data = Demonstrations.Record(recorder, Id, expert.Description, demos, 10_000 + seed, discreteExpert: expert.Act);
            BehaviourCloning.Pretrain(ppo, data, new BehaviourCloningSettings { Epochs = 200, Seed = seed }, Id);
            afterBc = Evaluate(0);
            agreement[0] = Agreement(ppo, data);
            if (warmup > 0) ppo.WarmUpValue(warmup);
        }
        double best = afterBc, final = afterBc;
        long? reached = afterBc >= Threshold ? 0 : null;
        long nextEval = 10_000;
        int iteration = 0;
        while (ppo.TotalSteps < budget)
        {
            ppo.Iterate();
            iteration++;
            if (data is not null && iteration is 1 or 5 or 20) agreement[iteration == 1 ? 1 : iteration == 5 ? 2 : 3] = Agreement(ppo, data);
            if (ppo.TotalSteps >= nextEval)
            {
                final = Evaluate((int)(nextEval / 10_000));
                if (!(best >= final)) best = final;
                if (final >= Threshold) reached ??= ppo.TotalSteps;
                nextEval += 10_000;
            }
        }
        double sampled = ppo.Agent.EvaluateReturn(evalEnv, 20, 4_000_000, deterministic: false).Mean;
        return new Result(condition, seed, afterBc, best, final, sampled, reached, agreement, clock.Elapsed.TotalSeconds);
    }

    /// <summary>The fraction of demonstrated states where the policy's mode is the expert's action.</summary>
    static double Agreement(Ppo ppo, Demonstrations data)
    {
        var tape = new PurePg.Autodiff.Tape<float>();
        var modes = new int[data.Steps];
        var logp = new float[data.Steps];
        ppo.Agent.Categorical!.Act(tape, data.Observations.ToArray(), new PurePg.Autodiff.Rng(0), modes, logp, deterministic: true);
        return modes.Where((a, t) => a == data.DiscreteActions[t]).Count() / (double)data.Steps;
    }
}
