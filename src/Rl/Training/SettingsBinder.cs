using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Reflection;
using System.Text.Json;

namespace PurePg.Rl.Training;

/// <summary>Reads and writes an algorithm's settings record by property name (for configs, <c>--set key=value</c> and
/// run folders), rejecting unknown names and unparsable values with a message that lists what is valid.</summary>
public static class SettingsBinder
{
    /// <summary>The settable properties of a settings type, with their current values.</summary>
    public static IReadOnlyList<(string Name, Type Type, object? Value)> Describe<[DynamicallyAccessedMembers(Members)] T>(T settings) where T : class
    {
        ArgumentNullException.ThrowIfNull(settings);
        return Properties(typeof(T)).Select(p => (p.Name, p.PropertyType, p.GetValue(settings))).ToArray();
    }

    private const DynamicallyAccessedMemberTypes Members = DynamicallyAccessedMemberTypes.PublicProperties | DynamicallyAccessedMemberTypes.PublicMethods | DynamicallyAccessedMemberTypes.NonPublicMethods;

    /// <summary>A copy of <paramref name="settings"/> with the named properties set from their text.</summary>
    /// <exception cref="ArgumentException">An unknown name (the message lists the valid ones) or a value that does not parse
    /// as the property's type.</exception>
    public static T With<[DynamicallyAccessedMembers(Members)] T>(T settings, IEnumerable<KeyValuePair<string, string>> values) where T : class
    {
        ArgumentNullException.ThrowIfNull(settings);
        var props = Properties(typeof(T));
        var copy = (T)typeof(T).GetMethod("<Clone>$")!.Invoke(settings, null)!;
        foreach (var (key, text) in values)
        {
            var p = props.FirstOrDefault(q => string.Equals(q.Name, key, StringComparison.OrdinalIgnoreCase))
                ?? throw new ArgumentException($"Unknown setting '{key}' for {settings.GetType().Name}. Valid: {string.Join(", ", props.Select(q => q.Name))}.");
            p.SetValue(copy, Parse(p.Name, p.PropertyType, text));
        }
        return copy;
    }

    /// <summary>The settings as a JSON object (name → value).</summary>
    public static Dictionary<string, object?> ToDictionary<[DynamicallyAccessedMembers(Members)] T>(T settings) where T : class =>
        Properties(typeof(T)).ToDictionary(p => p.Name, p => p.GetValue(settings) is Enum e ? e.ToString() : p.GetValue(settings));

    /// <summary>Key/value pairs from a JSON object (values as their raw text; arrays as comma lists).</summary>
    public static IEnumerable<KeyValuePair<string, string>> FromJson(JsonElement obj)
    {
        if (obj.ValueKind != JsonValueKind.Object) throw new ArgumentException("A config must be a JSON object of setting names and values.");
        foreach (var p in obj.EnumerateObject())
            yield return new(p.Name, p.Value.ValueKind switch
            {
                JsonValueKind.Array => string.Join(",", p.Value.EnumerateArray().Select(e => e.GetRawText())),
                JsonValueKind.String => p.Value.GetString()!,
                JsonValueKind.Null => "null",
                _ => p.Value.GetRawText(),
            });
    }

    private static PropertyInfo[] Properties([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicProperties)] Type t) =>
        t.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.Name != "EqualityContract").ToArray();

    private static object? Parse(string name, Type type, string text)
    {
        var inv = CultureInfo.InvariantCulture;
        try
        {
            var underlying = Nullable.GetUnderlyingType(type);
            if (underlying is not null)
                return text.Equals("null", StringComparison.OrdinalIgnoreCase) || text.Length == 0 ? null : Parse(name, underlying, text);
            if (type == typeof(int)) return int.Parse(text, inv);
            if (type == typeof(long)) return long.Parse(text, inv);
            if (type == typeof(double))
            {
                double v = double.Parse(text, NumberStyles.Float, inv);
                if (!double.IsFinite(v)) throw new FormatException();
                return v;
            }
            if (type == typeof(bool)) return bool.Parse(text);
            if (type == typeof(int[]))
                return text.Trim('[', ']').Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => int.Parse(s, inv)).ToArray();
            if (type.IsEnum) return Enum.Parse(type, text, ignoreCase: true);
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
        {
            string valid = type.IsEnum ? $" (one of {string.Join(", ", Enum.GetNames(type))})" : "";
            throw new ArgumentException($"Setting '{name}': '{text}' is not a valid {Describe(type)}{valid}.");
        }
        throw new ArgumentException($"Setting '{name}' has a type ({type.Name}) that cannot be set from text.");
    }

    private static string Describe(Type t) =>
        Nullable.GetUnderlyingType(t) is Type u ? Describe(u) + " or null"
        : t == typeof(int) ? "integer" : t == typeof(long) ? "integer" : t == typeof(double) ? "finite number"
        : t == typeof(bool) ? "true/false" : t == typeof(int[]) ? "list of integers like 64,64" : t.Name;
}
