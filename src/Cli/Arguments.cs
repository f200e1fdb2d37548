namespace PurePg.Cli;

/// <summary>A parsed command line: the command, its --name value options, repeatable --set pairs and bare flags.</summary>
internal sealed class Arguments
{
    private readonly Dictionary<string, string> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    public string Command { get; private set; } = "";
    public List<KeyValuePair<string, string>> Sets { get; } = new();
    public bool Help => _flags.Contains("--help") || _flags.Contains("-h");

    /// <summary>Parses <paramref name="args"/>; <paramref name="flags"/> are the options that take no value.</summary>
    public static Arguments Parse(string[] args, IReadOnlySet<string> flags)
    {
        var a = new Arguments();
        int i = 0;
        if (args.Length > 0 && !args[0].StartsWith('-')) a.Command = args[i++];
        for (; i < args.Length; i++)
        {
            string name = args[i];
            if (!name.StartsWith("--") && name != "-h") throw new UsageException($"Unexpected argument '{name}'.");
            if (name is "--help" or "-h" || flags.Contains(name)) { a._flags.Add(name); continue; }
            if (i + 1 >= args.Length) throw new UsageException($"Option {name} needs a value.");
            string value = args[++i];
            if (name == "--set")
            {
                int eq = value.IndexOf('=');
                if (eq <= 0) throw new UsageException($"--set expects key=value, got '{value}'.");
                a.Sets.Add(new(value[..eq], value[(eq + 1)..]));
            }
            else if (!a._options.TryAdd(name, value)) throw new UsageException($"Option {name} is given twice.");
        }
        return a;
    }

    public bool Flag(string name) => _flags.Contains(name);

    public string? Get(string name) => _options.GetValueOrDefault(name);

    public string Require(string name) => Get(name) ?? throw new UsageException($"Missing {name}.");

    public long GetLong(string name, long fallback, long min)
    {
        string? text = Get(name);
        if (text is null) return fallback;
        if (!long.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out long v))
            throw new UsageException($"{name} must be an integer, got '{text}'.");
        if (v < min) throw new UsageException($"{name} must be ≥ {min}, got {v}.");
        return v;
    }

    public void AllowOnly(params string[] names)
    {
        foreach (var key in _options.Keys.Concat(_flags))
            if (key is not ("--help" or "-h") && !names.Contains(key))
                throw new UsageException($"Unknown option {key} for '{Command}'.{Suggestions.DidYouMean(key, names)} Valid: {string.Join(", ", names)}.");
    }
}

/// <summary>Bad input: reported as one line on stderr with exit code 1.</summary>
internal sealed class UsageException(string message) : Exception(message);
