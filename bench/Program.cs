using BenchmarkDotNet.Running;
using PurePg.Bench;

// dotnet run -c Release --project bench -- --filter '*'          (every benchmark)
// dotnet run -c Release --project bench -- --filter '*Gemm*'     (one family; BenchmarkDotNet's own options all work)
// dotnet run -c Release --project bench -- reinforce-cartpole    (end-to-end learning run; see ReinforceCartPole.cs)
// dotnet run -c Release --project bench -- variance-horizon      (estimator variance against the horizon H)
// dotnet run -c Release --project bench -- learn ALGO ENV        (steps to the threshold; see LearningRuns.cs)
// dotnet run -c Release --project bench -- step-profile [batch]  (forward / step / tanh split of a policy step)
// dotnet run -c Release --project bench -- gemm-pairs [M K N TA TB]...  (GEMM and OpenBLAS interleaved call by call)
// dotnet run -c Release --project bench -- peak                 (FMA peak of both widths; GEMM per kernel as % of it)
// dotnet run -c Release --project bench -- es-workers [rounds]  (evolution strategies on 1 vs 2 evaluation threads)
// dotnet run -c Release --project bench -- is-variance [episodes] (importance-sampling estimators' variance against H)
// dotnet run -c Release --project bench -- speed [--out DIR] [--seeds N] [--no-anchors]  (the speed report; = purepg bench speed)
// dotnet run -c Release --project bench -- plot-curves out.svg curves.csv [title]  (learning curves from learn … curves.csv)
if (args.Length > 0 && args[0] == "reinforce-cartpole") ReinforceCartPole.Run(args);
else if (args.Length > 0 && args[0] == "variance-horizon") VarianceByHorizon.Run(args);
else if (args.Length > 0 && args[0] == "learn") LearningRuns.Start(args);
else if (args.Length > 0 && args[0] == "step-profile") StepProfile.Run(args);
else if (args.Length > 0 && args[0] == "gemm-pairs") GemmPairs.Run(args);
else if (args.Length > 0 && args[0] == "peak") Peak.Run(args);
else if (args.Length > 0 && args[0] == "speed") Environment.ExitCode = SpeedReport.Run(args);
else if (args.Length > 0 && args[0] == "es-workers") EsWorkers.Run(args);
else if (args.Length > 0 && args[0] == "is-variance") ImportanceSamplingVariance.Run(args);
else if (args.Length > 0 && args[0] == "plot-curves") CurvePlot.Run(args);
else if (args.Length > 0 && args[0] == "chain-exploration") ChainExploration.Run(args);
else if (args.Length > 0 && args[0] == "mountaincar-bc") MountainCarBc.Run(args);
else if (args.Length > 0 && args[0] == "es-cluster") EsCluster.Run(args);
else if (args.Length > 0 && args[0] == "ppo-cluster") PpoCluster.Run(args);
else if (args.Length > 0 && args[0] == "impala-lag") ImpalaLag.Run(args);
else BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
