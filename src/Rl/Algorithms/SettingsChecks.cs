using PurePg.Autodiff.Modules;

namespace PurePg.Rl.Algorithms;

/// <summary>The checks the settings records' Validate methods share: each throws an
/// <see cref="ArgumentOutOfRangeException"/> naming the setting, the rule and the value. NaN fails every check.</summary>
internal static class SettingsChecks
{
    public static void Positive(int value, string name)
    {
        if (value <= 0) throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive.");
    }

    public static void NonNegative(int value, string name)
    {
        if (value < 0) throw new ArgumentOutOfRangeException(name, value, $"{name} must be ≥ 0.");
    }

    public static void Positive(long value, string name)
    {
        if (value <= 0) throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive.");
    }

    public static void Seed(long value)
    {
        if (value < 0) throw new ArgumentOutOfRangeException("Seed", value, "Seed must be ≥ 0.");
    }

    public static void Positive(double value, string name)
    {
        if (!(value > 0 && double.IsFinite(value))) throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive and finite.");
    }

    public static void Positive(double? value, string name)
    {
        if (value is double v) Positive(v, name);
    }

    public static void NonNegative(double value, string name)
    {
        if (!(value >= 0 && double.IsFinite(value))) throw new ArgumentOutOfRangeException(name, value, $"{name} must be ≥ 0 and finite.");
    }

    public static void Finite(double value, string name)
    {
        if (!double.IsFinite(value)) throw new ArgumentOutOfRangeException(name, value, $"{name} must be finite.");
    }

    /// <summary>γ ∈ (0, 1].</summary>
    public static void Discount(double value, string name)
    {
        if (!(value > 0 && value <= 1)) throw new ArgumentOutOfRangeException(name, value, $"{name} must be in (0, 1].");
    }

    /// <summary>A value in [0, 1] (λ of GAE).</summary>
    public static void UnitInterval(double value, string name)
    {
        if (!(value >= 0 && value <= 1)) throw new ArgumentOutOfRangeException(name, value, $"{name} must be in [0, 1].");
    }

    /// <summary>A value in (0, 1) (a decay or a backtracking factor).</summary>
    public static void OpenUnitInterval(double value, string name)
    {
        if (!(value > 0 && value < 1)) throw new ArgumentOutOfRangeException(name, value, $"{name} must be in (0, 1).");
    }

    public static void Layers(int[]? sizes, string name)
    {
        if (sizes is null) throw new ArgumentOutOfRangeException(name, null, $"{name} must be a list of layer widths (empty for none).");
        foreach (int width in sizes)
            if (width <= 0) throw new ArgumentOutOfRangeException(name, string.Join(",", sizes), $"{name} must hold positive widths.");
    }

    public static void Defined<TEnum>(TEnum value, string name) where TEnum : struct, Enum
    {
        if (!Enum.IsDefined(value))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be one of {string.Join(", ", Enum.GetNames<TEnum>())}.");
    }

    public static void Network(int[] hiddenSizes, Activation activation, double initialLogStd)
    {
        Layers(hiddenSizes, "HiddenSizes");
        Defined(activation, "Activation");
        Finite(initialLogStd, "InitialLogStd");
    }
}
