using System.Globalization;

namespace VApicActors.Host.Service;

/// <summary>What <c>stats</c> answers and the periodic log line says.</summary>
/// <param name="Sessions">Sessions connected now.</param>
/// <param name="Vms">VMs running now (named and sessions' own).</param>
/// <param name="Vcpus">vCPUs of those VMs.</param>
/// <param name="Requests">Requests answered since the service started.</param>
/// <param name="RequestsPerSecond">Requests answered per second over the last sampling period (about one second).</param>
/// <param name="Errors">Requests answered <c>ERR</c> because they could not be run.</param>
/// <param name="Failed">Requests answered <c>ERR expected X, got Y</c>.</param>
/// <param name="SessionsTotal">Sessions accepted since the service started.</param>
/// <param name="SessionsRefused">Connections refused because <c>max-sessions</c> were connected.</param>
/// <param name="Uptime">Time since the service started.</param>
public sealed record ServiceStatsSnapshot(
    int Sessions,
    int Vms,
    int Vcpus,
    long Requests,
    double RequestsPerSecond,
    long Errors,
    long Failed,
    long SessionsTotal,
    long SessionsRefused,
    TimeSpan Uptime)
{
    /// <summary>The <c>stats</c> answer after <c>OK </c>: <c>key=value</c> pairs, whole numbers in decimal (the rate rounded).</summary>
    public string Text => string.Create(CultureInfo.InvariantCulture,
        $"sessions={Sessions} vms={Vms} vcpus={Vcpus} requests={Requests} requests-per-second={RequestsPerSecond:0} errors={Errors} failed={Failed} sessions-total={SessionsTotal} refused={SessionsRefused} uptime-s={(long)Uptime.TotalSeconds}");
}
