using VApicActors.Host.Cluster;
using VApicActors.Host.Tests.Service;
using Xunit;

namespace VApicActors.Host.Tests.Cluster;

/// <summary>Several nodes on loopback in this process: VMs as sharded entities, driven from any node, moved and recovered with their state.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterTests
{
    private static readonly TimeSpan Slow = TimeSpan.FromSeconds(60);

    /// <summary>Creates <c>vm name=PREFIX-N ...</c> from <paramref name="client"/> until one lands on <paramref name="host"/>; returns its name.</summary>
    private static async Task<string> CreateVmOnAsync(LineClient client, TestNode via, TestNode host, string prefix, string options)
    {
        for (var i = 0; i < 64; i++)
        {
            var name = $"{prefix}-{i}";
            Assert.Equal("OK", await client.RequestAsync($"vm name={name} keep=yes {options}"));
            if (await via.Shards.LocateAsync(name) == host.Endpoint)
            {
                return name;
            }
        }
        throw new InvalidOperationException("no VM landed on " + host.Endpoint);
    }

    [Fact]
    public async Task ASessionOnOneNode_DrivesAVmHostedOnAnother()
    {
        await using var cluster = await TestCluster.StartAsync(2);
        var (a, b) = (cluster.Nodes[0], cluster.Nodes[1]);
        var service = a.StartService();
        await using var client = await LineClient.ConnectAsync(service.LocalEndpoint);
        client.Timeout = Slow;

        var vm = await CreateVmOnAsync(client, a, b, "far", "vcpus=2");
        Assert.Equal(b.Endpoint, await a.Shards.LocateAsync(vm));

        // The same answers as on one machine: registers, a fixed IPI, interrupt lines, the virtual clock.
        Assert.Equal("OK 0x1060014", await client.RequestAsync("readl 0xfee00030"));
        Assert.Equal("OK", await client.RequestAsync("writel 0xfee000f0 0x1ff"));
        Assert.Equal("OK", await client.RequestAsync("cpu 1"));
        Assert.Equal("OK", await client.RequestAsync("writel 0xfee000f0 0x1ff"));
        Assert.Equal("OK", await client.RequestAsync("watch"));
        Assert.Equal("OK", await client.RequestAsync("cpu 0"));
        Assert.Equal("OK", await client.RequestAsync("writel 0xfee00310 0x01000000"));
        var interrupts = new List<string>();
        Assert.Equal("OK", await client.RequestAsync("writel 0xfee00300 0x4041", interrupts));
        Assert.Equal("OK", await client.RequestAsync("cpu 1", interrupts));
        Assert.Equal("OK 0x41", await client.RequestAsync("irr", interrupts));
        Assert.Equal("OK 0x41", await client.RequestAsync("ack", interrupts));
        Assert.Equal("OK", await client.RequestAsync("eoi", interrupts));
        Assert.Equal("OK none", await client.RequestAsync("isr", interrupts));
        if (!interrupts.Contains("IRQ raise 1 0x41"))
        {
            interrupts.Add(await client.WaitForLineAsync(l => l.StartsWith("IRQ ", StringComparison.Ordinal)));
        }
        Assert.Contains("IRQ raise 1 0x41", interrupts);
        Assert.Equal("#GP", await client.RequestAsync("rdmsr 0x802"));
        Assert.Equal("OK 250", await client.RequestAsync("clock_step 250"));
        Assert.Equal("OK", await client.RequestAsync("readl 0xfee00080 -> 0"));
        Assert.Equal("ERR expected 1, got 0x0", await client.RequestAsync("readl 0xfee00080 -> 1"));

        // A second node's session joins the same VM by name; the cluster view counts both nodes.
        var cluster2 = b.StartService();
        await using var other = await LineClient.ConnectAsync(cluster2.LocalEndpoint);
        other.Timeout = Slow;
        Assert.Equal("OK", await other.RequestAsync("attach " + vm));
        Assert.Equal("OK 250", await other.RequestAsync("clock"));
        var view = await client.RequestAsync("cluster");
        Assert.StartsWith("OK self=" + a.Endpoint + " members=2 up=2 unreachable=0", view);
        Assert.Contains(b.Endpoint + ":", view!.Split(" vms=")[1]);
        Assert.Equal("ERR no VM named 'nowhere'", await client.RequestAsync("attach nowhere"));
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterCollection
{
    public const string Name = "cluster";
}
