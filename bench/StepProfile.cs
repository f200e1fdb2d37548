using System.Diagnostics;
using PurePg.Autodiff;
using PurePg.Autodiff.Modules;

namespace PurePg.Bench;

/// <summary>
/// Where a policy-gradient step of the 4-64-64-2 tanh policy spends its time (not BenchmarkDotNet: a quick split,
/// median of 3 repetitions of many calls): the forward pass alone, the whole step, and one tanh layer on [batch, 64]
/// (ours beside TensorPrimitives'). Run: dotnet run -c Release --project bench -- step-profile [batch=2048]
/// </summary>
public static class StepProfile
{
    public static void Run(string[] args)
    {
        int batch = args.Length > 1 ? int.Parse(args[1]) : 2048;
        var theta = new ParameterSet<float>();
        var pi = new Mlp<float>(theta, "pi", [4, 64, 64, 2], Activation.Tanh);
        pi.Initialize(new Rng(0), Math.Sqrt(2), 0.01);
        var rng = new Rng(1);
        var obs = Enumerable.Range(0, batch * 4).Select(_ => (float)rng.NextGaussian()).ToArray();
        var adv = Enumerable.Range(0, batch).Select(_ => (float)rng.NextGaussian()).ToArray();
        var actions = Enumerable.Range(0, batch).Select(_ => rng.NextInt(2)).ToArray();
        var h = Enumerable.Range(0, batch * 64).Select(_ => (float)(1.5 * rng.NextGaussian())).ToArray();
        var y = new float[h.Length];
        var tape = new Tape<float>();
        Var<float> Surrogate()
        {
            tape.Reset();
            tape.ZeroGradients();
            var logProb = tape.LogSoftmaxGather(pi.Forward(tape, tape.Borrow(obs, batch, 4)), actions);
            return tape.Mean(logProb * tape.Borrow(adv, batch, 1));
        }
        int calls = Math.Max(50, 2_000_000 / batch);
        double Median(Action a)
        {
            for (int i = 0; i < calls / 4; i++) a();
            var times = new double[3];
            for (int r = 0; r < 3; r++)
            {
                var clock = Stopwatch.StartNew();
                for (int i = 0; i < calls; i++) a();
                times[r] = clock.Elapsed.TotalMicroseconds / calls;
            }
            Array.Sort(times);
            return times[1];
        }
        double forward = Median(() => Surrogate());
        double step = Median(() => tape.Backward(-Surrogate()));
        double ours = Median(() => { tape.Reset(); tape.Tanh(tape.Borrow(h, batch, 64)); });
        double library = Median(() => System.Numerics.Tensors.TensorPrimitives.Tanh<float>(h, y));
        Console.WriteLine($"batch {batch}: forward {forward:F1} µs, step {step:F1} µs, one tanh layer [{batch}, 64]: ours {ours:F1} µs, TensorPrimitives {library:F1} µs");
    }
}
