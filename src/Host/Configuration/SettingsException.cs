namespace VApicActors.Host.Configuration;

/// <summary>A configuration value that start-up cannot accept: names the key and what it allows.</summary>
public sealed class SettingsException : Exception
{
    public SettingsException(string key, string problem, Exception? inner = null)
        : base($"invalid configuration: {key}: {problem}", inner)
    {
        Key = key;
        Problem = problem;
    }

    /// <summary>The full HOCON path of the offending key, e.g. <c>vapic.simulation.vcpus</c>.</summary>
    public string Key { get; }

    public string Problem { get; }
}
