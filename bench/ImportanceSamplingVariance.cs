using System.Globalization;
using System.Text;
using PurePg.Autodiff;
using PurePg.Envs;
using PurePg.Envs.Teaching;
using PurePg.Envs.Vector;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Estimators;

namespace PurePg.Bench;

/// <summary>
/// The lectures' warning about importance sampling in numbers: the variance tr Cov(ĝ) of the per-episode off-policy
/// gradient estimate against the horizon H, for the full trajectory ratio, the per-decision ratio and the per-step
/// approximation (Ĝ_t = G_t, γ = 1), beside the on-policy estimates from π_θ's own episodes (the total return R(τ) on every
/// step, the reference of the full ratio, which uses R(τ); the reward-to-go G_t, the reference of the other two), with the effective
/// sample size (ΣW)²/ΣW² of the trajectory weights as a fraction of the episodes. Two settings:
/// <list type="bullet">
/// <item>a random tabular MDP (|S| = 4, |A| = 2), π_θ a random softmax and π_β = softmax(θ + 0.2·N(0, 1));</item>
/// <item>CartPole-v1 with the 64-64 tanh policy of REINFORCE after 30 updates (seed 0) as π_β and after one more update
/// as π_θ — "one update behind"; episodes end at termination or at H steps.</item>
/// </list>
/// Since even the on-policy estimate's variance grows with H (as H³ at γ = 1 for the total return), the lesson is in the
/// ratio of each off-policy variance to the on-policy one: exponential in H for the full ratio, slower for the
/// per-decision form, flat for the per-step form. The SVGs plot that ratio (log scale) against H.
/// Every estimate goes through the library's estimators (the coefficients of <see cref="TrajectoryImportanceSampling"/>,
/// <see cref="PerDecisionImportanceSampling"/>, <see cref="PerStepImportanceSampling"/>). Prints two tables and writes a
/// chart per setting. Run: dotnet run -c Release --project bench -- is-variance [episodes=20000] [out=bench] (CartPole uses
/// a tenth of the episodes).
/// </summary>
public static class ImportanceSamplingVariance
{
    static readonly int[] Horizons = [5, 10, 20, 50, 100, 200];
    static readonly string[] Names = ["full ratio", "per-decision", "per-step", "on-policy G_t", "on-policy R(τ)"];

