using System.Reflection;
using PurePg.Autodiff.Modules;
using PurePg.Rl.Algorithms;
using PurePg.Rl.Training;

namespace PurePg.Rl.Tests;

/// <summary>Every settings record refuses a bad value in every field before anything runs, naming the field.</summary>
public class SettingsValidationTests
{
    public static TheoryData<string, string> Fields()
    {
        var data = new TheoryData<string, string>();
        foreach (var type in new[] { typeof(PpoSettings), typeof(A2cSettings), typeof(A3cSettings), typeof(TrpoSettings), typeof(ReinforceSettings), typeof(EsSettings) })
            foreach (var p in Settable(type))
                if (p.PropertyType != typeof(bool)) // no bool value is bad
                    data.Add(type.Name, p.Name);
        return data;
    }

    private static IEnumerable<PropertyInfo> Settable(Type t) =>
        t.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.Name != "EqualityContract");

    /// <summary>A value no field of that type accepts: NaN for a number, −1 for a count or a seed, a zero-width layer,
    /// an undefined enum value.</summary>
    private static object Bad(Type t) =>
        t == typeof(double) || t == typeof(double?) ? double.NaN
        : t == typeof(int) ? -1
        : t == typeof(long) ? -1L
        : t == typeof(int[]) ? new[] { 64, 0 }
        : t.IsEnum ? Enum.ToObject(t, 99)
        : throw new NotSupportedException(t.Name);

    private static void Validate(object settings) => settings.GetType().GetMethod("Validate")!.Invoke(settings, null);

    [Theory]
    [MemberData(nameof(Fields))]
    public void A_bad_value_in_any_field_is_refused_naming_the_field(string typeName, string field)
    {
        var type = typeof(PpoSettings).Assembly.GetType($"PurePg.Rl.Algorithms.{typeName}")!;
        var defaults = Activator.CreateInstance(type)!;
        Validate(defaults); // the defaults are valid
        var copy = type.GetMethod("<Clone>$")!.Invoke(defaults, null)!;
        var property = type.GetProperty(field)!;
        property.SetValue(copy, Bad(property.PropertyType));
        var e = Assert.Throws<TargetInvocationException>(() => Validate(copy)).InnerException;
        var range = Assert.IsType<ArgumentOutOfRangeException>(e);
        Assert.Equal(field, range.ParamName);
        Assert.StartsWith(field + " must", range.Message);
    }

    [Fact]
    public void The_cases_the_review_found_silent_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new A2cSettings { LearningRate = -7e-4 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new A3cSettings { LearningRate = -7e-4 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new A2cSettings { MaxGradientNorm = -0.5 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new TrpoSettings { BacktrackCoefficient = 1.5 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new TrpoSettings { BacktrackIterations = 0 }.Validate());
        // and before anything is built
        Assert.Throws<ArgumentOutOfRangeException>(() => AlgorithmCatalog.Configure("a2c", 8, 0, 1000, [new("LearningRate", "-1")]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new A3c(() => Envs.EnvRegistry.Make("CartPole-v1"), new A3cSettings { TMax = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new A2c(new Envs.Vector.CartPoleVectorEnv(8), new A2cSettings { HiddenSizes = [0] }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Trpo(new Envs.Vector.CartPoleVectorEnv(8), new TrpoSettings { Activation = (Activation)7 }));
    }
}
