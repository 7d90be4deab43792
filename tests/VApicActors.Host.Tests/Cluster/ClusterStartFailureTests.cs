using VApicActors.Host.Cli;
using VApicActors.Host.Cluster;
using VApicActors.Host.Hosting;
using Xunit;

namespace VApicActors.Host.Tests.Cluster;

/// <summary>A node whose actor system cannot start says why in one line, without Akka's own report of it.</summary>
[Collection(SerilogCollection.Name)]
public sealed class ClusterStartFailureTests
{
    [Fact]
    public async Task ServeCluster_OnAnAddressNotOfThisMachine_SaysWhyInOneLine()
    {
        using var dir = new TempDirectory();
        var path = dir.Write("far.hocon", "vapic.cluster.hostname = \"203.0.113.77\"\n");
        var output = new StringWriter();
        var error = new StringWriter();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        var (code, console) = await StandardError.CaptureAsync(() => new VapicCommandLine(output, error).InvokeAsync(
            ["serve", "--cluster", "--config", path, "--listen", "127.0.0.1:0"], timeout.Token));

        Assert.Equal(2, code);
        Assert.StartsWith("vapic: the actor system did not start (see the akka settings): Failed to bind to [203.0.113.77:4053]: ", error.ToString());
        Assert.DoesNotContain("InnerException", error.ToString());
        // Akka's own report of the failure (with its stack) is not written; other tests may write meanwhile, so only
        // what names this address counts.
        Assert.DoesNotContain("203.0.113.77", console);
    }

    [Fact]
    public async Task ServeCluster_WhoseServicePortIsTaken_SaysSoBeforeItJoins()
    {
        // It used to join the cluster, take shards (the coordinator gave new VMs to it), and only then find it could not
        // serve and leave: a 'vm' sent meanwhile on another node waited the whole request timeout.
        var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        try
        {
            var servicePort = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
            var clusterPort = ClusterStressCommand.FreePort();
            var output = new StringWriter();
            var error = new StringWriter();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

            var (code, _) = await StandardError.CaptureAsync(() => new VapicCommandLine(output, error).InvokeAsync(
                ["serve", "--cluster", "--cluster-port", $"{clusterPort}", "--seed-node", $"akka.tcp://vapic@127.0.0.1:{clusterPort}",
                 "--listen", $"127.0.0.1:{servicePort}"], timeout.Token));

            Assert.Equal(2, code);
            Assert.StartsWith($"vapic: cannot listen on 127.0.0.1:{servicePort}: ", error.ToString());
            Assert.DoesNotContain("joining", output.ToString());
        }
        finally
        {
            taken.Stop();
        }
    }

    [Theory]
    [InlineData("serve", "--cluster-port")]
    [InlineData("stress", "--port")]
    public async Task AClusterNode_WhoseStoreCannotBeOpened_SaysSoInOneLine_AndDoesNotStart(string command, string portOption)
    {
        // The store's own errors came only after the node had joined, as stack traces repeated every few seconds, and the
        // node served on with every VM's creation failing.
        using var dir = new TempDirectory();
        var store = dir.File(System.IO.Path.Combine("no-such-folder", "cluster.db"));
        var path = dir.Write("store.hocon", $"vapic.cluster.persistence.connection-string = \"Data Source={store.Replace("\\", "/")}\"\n");
        var output = new StringWriter();
        var error = new StringWriter();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        string[] args = command == "serve"
            ? ["serve", "--cluster", "--config", path, portOption, "0", "--listen", "127.0.0.1:0"]
            : ["stress", "--cluster", "--config", path, portOption, "0", "--vms", "1", "--vcpus", "2", "--seconds", "1"];

        var (code, console) = await StandardError.CaptureAsync(() => new VapicCommandLine(output, error).InvokeAsync(args, timeout.Token));

        Assert.Equal(2, code);
        // serve writes its error through its writer, stress to the standard error; nothing else names the store.
        var line = Assert.Single((error + console).Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.Contains(store.Replace("\\", "/")));
        Assert.StartsWith((command == "serve" ? "vapic: " : "vapic stress: ") + "the cluster store cannot be written (vapic.cluster.persistence.connection-string", line);
        Assert.Contains("unable to open database file", line);
        Assert.DoesNotContain("is up", output.ToString());
        Assert.DoesNotContain("Exception", error + console);
    }

    [Theory]
    [InlineData("Failed to bind to [h:1]. See InnerException for details.", "Cannot assign requested address", "Failed to bind to [h:1]: Cannot assign requested address")]
    [InlineData("Could not resolve dispatcher type banana", null, "Could not resolve dispatcher type banana")]
    [InlineData("Could not resolve dispatcher type banana", "Could not resolve dispatcher type banana", "Could not resolve dispatcher type banana")]
    public void StartFailure_AddsTheLoggedCauseOnlyWhenTheMessageLacksIt(string message, string? logged, string expected) =>
        Assert.Equal(expected, VapicHost.StartFailure(message, logged));
}
