namespace PurePg.Rl.Rollouts;

/// <summary>The last <see cref="Window"/> finished episodes (Stable-Baselines3's ep_info_buffer): their mean return
/// R̄ = (1/n) Σ R_i, its population standard deviation √((1/n) Σ (R_i − R̄)²) and their mean length; NaN before any.</summary>
public sealed class RecentEpisodes(int window = 100)
{
    private readonly Queue<EpisodeStatistics> _episodes = new();

    /// <summary>How many episodes are kept at most.</summary>
    public int Window { get; } = window > 0 ? window : throw new ArgumentOutOfRangeException(nameof(window), window, "The window must be positive.");

    /// <summary>How many are kept now (≤ <see cref="Window"/>).</summary>
    public int Count => _episodes.Count;

    /// <summary>The kept episodes, oldest first.</summary>
    public IEnumerable<EpisodeStatistics> Episodes => _episodes;

    /// <summary>Adds one, dropping the oldest beyond the window.</summary>
    public void Add(EpisodeStatistics episode)
    {
        _episodes.Enqueue(episode);
        if (_episodes.Count > Window) _episodes.Dequeue();
    }

    /// <summary>R̄ (NaN before any episode).</summary>
    public double MeanReturn => _episodes.Count > 0 ? _episodes.Average(e => e.Return) : double.NaN;

    /// <summary>The population standard deviation of the returns (NaN before any episode).</summary>
    public double ReturnStd
    {
        get
        {
            double mean = MeanReturn;
            return _episodes.Count > 0 ? Math.Sqrt(_episodes.Average(e => (e.Return - mean) * (e.Return - mean))) : double.NaN;
        }
    }

    /// <summary>The mean length (NaN before any episode).</summary>
    public double MeanLength => _episodes.Count > 0 ? _episodes.Average(e => (double)e.Length) : double.NaN;
}
