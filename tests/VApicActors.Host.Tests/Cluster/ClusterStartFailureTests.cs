using VApicActors.Host.Cli;
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

    [Theory]
    [InlineData("Failed to bind to [h:1]. See InnerException for details.", "Cannot assign requested address", "Failed to bind to [h:1]: Cannot assign requested address")]
    [InlineData("Could not resolve dispatcher type banana", null, "Could not resolve dispatcher type banana")]
    [InlineData("Could not resolve dispatcher type banana", "Could not resolve dispatcher type banana", "Could not resolve dispatcher type banana")]
    public void StartFailure_AddsTheLoggedCauseOnlyWhenTheMessageLacksIt(string message, string? logged, string expected) =>
        Assert.Equal(expected, VapicHost.StartFailure(message, logged));
}
