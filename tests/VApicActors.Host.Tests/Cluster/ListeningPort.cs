using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace VApicActors.Host.Tests.Cluster;

/// <summary>
/// A loopback port something listens on, bound for reuse as a cluster node's transport binds it: another bind for
/// reuse of the same port would succeed, so only a check for a live listener keeps a second node off it.
/// </summary>
internal sealed class ListeningPort : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);

    public ListeningPort()
    {
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
    }

    public int Port { get; }

    public string Text => Port.ToString(CultureInfo.InvariantCulture);

    public void Dispose() => _listener.Stop();
}
