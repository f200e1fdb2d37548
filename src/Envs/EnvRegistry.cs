using PurePg.Envs.ClassicControl;

namespace PurePg.Envs;

/// <summary>An environment id with what Gymnasium's registration says about it.</summary>
/// <param name="Id">The Gymnasium id, e.g. "CartPole-v1".</param>
/// <param name="MaxEpisodeSteps">The time limit <see cref="EnvRegistry.Make"/> applies (truncation), or null.</param>
/// <param name="RewardThreshold">The mean episode return at which the task counts as solved, or null if none is defined.</param>
/// <param name="Description">One line for listings.</param>
/// <param name="Create">Makes the bare environment (no time limit).</param>
/// <param name="CreateWithNumerics">Makes it under a given NumPy generation's promotion rules, for the environments whose
/// numbers depend on them (null: the same under both).</param>
public sealed record EnvSpec(string Id, int? MaxEpisodeSteps, double? RewardThreshold, string Description, Func<Env> Create,
    Func<GymNumerics, Env>? CreateWithNumerics = null);

/// <summary>Makes environments from their ids, as <c>gymnasium.make</c> does: the environment with its registered
/// time limit applied as truncation.</summary>
public static class EnvRegistry
{
    static readonly Dictionary<string, EnvSpec> Specs = new(StringComparer.Ordinal);

    static EnvRegistry()
    {
        Register(new("CartPole-v1", 500, 475.0, "balance a pole on a cart; 2 actions, 4-d observation", () => new CartPole()));
        Register(new("Pendulum-v1", 200, null, "swing a pendulum up; torque in [-2, 2], 3-d observation", () => new Pendulum(),
            n => new Pendulum(numerics: n)));
        Register(new("Acrobot-v1", 500, -100.0, "swing a two-link arm above a line; 3 actions, 6-d observation", () => new Acrobot()));
        Register(new("MountainCar-v0", 200, -110.0, "drive an underpowered car up a hill; 3 actions, 2-d observation", () => new MountainCar()));
        Register(new("MountainCarContinuous-v0", 999, 90.0, "the same with a continuous force in [-1, 1]", () => new MountainCarContinuous(),
            n => new MountainCarContinuous(n)));
        // The lectures' teaching environments, with exact answers (their own horizons end episodes as terminations).
        Register(new("PurePg/OneStepGaussian-v0", null, null, "maximize E[-(x-1)^2] in one step; exact gradients in mu and sigma",
            () => new Teaching.OneStepGaussian()));
        Register(new("PurePg/Chain-v0", null, null, "exploration chain H=10, 2 actions: random policy succeeds w.p. 2^-10",
            () => new Teaching.ExplorationChain(10)));
        Register(new("PurePg/Chain-UniformStart-v0", null, null, "the same chain started uniformly along it",
            () => new Teaching.ExplorationChain(10, start: Teaching.ChainStart.UniformAlongChain)));
        Register(new("PurePg/TabularMdp-v0", null, null, "random MDP |S|=5 |A|=3 H=10 (seed 0); exact J, Q, V, and grad J of a softmax policy",
            () => new Teaching.TabularMdp(5, 3, horizon: 10)));
        Register(new("PurePg/Lqr-v0", null, null, "double-integrator LQR H=50; Riccati-optimal gain and exact cost of linear policies",
            () => Teaching.Lqr.DoubleIntegrator()));
        // Pong from pixels (built here: no Atari emulator), the lectures' showcase
        Register(new("PurePg/Pong-v0", 27_000, null, "Pong against a built-in opponent; 210x160 grey frames; UP, DOWN, NOOP; 2 frames a step; a game to 21",
            () => new Pong.Pong(frameSkip: 2)));
        Register(new("PurePg/PongDiff80-v0", 27_000, null, "the same seen as the lectures do: 80x80 binary frame differences; UP, DOWN",
            () => new Pong.Pong(Pong.PongObservation.Difference80, noop: false, frameSkip: 2)));
    }

