using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace VApicActors.Host.Configuration;

/// <summary>
/// Reads the <c>akka</c> section the way the actor system does when it starts (<see cref="Akka.Actor.Settings"/>), before
/// anything starts, so that a value Akka cannot take (<c>akka.actor.ask-timeout = banana</c>) is a configuration error
/// naming the key rather than an actor system that fails to start with a stack trace.
/// </summary>
public static class AkkaSettingsCheck
{
    private static readonly Config AkkaDefaults = ConfigurationFactory.Default();

    /// <exception cref="SettingsException">Akka refuses a value: names its key when one key alone is refused, else <c>akka</c>.</exception>
    public static void Validate(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (Refusal(config) is not { } refusal)
        {
            return;
        }
        var key = config.HasPath("akka") && config.GetValue("akka").IsObject() ? Locate(config.GetValue("akka"), ["akka"]) : null;
        throw new SettingsException(key ?? "akka", $"not accepted by Akka: {Describe(refusal)}", refusal);
    }

    /// <summary>
    /// Checks <c>vapic-vcpu-dispatcher</c> as the VM dispatcher reads it when the first VM starts, so that a value it
    /// cannot take stops the command naming the key rather than failing later with a stack trace.
    /// </summary>
    /// <exception cref="SettingsException">A setting of the dispatcher is refused: names its full key.</exception>
    public static void ValidateVcpuDispatcher(Config config)
    {
        if (VApicActors.Actors.VcpuDispatcher.Problem(config) is { } problem)
        {
            throw new SettingsException(problem.Key, problem.Problem);
        }
    }

    private static Exception? Refusal(Config config)
    {
        try
        {
            // The settings object reads every akka.* value the actor system needs at start; it keeps the system only to
            // hand it on, so none is needed to check them.
            _ = new Akka.Actor.Settings(null!, config, ActorSystemSetup.Empty);
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    /// <summary>The deepest key under <paramref name="path"/> that Akka refuses on its own (over Akka's defaults), or null.</summary>
    private static string? Locate(HoconValue value, IReadOnlyList<string> path)
    {
        foreach (var (name, child) in value.GetObject().Items)
        {
            var alone = child.AtKey(name);
            for (var i = path.Count - 1; i >= 0; i--)
            {
                alone = alone.Root.AtKey(path[i]);
            }
            if (Refusal(alone) is null)
            {
                continue;
            }
            List<string> childPath = [.. path, name];
            var key = string.Join(".", childPath);
            // Look inside an object only where Akka has one too: {a = 1} given for a duration is that key's fault.
            var section = child.IsObject() && AkkaDefaults.HasPath(key) && AkkaDefaults.GetValue(key).IsObject();
            return (section ? Locate(child, childPath) : null) ?? key;
        }
        return null;
    }

    private static string Describe(Exception e) => e switch
    {
        ArgumentNullException => "a value of the wrong kind (an object or a list where one value belongs)",
        _ => e.GetBaseException().Message,
    };
}
