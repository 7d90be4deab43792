using System.Globalization;
using System.Net;

namespace VApicActors.Host.Service;

/// <summary>
/// A <c>HOST:PORT</c> pair as written on the command line and in HOCON: <c>127.0.0.1:7411</c>,
/// <c>localhost:7411</c>, <c>[::1]:7411</c>. Port 0 means "any free port" when listening.
/// </summary>
public sealed record HostPort(string Host, int Port)
{
    public const int MaxPort = 65535;

    /// <summary>Reads <c>HOST:PORT</c>; false with a reason when it is not one.</summary>
    public static bool TryParse(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out HostPort? value, out string error) => TryParse(text, 0, out value, out error);

    /// <summary>
    /// Reads <c>HOST:PORT</c> of a port to connect to: port 0, which means "any free port" only for listening, is not one.
    /// </summary>
    public static bool TryParseToConnect(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out HostPort? value, out string error) => TryParse(text, 1, out value, out error);

    private static bool TryParse(string? text, int minPort, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out HostPort? value, out string error)
    {
        value = null;
        error = string.Empty;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "expected HOST:PORT, got nothing";
            return false;
        }
        text = text.Trim();
        string host;
        string portText;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || close + 1 >= text.Length || text[close + 1] != ':')
            {
                error = $"expected [IPV6]:PORT, got \"{text}\"";
                return false;
            }
            host = text[1..close];
            portText = text[(close + 2)..];
        }
        else
        {
            var colon = text.LastIndexOf(':');
            if (colon <= 0 || text.IndexOf(':', StringComparison.Ordinal) != colon)
            {
                error = $"expected HOST:PORT (IPv6 as [ADDR]:PORT), got \"{text}\"";
                return false;
            }
            host = text[..colon];
            portText = text[(colon + 1)..];
        }
        if (host.Length == 0)
        {
            error = $"the host is missing in \"{text}\"";
            return false;
        }
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port < minPort || port > MaxPort)
        {
            error = $"the port must be a number from {minPort} to {MaxPort}, got \"{portText}\"";
            return false;
        }
        value = new HostPort(host, port);
        return true;
    }

    /// <summary>As <see cref="TryParse"/>, throwing <see cref="FormatException"/>.</summary>
    public static HostPort Parse(string text) =>
        TryParse(text, out var value, out var error) ? value! : throw new FormatException(error);

    /// <summary>
    /// The address to listen on: an IP literal, or <c>localhost</c> for the IPv4 loopback. Host names are
    /// not resolved for listening, so the service never binds anywhere it was not told to.
    /// </summary>
    public bool TryGetListenAddress(out IPAddress address)
    {
        if (string.Equals(Host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            address = IPAddress.Loopback;
            return true;
        }
        return IPAddress.TryParse(Host, out address!);
    }

    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
