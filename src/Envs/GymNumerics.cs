namespace PurePg.Envs;

/// <summary>
/// Which NumPy generation's type promotion the classic-control environments reproduce. Gymnasium's Pendulum-v1 and
/// MountainCarContinuous-v0 mix float32 actions and states with Python floats, and the two generations type those
/// operations differently, so their numbers differ in the last bits (and MountainCarContinuous's drift apart over an
/// episode). The other classic-control environments compute the same under both: the choice changes nothing there.
/// </summary>
public enum GymNumerics
{
    /// <summary>NumPy 2's rules (NEP 50): a Python float is "weak" and takes the other operand's type, so a float32
    /// action keeps Pendulum's 0.001·u² and 3·u, and MountainCarContinuous's float32 state, in float32. The default;
    /// also NumPy 1.24+ with <c>NPY_PROMOTION_STATE=weak</c>.</summary>
    NumPy2,

    /// <summary>NumPy 1.x's legacy rules: a Python float or int meeting a NumPy float32 scalar promotes the operation to
    /// float64 (what Debian 12 and Ubuntu 24.04's NumPy do by default).</summary>
    NumPy1,
}
