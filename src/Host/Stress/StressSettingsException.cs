namespace VApicActors.Host.Stress;

/// <summary>A stress or bench setting that cannot be used: names the key (or option) and what it allows.</summary>
public sealed class StressSettingsException : Exception
{
    public StressSettingsException(string key, string problem, Exception? inner = null)
        : base("invalid configuration: " + key + ": " + problem, inner)
    {
        Key = key;
        Problem = problem;
    }

    /// <summary>The full HOCON path, e.g. <c>vapic.stress.vcpus</c>.</summary>
    public string Key { get; }

    public string Problem { get; }
}
