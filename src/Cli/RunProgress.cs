using System.Text.Json.Nodes;
using PurePg.Rl.Rollouts;

namespace PurePg.Cli;

/// <summary>
/// What the program tracks about a run beside the trainer's own state, carried in every checkpoint's header so that a
/// resumed run goes on where it stopped: the last 100 episodes (for the rolling mean, SB3's ep_rew_mean), the episode
/// count, the wall-clock time so far, and the evaluations during training (how many, the best mean and its step).
/// </summary>
internal sealed class RunProgress
{
    public const int Window = 100;

    private readonly RecentEpisodes _recent = new(Window);

    public long Episodes { get; private set; }
    public double WallSeconds { get; set; }
    public int Evaluations { get; set; }
    public double? BestEvaluation { get; set; }
    public long BestEvaluationSteps { get; set; }

    public void Add(IEnumerable<EpisodeStatistics> finished)
    {
        foreach (var e in finished)
        {
            _recent.Add(e);
            Episodes++;
        }
    }

    /// <summary>Mean and (population) standard deviation of the last ≤ 100 returns, and their mean length; NaN before any.</summary>
    public (double Mean, double Std, double Length) Rolling()
    {
        return (_recent.MeanReturn, _recent.ReturnStd, _recent.MeanLength);
    }

    public void WriteTo(JsonObject header)
    {
        header["episodes"] = Episodes;
        header["wall_time_s"] = WallSeconds;
        header["recent_returns"] = new JsonArray(_recent.Episodes.Select(e => (JsonNode?)e.Return).ToArray());
        header["recent_lengths"] = new JsonArray(_recent.Episodes.Select(e => (JsonNode?)e.Length).ToArray());
        header["evaluations"] = Evaluations;
        header["best_eval"] = BestEvaluation;
        header["best_eval_steps"] = BestEvaluationSteps;
    }

    /// <summary>From a checkpoint header; fields a header lacks (older checkpoints) start empty.</summary>
    public static RunProgress ReadFrom(JsonNode header)
    {
        var p = new RunProgress
        {
            WallSeconds = header["wall_time_s"]?.GetValue<double>() ?? 0,
            Evaluations = header["evaluations"]?.GetValue<int>() ?? 0,
            BestEvaluation = header["best_eval"]?.GetValue<double>(),
            BestEvaluationSteps = header["best_eval_steps"]?.GetValue<long>() ?? 0,
        };
        if (header["recent_returns"] is JsonArray returns && header["recent_lengths"] is JsonArray lengths && returns.Count == lengths.Count)
            p.Add(returns.Zip(lengths, (r, l) => new EpisodeStatistics(r!.GetValue<double>(), l!.GetValue<int>())));
        p.Episodes = header["episodes"]?.GetValue<long>() ?? p.Episodes;
        return p;
    }
}
