namespace PurePg.Cli;

/// <summary>"Did you mean …?" for a mistyped name: the closest valid name by edit distance (case-insensitive), if it
/// is close enough to be a typo rather than another word.</summary>
internal static class Suggestions
{
    /// <summary>" Did you mean X?" or "" when no name is within max(2, ⌊|input|/3⌋) edits.</summary>
    public static string DidYouMean(string input, IEnumerable<string> valid)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (string name in valid)
        {
            int d = Distance(input.ToLowerInvariant(), name.ToLowerInvariant());
            if (d < bestDistance) (best, bestDistance) = (name, d);
        }
        return best is not null && bestDistance > 0 && bestDistance <= Math.Max(2, input.Length / 3) ? $" Did you mean {best}?" : "";
    }

    /// <summary>Levenshtein distance with adjacent transpositions counted as one edit.</summary>
    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }
}