    /// <summary>Adds an id. Ids are unique.</summary>
    /// <exception cref="ArgumentException">The id is already registered.</exception>
    public static void Register(EnvSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        lock (Specs)
        {
            if (!Specs.TryAdd(spec.Id, spec))
                throw new ArgumentException($"Environment id '{spec.Id}' is already registered.", nameof(spec));
        }
    }

    /// <summary>
    /// Registers every <see cref="Env"/> subclass in the assembly at <paramref name="path"/> that carries
    /// <see cref="RegisterEnvironmentAttribute"/>; returns their ids. Ids already registered by the same type are skipped,
    /// so loading an assembly twice is harmless.
    /// </summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="ArgumentException">The file is not a .NET assembly, it registers no environment, or a marked type
    /// is not a concrete Env with a public parameterless constructor (named).</exception>
    [System.Diagnostics.CodeAnalysis.RequiresUnreferencedCode("Loads types from an assembly by reflection.")]
    public static IReadOnlyList<string> RegisterAssembly(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"No environment assembly {path}.", path);
        System.Reflection.Assembly assembly;
        try { assembly = System.Reflection.Assembly.LoadFrom(Path.GetFullPath(path)); }
        catch (BadImageFormatException) { throw new ArgumentException($"{path} is not a .NET assembly."); }
        var ids = new List<string>();
        Type[] types;
        try { types = assembly.GetTypes(); }
        catch (System.Reflection.ReflectionTypeLoadException e) { types = e.Types.Where(t => t is not null).ToArray()!; }
        foreach (var type in types)
        {
            if (type.GetCustomAttributes(typeof(RegisterEnvironmentAttribute), false).FirstOrDefault() is not RegisterEnvironmentAttribute mark) continue;
            if (!typeof(Env).IsAssignableFrom(type) || type.IsAbstract || type.GetConstructor(Type.EmptyTypes) is null)
                throw new ArgumentException($"{type.FullName} in {path} is marked [RegisterEnvironment(\"{mark.Id}\")] but is not a concrete Env with a public parameterless constructor.");
            lock (Specs)
                if (Specs.TryGetValue(mark.Id, out var existing) && existing.Description.EndsWith($"({type.FullName})", StringComparison.Ordinal))
                {
                    ids.Add(mark.Id);
                    continue;
                }
            Register(new(mark.Id, mark.MaxEpisodeSteps > 0 ? mark.MaxEpisodeSteps : null, double.IsNaN(mark.RewardThreshold) ? null : mark.RewardThreshold,
                $"{mark.Description} ({type.FullName})".TrimStart(), () => (Env)Activator.CreateInstance(type)!));
            ids.Add(mark.Id);
        }
        if (ids.Count == 0) throw new ArgumentException($"{path} registers no environment: mark an Env subclass with [RegisterEnvironment(\"Name/Id-v0\")].");
        return ids;
    }

    /// <summary>Every registered environment, in registration order.</summary>
    public static IReadOnlyList<EnvSpec> All
    {
        get { lock (Specs) return Specs.Values.ToArray(); }
    }

    /// <summary>The spec registered under <paramref name="id"/>.</summary>
    /// <exception cref="ArgumentException">No environment has that id; the message lists the valid ones.</exception>
    public static EnvSpec Spec(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        lock (Specs)
        {
            if (Specs.TryGetValue(id, out var spec)) return spec;
            throw new ArgumentException($"No environment with id '{id}'. Registered: {string.Join(", ", Specs.Keys)}.", nameof(id));
        }
    }

    /// <summary>Makes the environment registered under <paramref name="id"/> with its time limit applied, computing as
    /// Gymnasium does under <paramref name="numerics"/> (NumPy 2's promotion rules by default; see <see cref="GymNumerics"/>).</summary>
    public static Env Make(string id, GymNumerics numerics = GymNumerics.NumPy2)
    {
        var spec = Spec(id);
        var env = numerics != GymNumerics.NumPy2 && spec.CreateWithNumerics is { } create ? create(numerics) : spec.Create();
        env.Id = spec.Id;
        env.MaxEpisodeSteps = spec.MaxEpisodeSteps;
        return env;
    }
}
