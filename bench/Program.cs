using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench -- --filter '*'          (every benchmark)
// dotnet run -c Release --project bench -- --filter '*Gemm*'     (one family; BenchmarkDotNet's own options all work)
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
