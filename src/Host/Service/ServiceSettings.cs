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

        var section = new HoconSection(config, Section);
        var listenKey = section.Key("listen");
        var listenText = section.ReadString("listen");
        if (!HostPort.TryParse(listenText, out var listen, out var listenError))
        {
            throw new SettingsException(listenKey, listenError);
        }
        if (!listen!.TryGetListenAddress(out _))
        {
            throw new SettingsException(listenKey, $"the host must be an IP address or localhost, got \"{listen.Host}\"");
        }

        var settings = new ServiceSettings
        {
            Listen = listen,
            MaxSessions = section.ReadInt("max-sessions", 1, 10_000),
            MaxLineLength = section.ReadInt("max-line-length", 16, 1 << 20),
            MaxRequestsInFlight = section.ReadInt("max-requests-in-flight", 1, 4096),
            MaxQueuedLines = section.ReadInt("max-queued-lines", 16, 1_000_000),
            WriteTimeout = section.ReadDuration("write-timeout", TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(10)),
            IdleTimeout = section.ReadDuration("idle-timeout", TimeSpan.FromSeconds(1), TimeSpan.FromDays(7)),
            MaxNamedVms = section.ReadInt("max-named-vms", 0, 10_000),
            MaxVcpusPerVm = section.ReadInt("max-vcpus-per-vm", 1, Scenarios.ScenarioSession.MaxVcpus),
            MaxVcpus = section.ReadInt("max-vcpus", 1, 1 << 20),
            StatsLogInterval = section.ReadDuration("stats-log-interval", TimeSpan.FromSeconds(1), TimeSpan.FromDays(1)),
            TraceRequests = section.ReadBool("trace-requests"),
            ShutdownTimeout = section.ReadDuration("shutdown-timeout", TimeSpan.FromMilliseconds(100), TimeSpan.FromMinutes(5)),
        };
        // One request (a broadcast to a watched VM) can raise an IRQ line at every vCPU while every request in flight
        // waits for its answer: a client that reads must never find that much in its queue a reason to be cut off.
        var oneBurst = (long)settings.MaxVcpusPerVm + settings.MaxRequestsInFlight;
        if (settings.MaxQueuedLines < oneBurst)
        {
            throw new SettingsException(section.Key("max-queued-lines"),
                $"must be at least max-vcpus-per-vm + max-requests-in-flight ({oneBurst}): one broadcast to a watched VM queues an IRQ line per vCPU, got {settings.MaxQueuedLines}");
        }
        return settings;
    }
}
