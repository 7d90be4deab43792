using System.Globalization;
using Akka.Configuration;
using VApicActors.Host.Configuration;

namespace VApicActors.Host.Service;

/// <summary>
/// The limits and switches of <c>vapic serve</c>, read from <c>vapic.service</c> (defaults in
/// <c>hocon/service.hocon</c>). Built only by <see cref="Create"/>, which throws a
/// <see cref="SettingsException"/> naming the key of any value outside what it allows.
/// </summary>
public sealed record ServiceSettings
{
    public const string Section = "vapic.service";

    /// <summary>Where the service listens (loopback unless configured otherwise).</summary>
    public required HostPort Listen { get; init; }

    /// <summary>Connections served at once.</summary>
    public required int MaxSessions { get; init; }

    /// <summary>Longest request line in bytes, without its line end.</summary>
    public required int MaxLineLength { get; init; }

    /// <summary>Requests of one session read but not yet answered.</summary>
    public required int MaxRequestsInFlight { get; init; }

    /// <summary>Lines waiting to be sent to one client.</summary>
    public required int MaxQueuedLines { get; init; }

    /// <summary>How long one write to a client may block.</summary>
    public required TimeSpan WriteTimeout { get; init; }

    /// <summary>How long a session may stay without a request.</summary>
    public required TimeSpan IdleTimeout { get; init; }

    /// <summary>Named VMs at once.</summary>
    public required int MaxNamedVms { get; init; }

    /// <summary>Most vCPUs of one VM created over the service.</summary>
    public required int MaxVcpusPerVm { get; init; }

    /// <summary>Most vCPUs of all VMs together.</summary>
    public required int MaxVcpus { get; init; }

    /// <summary>Period of the statistics log line while busy.</summary>
    public required TimeSpan StatsLogInterval { get; init; }

    /// <summary>Every request goes into the message trace.</summary>
    public required bool TraceRequests { get; init; }

    /// <summary>How long shutdown waits for sessions and VMs.</summary>
    public required TimeSpan ShutdownTimeout { get; init; }

    /// <summary>
    /// The settings from <paramref name="config"/>, with the defaults beside the binary (<c>hocon/service.hocon</c>
    /// among them) filling in every key it does not set.
    /// </summary>
    public static ServiceSettings Load(Config? config = null)
    {
        var defaults = HoconSettings.LoadConfig();
        return Create(config is null ? defaults : config.WithFallback(defaults));
    }

    /// <summary>Reads and checks <c>vapic.service.*</c>.</summary>
    public static ServiceSettings Create(Config config)
    {
        ArgumentNullException.ThrowIfNull(config);

        var listenKey = Key("listen");
        var listenText = ReadString(config, listenKey);
        if (!HostPort.TryParse(listenText, out var listen, out var listenError))
        {
            throw new SettingsException(listenKey, listenError);
        }
        if (!listen!.TryGetListenAddress(out _))
        {
            throw new SettingsException(listenKey, $"the host must be an IP address or localhost, got \"{listen.Host}\"");
        }

        return new ServiceSettings
        {
            Listen = listen,
            MaxSessions = ReadInt(config, "max-sessions", 1, 10_000),
            MaxLineLength = ReadInt(config, "max-line-length", 16, 1 << 20),
            MaxRequestsInFlight = ReadInt(config, "max-requests-in-flight", 1, 4096),
            MaxQueuedLines = ReadInt(config, "max-queued-lines", 16, 1_000_000),
            WriteTimeout = ReadDuration(config, "write-timeout", TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10)),
            IdleTimeout = ReadDuration(config, "idle-timeout", TimeSpan.FromSeconds(1), TimeSpan.FromDays(7)),
            MaxNamedVms = ReadInt(config, "max-named-vms", 0, 10_000),
            MaxVcpusPerVm = ReadInt(config, "max-vcpus-per-vm", 1, Scenarios.ScenarioSession.MaxVcpus),
            MaxVcpus = ReadInt(config, "max-vcpus", 1, 1 << 20),
            StatsLogInterval = ReadDuration(config, "stats-log-interval", TimeSpan.FromSeconds(1), TimeSpan.FromDays(1)),
            TraceRequests = ReadBool(config, "trace-requests"),
            ShutdownTimeout = ReadDuration(config, "shutdown-timeout", TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(5)),
        };
    }

    private static string Key(string name) => Section + "." + name;

    private static string ReadString(Config config, string key)
    {
        if (!config.HasPath(key))
        {
            throw new SettingsException(key, "missing");
        }
        try
        {
            return config.GetString(key) ?? string.Empty;
        }
        catch (Exception e)
        {
            throw new SettingsException(key, $"cannot be read as text: {e.Message}", e);
        }
    }

    private static int ReadInt(Config config, string name, int min, int max)
    {
        var key = Key(name);
        var text = ReadString(config, key);
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new SettingsException(key, $"must be a whole number from {min} to {max}, got \"{text}\"");
        }
        return value;
    }

    private static TimeSpan ReadDuration(Config config, string name, TimeSpan min, TimeSpan max)
    {
        var key = Key(name);
        var text = ReadString(config, key);
        TimeSpan value;
        try
        {
            value = config.GetTimeSpan(key, null, allowInfinite: false);
        }
        catch (Exception e)
        {
            throw new SettingsException(key, $"must be a duration such as 10s, 500ms or 5m, got \"{text}\"", e);
        }
        if (value < min || value > max)
        {
            throw new SettingsException(key, $"must be from {min} to {max}, got \"{text}\"");
        }
        return value;
    }

    private static bool ReadBool(Config config, string name)
    {
        var key = Key(name);
        var text = ReadString(config, key).ToLowerInvariant();
        return text switch
        {
            "on" or "true" or "yes" => true,
            "off" or "false" or "no" => false,
            _ => throw new SettingsException(key, $"must be on or off, got \"{text}\""),
        };
    }
}
