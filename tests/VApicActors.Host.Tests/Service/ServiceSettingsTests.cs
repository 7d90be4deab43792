using Akka.Configuration;
using VApicActors.Host.Configuration;
using VApicActors.Host.Service;

namespace VApicActors.Host.Tests.Service;

public sealed class ServiceSettingsTests
{
    [Fact]
    public void Load_ShippedDefaults_ListenOnLoopback()
    {
        var settings = ServiceSettings.Load();
        Assert.Equal(new HostPort("127.0.0.1", 7411), settings.Listen);
        Assert.Equal(256, settings.MaxSessions);
        Assert.Equal(4096, settings.MaxLineLength);
        Assert.Equal(64, settings.MaxRequestsInFlight);
        Assert.Equal(TimeSpan.FromMinutes(10), settings.IdleTimeout);
        Assert.False(settings.TraceRequests);
    }

    [Theory]
    [InlineData("max-sessions = 0", "vapic.service.max-sessions", "from 1 to 10000")]
    [InlineData("max-line-length = 8", "vapic.service.max-line-length", "from 16 to 1048576")]
    [InlineData("max-requests-in-flight = many", "vapic.service.max-requests-in-flight", "whole number")]
    [InlineData("idle-timeout = 0s", "vapic.service.idle-timeout", "from")]
    [InlineData("write-timeout = soon", "vapic.service.write-timeout", "duration")]
    [InlineData("trace-requests = maybe", "vapic.service.trace-requests", "on or off")]
    [InlineData("listen = \"127.0.0.1\"", "vapic.service.listen", "HOST:PORT")]
    [InlineData("listen = \"example.org:80\"", "vapic.service.listen", "IP address or localhost")]
    [InlineData("listen = \"127.0.0.1:70000\"", "vapic.service.listen", "0 to 65535")]
    [InlineData("max-queued-lines = 1024", "vapic.service.max-queued-lines", "at least max-vcpus-per-vm + max-requests-in-flight (4160)")]
    public void Load_ValueOutOfRange_NamesTheKey(string line, string key, string problem)
    {
        var config = ConfigurationFactory.ParseString("vapic.service { " + line + " }");
        var e = Assert.Throws<SettingsException>(() => ServiceSettings.Load(config));
        Assert.Equal(key, e.Key);
        Assert.Contains(problem, e.Problem);
    }

    [Theory]
    [InlineData("write-timeout = 10", "vapic.service.write-timeout: must be from 100ms to 10m, got \"10\"")]
    [InlineData("idle-timeout = 8d", "vapic.service.idle-timeout: must be from 1s to 7d, got \"8d\"")]
    [InlineData("shutdown-timeout = 10m", "vapic.service.shutdown-timeout: must be from 100ms to 5m, got \"10m\"")]
    public void Load_DurationOutOfRange_SaysTheRangeAsTheFileWritesIt_NotAsATimeSpan(string line, string message)
    {
        // "write-timeout = 10" used to say "must be from 00:00:00.1000000 to 00:10:00".
        var config = ConfigurationFactory.ParseString("vapic.service { " + line + " }");
        var e = Assert.Throws<SettingsException>(() => ServiceSettings.Load(config));
        Assert.Equal("invalid configuration: " + message, e.Message);
    }

    [Theory]
    [InlineData("127.0.0.1:7411", "127.0.0.1", 7411)]
    [InlineData("localhost:0", "localhost", 0)]
    [InlineData("[::1]:9000", "::1", 9000)]
    public void HostPort_Parse_ReadsHostAndPort(string text, string host, int port)
    {
        Assert.Equal(new HostPort(host, port), HostPort.Parse(text));
    }

    [Theory]
    [InlineData("")]
    [InlineData("7411")]
    [InlineData(":7411")]
    [InlineData("::1:7411")]
    [InlineData("host:-1")]
    public void HostPort_Parse_RefusesWhatIsNotHostColonPort(string text)
    {
        Assert.False(HostPort.TryParse(text, out _, out var error));
        Assert.NotEmpty(error);
    }

    [Theory]
    [InlineData("127.0.0.1:", "the port must be a number from 1 to 65535, got \"\"")]
    [InlineData("127.0.0.1:0", "the port must be a number from 1 to 65535, got \"0\"")]
    [InlineData("127.0.0.1:65536", "the port must be a number from 1 to 65535, got \"65536\"")]
    public void HostPort_ToConnectTo_IsNeverPortZero_AndSaysSo(string text, string message)
    {
        // Port 0 is "any free port" only for listening; the message named 0 as a port to connect to.
        Assert.False(HostPort.TryParseToConnect(text, out _, out var error));
        Assert.Equal(message, error);
        Assert.True(HostPort.TryParse("127.0.0.1:0", out var listen, out _));
        Assert.Equal(0, listen!.Port);
    }
}
