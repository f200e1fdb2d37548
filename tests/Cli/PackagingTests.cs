using System.Diagnostics;

namespace PurePg.Cli.Tests;

/// <summary>
/// The NuGet packages as a user gets them: <c>dotnet pack</c> of the built solution into a temporary folder (a version
/// of its own, so no cached package stands in), the purepg tool installed from it into a temporary tool path and run,
/// and a fresh console project that references PurePg.Rl from that folder running the README's C# example.
/// </summary>
public class PackagingTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("purepg-pack-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "PurePg.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("PurePg.sln not found above the test's folder.");
    }

    private static (int Code, string Output) Exec(string file, string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo(file, args)
        {
            WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "false";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in 5 minutes.");
        }
        return (process.ExitCode, stdout.GetAwaiter().GetResult() + stderr.GetAwaiter().GetResult());
    }

    [Fact]
    public void The_packages_install_and_run_from_a_local_folder()
    {
        string version = $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmssfff}", packages = Path.Combine(_root, "packages");
        var pack = Exec("dotnet", _root, "pack", Path.Combine(RepositoryRoot(), "PurePg.sln"), "-c", "Release", "--no-build", "-nodeReuse:false",
            "-o", packages, $"-p:PackageVersion={version}");
        Assert.True(pack.Code == 0, pack.Output);
        foreach (string id in new[] { "PurePg.Autodiff", "PurePg.Envs", "PurePg.Rl", "PurePg.Tool" })
            Assert.True(File.Exists(Path.Combine(packages, $"{id}.{version}.nupkg")), $"{id} was not packed:\n{pack.Output}");

        // the tool
        string tools = Path.Combine(_root, "tools");
        var install = Exec("dotnet", _root, "tool", "install", "--tool-path", tools, "--add-source", packages, "PurePg.Tool", "--version", version);
        Assert.True(install.Code == 0, install.Output);
        string purepg = Path.Combine(tools, OperatingSystem.IsWindows() ? "purepg.exe" : "purepg");
        var list = Exec(purepg, _root, "list");
        Assert.True(list.Code == 0 && list.Output.Contains("CartPole-v1"), list.Output);
        var train = Exec(purepg, _root, "train", "--env", "CartPole-v1", "--algo", "a2c", "--steps", "400", "--out", Path.Combine(_root, "runs"));
        Assert.True(train.Code == 0 && train.Output.Contains("evaluation (20 episodes, deterministic)"), train.Output);

        // a user's console project referencing the library packages, running the README's example
        string consumer = Path.Combine(_root, "consumer");
        Directory.CreateDirectory(consumer);
        File.WriteAllText(Path.Combine(consumer, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration><packageSources><add key="purepg-local" value="{packages}" /></packageSources></configuration>
            """);
        File.WriteAllText(Path.Combine(consumer, "consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup><OutputType>Exe</OutputType><TargetFramework>net10.0</TargetFramework><ImplicitUsings>enable</ImplicitUsings><Nullable>enable</Nullable></PropertyGroup>
              <ItemGroup><PackageReference Include="PurePg.Rl" Version="{version}" /></ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(consumer, "Program.cs"), """
            using PurePg.Envs;
            using PurePg.Envs.Vector;
            using PurePg.Rl.Algorithms;
            using PurePg.Rl.Policies;
            using PurePg.Rl.Training;

            var settings = new PpoSettings { NumEnvs = 8, StepsPerEnv = 32, BatchSize = 256, Epochs = 20, GaeLambda = 0.8,
                                             Gamma = 0.98, LearningRate = 1e-3, AnnealLearningRate = true };
            var evalCallback = new EvaluationCallback(EnvRegistry.Make("CartPole-v1"), every: 10_000) { StopAtThreshold = 475 };

            var model = new Ppo(new CartPoleVectorEnv(8), settings).Learn(100_000, [evalCallback, new ProgressCallback(Console.Out)]);
            TrainedPolicy.From(model, "CartPole-v1").Save("ppo_cartpole.pgp");
            var policy = TrainedPolicy.Load("ppo_cartpole.pgp");          // also a run folder of the program: its best policy
            int action = policy.Predict(EnvRegistry.Make("CartPole-v1").Reset(seed: 0), deterministic: true);
            var (mean, std, _, _) = Evaluation.Evaluate(policy, EnvRegistry.Make("CartPole-v1"), episodes: 20);
            Console.WriteLine($"evaluated {mean:R} {std:R}");
            """);
        var run = Exec("dotnet", consumer, "run", "-c", "Release", "-nodeReuse:false");
        Assert.True(run.Code == 0, run.Output);
        string line = run.Output.Split('\n').Single(l => l.StartsWith("evaluated "));
        Assert.True(double.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture) >= 475, run.Output);
    }
}