    public static void Run(string[] args)
    {
        int m = args.Length > 1 ? int.Parse(args[1]) : 20_000;
        string outDir = args.Length > 2 ? args[2] : "bench";
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSArchitecture}, .NET {Environment.Version}");
        var tabular = Tabular(m);
        Report($"Random tabular MDP (|S| = 4, |A| = 2, γ = 1), π_β = softmax(θ + 0.2·N(0,1)), {m} episodes per H", tabular);
        File.WriteAllText(Path.Combine(outDir, "is-variance-tabular.svg"), Svg("random tabular MDP: tr Cov(ĝ) ÷ on-policy tr Cov against H", tabular));
        int cartM = Math.Max(100, m / 10);
        var cart = CartPole(cartM);
        Report($"CartPole-v1, π_β = REINFORCE after 30 updates, π_θ after 31 (seed 0), {cartM} episodes per H", cart);
        File.WriteAllText(Path.Combine(outDir, "is-variance-cartpole.svg"), Svg("CartPole-v1: tr Cov(ĝ) ÷ on-policy tr Cov against H", cart));
    }

    sealed record Row(int H, double[] Variance, double EssFraction, double MeanLength);

    static void Report(string title, List<Row> rows)
    {
        Console.WriteLine();
        Console.WriteLine(title);
        Console.WriteLine($"| H | tr Cov: {string.Join(" | ", Names)} | full ÷ on-policy R(τ) | per-decision ÷ on-policy G_t | per-step ÷ on-policy G_t | ESS/N of W | mean episode length |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in rows)
            Console.WriteLine($"| {r.H} | {string.Join(" | ", r.Variance.Select((double v) => v.ToString("G3", CultureInfo.InvariantCulture)))} | " +
                $"{string.Join(" | ", Enumerable.Range(0, 3).Select(e => Relative(r, e).ToString("F2", CultureInfo.InvariantCulture)))} | {r.EssFraction:F3} | {r.MeanLength:F1} |");
        var slopes = Enumerable.Range(0, Names.Length).Select((int e) => Slope(rows.Select(r => (double)r.H).ToArray(), rows.Select(r => r.Variance[e]).ToArray()));
        Console.WriteLine($"| log-log slope | {string.Join(" | ", slopes.Select((double s) => s.ToString("F2", CultureInfo.InvariantCulture)))} | | | | | |");
    }

    /// <summary>The full ratio ÷ on-policy R(τ); per-decision and per-step ÷ on-policy G_t.</summary>
    static double Relative(Row r, int e) => r.Variance[e] / r.Variance[e == 0 ? 4 : 3];

    static double Slope(double[] x, double[] y)
    {
        var lx = x.Select(v => Math.Log(v)).ToArray();
        var ly = y.Select(v => Math.Log(v)).ToArray();
        double mx = lx.Average(), my = ly.Average();
        return lx.Zip(ly, (a, b) => (a - mx) * (b - my)).Sum() / lx.Sum(a => (a - mx) * (a - mx));
    }

    /// <summary>Running per-component sums for tr Cov = Σ_k Var(ĝ_k).</summary>
    sealed class Moments(int k)
    {
        readonly double[] _sum = new double[k], _sq = new double[k];
        int _n;
        public void Add(ReadOnlySpan<double> g)
        {
            for (int i = 0; i < g.Length; i++) { _sum[i] += g[i]; _sq[i] += g[i] * g[i]; }
            _n++;
        }
        public void Add(ReadOnlySpan<float> g)
        {
            for (int i = 0; i < g.Length; i++) { _sum[i] += g[i]; _sq[i] += (double)g[i] * g[i]; }
            _n++;
        }
        public double Trace()
        {
            double t = 0;
            for (int i = 0; i < _sum.Length; i++) t += (_sq[i] - _sum[i] * _sum[i] / _n) / (_n - 1);
            return t;
        }
    }

    static List<Row> Tabular(int m)
    {
        const int nS = 4, nA = 2;
        var rows = new List<Row>();
        foreach (int h in Horizons)
        {
            var mdp = new TabularMdp(nS, nA, horizon: h, gamma: 1.0, seed: 1);
            var random = new Random(2);
            var theta = Enumerable.Range(0, nS * nA).Select(_ => random.NextDouble() * 2 - 1).ToArray();
            var noise = new Rng(5);
            var beta = theta.Select(x => x + 0.2 * noise.NextGaussian()).ToArray();
            var pi = mdp.Policy(theta);
            var piB = mdp.Policy(beta);
            var moments = Enumerable.Range(0, Names.Length).Select(_ => new Moments(nS * nA)).ToArray();
            var (states, actions) = (new int[h], new int[h]);
            var (lt, lb, r, adv, c) = (new double[h], new double[h], new double[h], new double[h], new double[h]);
            var g = new double[nS * nA];
            var logW = new List<double>();
            int[] length = [h];
            mdp.Reset(seed: 3);
            for (int i = 0; i < 2 * m; i++)
            {
                bool onPolicy = i >= m; // the first m episodes from π_β, the next m from π_θ
                var policy = onPolicy ? pi : piB;
                for (int t = 0; t < h; t++)
                {
                    states[t] = mdp.State;
                    actions[t] = random.NextDouble() < policy[states[t], 0] ? 0 : 1;
                    lt[t] = Math.Log(pi[states[t], actions[t]]);
                    lb[t] = Math.Log(piB[states[t], actions[t]]);
                    r[t] = mdp.Step(actions[t]).Reward;
                }
                mdp.Reset();
                Returns.RewardToGo(r, adv);
                for (int e = onPolicy ? 3 : 0; e < (onPolicy ? 5 : 3); e++)
                {
                    switch (e)
                    {
                        case 0:
                            TrajectoryImportanceSampling.Coefficients<double>(lt, lb, r, length, 1.0, c);
                            logW.Add(lt.Sum() - lb.Sum());
                            break;
                        case 1: PerDecisionImportanceSampling.Coefficients<double>(lt, lb, r, length, 1.0, c); break;
                        case 2: PerStepImportanceSampling.Coefficients<double>(lt, lb, adv, c); break;
                        case 3: adv.CopyTo(c, 0); break;
                        default: TrajectoryImportanceSampling.Coefficients<double>(lt, lt, r, length, 1.0, c); break; // W = 1: R(τ)
                    }
                    Array.Clear(g);
                    for (int t = 0; t < h; t++)
                        for (int b = 0; b < nA; b++) // ∂log π(a|s)/∂θ[s,b] = 1[a = b] − π(b|s)
                            g[states[t] * nA + b] += c[t] * ((actions[t] == b ? 1 : 0) - pi[states[t], b]);
                    moments[e].Add(g);
                }
            }
            rows.Add(new Row(h, moments.Select(x => x.Trace()).ToArray(), Ess(logW) / m, h));
            Console.Error.Write($"\rtabular H = {h} done");
        }
        Console.Error.WriteLine();
        return rows;
    }

    static double Ess(List<double> logW)
    {
        double max = logW.Max(), s = 0, s2 = 0;
        foreach (double l in logW) { double w = Math.Exp(l - max); s += w; s2 += w * w; }
        return s * s / s2;
    }

    static List<Row> CartPole(int m)
    {
        var settings = new ReinforceSettings { NumEnvs = 8, StepsPerEnv = 500, Seed = 0 };
        var algo = new Reinforce(new CartPoleVectorEnv(settings.NumEnvs), settings);
        for (int i = 0; i < 30; i++) algo.Update();
        var policy = algo.CategoricalPolicy!;
        var parameters = algo.PolicyParameters;
        float[] thetaB = parameters.Values.ToArray();
        algo.Update();
        float[] theta = parameters.Values.ToArray();
        int k = theta.Length;
        var rows = new List<Row>();
        var tape = new Tape<float>();
        var rng = new Rng(7);
        var env = EnvRegistry.Make("CartPole-v1");
        foreach (int h in Horizons)
        {
            var moments = Enumerable.Range(0, Names.Length).Select(_ => new Moments(k)).ToArray();
            var logW = new List<double>();
            double lengths = 0;
            for (int i = 0; i < 2 * m; i++)
            {
                bool onPolicy = i >= m;
                (onPolicy ? theta : thetaB).CopyTo(parameters.Values);
                var (obs, actions, lb, rewards) = Episode(policy, env, h, rng, seed: i == 0 ? 11 : null);
                int n = actions.Length;
                if (!onPolicy) lengths += n;
                theta.CopyTo(parameters.Values);
                var lt = new float[n];
                var adv = new float[n];
                var c = new float[n];
                double gAcc = 0;
                for (int t = n - 1; t >= 0; t--) adv[t] = (float)(gAcc = rewards[t] + gAcc);
                for (int e = onPolicy ? 3 : 0; e < (onPolicy ? 5 : 3); e++)
                {
                    tape.Reset();
                    tape.ZeroGradients();
                    var logProb = policy.Distribution(tape, tape.Borrow(obs, n, 4)).LogProb(actions);
                    tape.Value(logProb).CopyTo(lt);
                    if (onPolicy) lt.CopyTo(lb, 0);
                    switch (e)
                    {
                        case 0:
                            TrajectoryImportanceSampling.Coefficients<float>(lt, lb, rewards, [n], 1.0, c);
                            logW.Add(lt.Sum(x => (double)x) - lb.Sum(x => (double)x));
                            break;
                        case 1: PerDecisionImportanceSampling.Coefficients<float>(lt, lb, rewards, [n], 1.0, c); break;
                        case 2: PerStepImportanceSampling.Coefficients<float>(lt, lb, adv, c); break;
                        case 3: adv.CopyTo(c, 0); break;
                        default: TrajectoryImportanceSampling.Coefficients<float>(lt, lt, rewards, [n], 1.0, c); break; // W = 1: R(τ)
                    }
                    PolicyGradient.Accumulate(tape, logProb, c, 1f);
                    moments[e].Add(tape.GradientOf(parameters));
                }
            }
            rows.Add(new Row(h, moments.Select(x => x.Trace()).ToArray(), Ess(logW) / m, lengths / m));
            Console.Error.Write($"\rCartPole H = {h} done");
        }
        Console.Error.WriteLine();
        theta.CopyTo(parameters.Values);
        return rows;
    }

    /// <summary>One episode of at most <paramref name="h"/> steps with the policy's current θ: observations, actions,
    /// log π(a|s) of the acting policy and rewards.</summary>
    static (float[] Obs, int[] Actions, float[] LogProbs, float[] Rewards) Episode(PurePg.Rl.Policies.CategoricalMlpPolicy<float> policy, Env env, int h, Rng rng, long? seed)
    {
        var obs = new List<float>();
        var actions = new List<int>();
        var logProbs = new List<float>();
        var rewards = new List<float>();
        var o = env.Reset(seed).ToArray();
        var tape = new Tape<float>();
        int[] a = new int[1];
        float[] lp = new float[1];
        for (int t = 0; t < h; t++)
        {
            policy.Act(tape, o, rng, a, lp);
            obs.AddRange(o);
            actions.Add(a[0]);
            logProbs.Add(lp[0]);
            var step = env.Step(a[0]);
            rewards.Add((float)step.Reward);
            o = step.Observation.ToArray();
            if (step.Terminated || step.Truncated) break;
        }
        return (obs.ToArray(), actions.ToArray(), logProbs.ToArray(), rewards.ToArray());
    }

    /// <summary>tr Cov of each off-policy estimator ÷ the on-policy one (log scale) against H (linear), one line each.</summary>
    static string Svg(string title, List<Row> rows)
    {
        const int w = 720, hgt = 440, left = 80, right = 170, top = 40, bottom = 50;
        string[] colors = ["#d62728", "#ff7f0e", "#1f77b4"];
        string[] labels = ["full ratio ÷ R(τ)", "per-decision ÷ G_t", "per-step ÷ G_t"];
        double x0 = 0, x1 = rows[^1].H;
        var all = rows.SelectMany(r => Enumerable.Range(0, 3).Select(e => Relative(r, e))).Where(v => v > 0).Append(1.0).ToArray();
        double y0 = Math.Floor(Math.Log10(all.Min()) * 2) / 2, y1 = Math.Ceiling(Math.Log10(all.Max()) * 2) / 2;
        double X(double h) => left + (h - x0) / (x1 - x0) * (w - left - right);
        double Y(double v) => top + (y1 - Math.Log10(v)) / (y1 - y0) * (hgt - top - bottom);
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine(inv, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{hgt}\" font-family=\"sans-serif\" font-size=\"12\">");
        sb.AppendLine(inv, $"<rect width=\"{w}\" height=\"{hgt}\" fill=\"white\"/><text x=\"{left}\" y=\"22\" font-size=\"14\">{title}</text>");
        for (double d = y0; d <= y1 + 1e-9; d += 0.5)
            sb.AppendLine(inv, $"<line x1=\"{left}\" x2=\"{w - right}\" y1=\"{Y(Math.Pow(10, d)):F1}\" y2=\"{Y(Math.Pow(10, d)):F1}\" stroke=\"#ddd\"/><text x=\"{left - 8}\" y=\"{Y(Math.Pow(10, d)) + 4:F1}\" text-anchor=\"end\">{Math.Pow(10, d):G3}</text>");
        foreach (var r in rows)
            sb.AppendLine(inv, $"<line x1=\"{X(r.H):F1}\" x2=\"{X(r.H):F1}\" y1=\"{top}\" y2=\"{hgt - bottom}\" stroke=\"#eee\"/><text x=\"{X(r.H):F1}\" y=\"{hgt - bottom + 18}\" text-anchor=\"middle\">{r.H}</text>");
        sb.AppendLine(inv, $"<text x=\"{(left + w - right) / 2}\" y=\"{hgt - 10}\" text-anchor=\"middle\">horizon H</text>");
        sb.AppendLine(inv, $"<text transform=\"translate(18,{(top + hgt - bottom) / 2}) rotate(-90)\" text-anchor=\"middle\">variance ÷ on-policy variance (log scale)</text>");
        for (int e = 0; e < 3; e++)
        {
            var pts = rows.Where(r => Relative(r, e) > 0).Select(r => $"{X(r.H):F1},{Y(Relative(r, e)):F1}");
            sb.AppendLine(inv, $"<polyline fill=\"none\" stroke=\"{colors[e]}\" stroke-width=\"2\" points=\"{string.Join(' ', pts)}\"/>");
            sb.AppendLine(inv, $"<line x1=\"{w - right + 15}\" x2=\"{w - right + 40}\" y1=\"{top + 20 + 20 * e}\" y2=\"{top + 20 + 20 * e}\" stroke=\"{colors[e]}\" stroke-width=\"2\"/><text x=\"{w - right + 45}\" y=\"{top + 24 + 20 * e}\">{labels[e]}</text>");
        }
        sb.AppendLine("</svg>");
        return sb.ToString();
    }
}
