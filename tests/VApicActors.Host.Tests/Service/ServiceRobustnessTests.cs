using System.Globalization;
using System.Text;
using Akka.Actor;
using VApicActors.Host.Service;

namespace VApicActors.Host.Tests.Service;

public sealed class ServiceRobustnessTests(ServiceFixture fixture) : IClassFixture<ServiceFixture>
{
    private const string Version = "readl 0xfee00030";
    private const string VersionAnswer = "OK 0x1060014";
    private const int SmallLineLimit = 64;

    [Fact]
    public async Task BadLines_AreAnsweredErrAndTheSessionGoesOn()
    {
        await using var service = fixture.Start(ServiceFixture.Settings with { MaxLineLength = SmallLineLimit });
        await using var client = await LineClient.ConnectAsync(service.LocalEndpoint);

        Assert.Equal(VersionAnswer, await client.RequestAsync(Version));
        Assert.Equal($"ERR line too long (at most {SmallLineLimit} bytes)", await client.RequestAsync("readl " + new string('0', 500)));
        Assert.Equal(VersionAnswer, await client.RequestAsync(Version));

        await client.SendRawAsync([0x72, 0x65, 0xff, 0xfe, 0x0a]);
        Assert.Equal("ERR line is not valid UTF-8", await client.ReadAnswerAsync());
        await client.SendRawAsync(Encoding.ASCII.GetBytes("readl\u0001 0xfee00030\n"));
        Assert.Equal("ERR control character 0x01 in the line at column 6", await client.ReadAnswerAsync());
        Assert.Equal("ERR bad number '0xfeeg0030' for address", await client.RequestAsync("readl 0xfeeg0030"));
        Assert.Equal(VersionAnswer, await client.RequestAsync("readl 0xfee00030\r"));

        // Random bytes: one answer per line they end, then the session still works.
        var random = new byte[16 * 1024];
        new Random(7).NextBytes(random);
        var lineEnds = random.Count(b => b == (byte)'\n');
        await client.SendRawAsync([.. random, (byte)'\n']);
        for (var i = 0; i <= lineEnds; i++)
        {
            var answer = await client.ReadAnswerAsync();
            Assert.NotNull(answer);
            Assert.True(answer == "OK" || answer.StartsWith("ERR ", StringComparison.Ordinal), answer);
        }
        Assert.Equal(VersionAnswer, await client.RequestAsync(Version));
        Assert.True(service.Snapshot().Errors >= 5);
    }

    [Fact]
    public async Task ClientsThatMisbehaveOrLeaveMidLine_DoNotAffectOtherSessions()
    {
        var file = Path.Combine(AppContext.BaseDirectory, "scenarios", "h-ipis.vapic");
        await using var service = fixture.Start(ServiceFixture.Settings with { MaxLineLength = SmallLineLimit });
        var expected = await ServiceProtocolTests.RunOverSocketAsync(service, file);

        var good = Enumerable.Range(0, 8).Select(_ => Task.Run(() => ServiceProtocolTests.RunOverSocketAsync(service, file))).ToArray();
        var bad = Enumerable.Range(0, 24).Select(i => Task.Run(() => MisbehaveAsync(service, i))).ToArray();
        await Task.WhenAll(bad);
        var results = await Task.WhenAll(good);

        Assert.All(results, r => Assert.Equal((expected.Passed, expected.Failed, expected.Errors), (r.Passed, r.Failed, r.Errors)));
        await using var after = await LineClient.ConnectAsync(service.LocalEndpoint);
        Assert.Equal(VersionAnswer, await after.RequestAsync(Version));
        await ServiceProtocolTests.WaitUntilAsync(() => service.Snapshot().Sessions == 1 && service.Vms.Count().Vms == 1);
    }

    [Fact]
    public async Task ClientThatNeverReads_IsCutOffAsASlowConsumer_WhileOthersGoOn()
    {
        var settings = ServiceFixture.Settings with { MaxQueuedLines = 16, MaxRequestsInFlight = 4, WriteTimeout = TimeSpan.FromMilliseconds(200) };
        await using var service = fixture.Start(settings);
        await using var flooder = await LineClient.ConnectAsync(service.LocalEndpoint, receiveBuffer: 4096);
        await using var other = await LineClient.ConnectAsync(service.LocalEndpoint);

        // Make every answer long: self IPIs set IRR vectors 0x10..0xff, so "irr" answers ~1200 bytes.
        Assert.Equal("OK", await flooder.RequestAsync("writel 0xfee000f0 0x1ff"));
        for (var vector = 0x10; vector <= 0xff; vector++)
        {
            Assert.Equal("OK", await flooder.RequestAsync($"writel 0xfee00300 0x{0x40000 | vector:x}"));
        }
        Assert.StartsWith("OK 0x10 0x11 ", await flooder.RequestAsync("irr"));

        var flood = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("irr\n", 40_000)));
        var sending = Task.Run(async () =>
        {
            try
            {
                await flooder.SendRawAsync(flood);
            }
            catch (IOException)
            {
                // Cut off by the service.
            }
        });

        await ServiceProtocolTests.WaitUntilAsync(() => service.Snapshot().Sessions == 1);
        Assert.Equal(VersionAnswer, await other.RequestAsync(Version));
        Assert.Equal("OK 1", await other.RequestAsync("clock_step 1"));
        Assert.True(await Task.WhenAny(sending, Task.Delay(LineClient.Deadline)) == sending, "the flooding client was never released");
    }

    [Fact]
    public async Task AWatchingClientThatReads_KeepsItsSession_ThroughPipelinedBroadcasts()
    {
        // A broadcast to the largest VM raises an IRQ line at every vCPU at once: the default queue holds them for a
        // client that reads (a queue of 1024 lines cut this session off).
        const int Vcpus = 4096;
        const int Broadcasts = 2;
        await using var service = fixture.Start();
        await using var client = await LineClient.ConnectAsync(service.LocalEndpoint);
        Assert.Equal("OK", await client.RequestAsync($"vm vcpus={Vcpus} mode=x2apic"));
        for (var cpu = 0; cpu < Vcpus; cpu++)
        {
            Assert.Equal("OK", await client.RequestAsync($"cpu {cpu}"));
            Assert.Equal("OK", await client.RequestAsync("wrmsr 0x80f 0x1ff"));
        }
        Assert.Equal("OK", await client.RequestAsync("cpu 0"));
        Assert.Equal("OK", await client.RequestAsync("watch all"));

        // Vectors rising one by one: each broadcast is newly deliverable at every vCPU (all including self).
        var burst = string.Concat(Enumerable.Range(0, Broadcasts).Select(i => $"wrmsr 0x830 0x{0x80020 + i:x}\n"));
        await client.SendRawAsync(Encoding.ASCII.GetBytes(burst));
        var interrupts = new List<string>();
        for (var i = 0; i < Broadcasts; i++)
        {
            Assert.Equal("OK", await client.ReadAnswerAsync(interrupts));
        }
        // (Interrupt lines come as the vAPICs raise them, not in step with the answers.)
        while (interrupts.Count < Vcpus * Broadcasts)
        {
            interrupts.Add(await client.WaitForLineAsync(l => l.StartsWith("IRQ ", StringComparison.Ordinal)));
        }
        Assert.Equal(Vcpus * Broadcasts, interrupts.Distinct().Count());
        Assert.Equal("OK 0", await client.RequestAsync("clock"));
        Assert.Equal(1, service.Snapshot().Sessions);
    }

    [Fact]
    public async Task Quit_RightAfterABroadcastToAWatchedVm_ByeIsTheLastLine()
    {
        // The broadcast's interrupt lines race the answer to quit: any of them may come before BYE, none after it.
        const int Vcpus = 256;
        await using var service = fixture.Start();
        var setup = new StringBuilder($"vm vcpus={Vcpus} mode=x2apic\n");
        for (var cpu = 0; cpu < Vcpus; cpu++)
        {
            setup.Append(CultureInfo.InvariantCulture, $"cpu {cpu}\nwrmsr 0x80f 0x1ff\n");
        }
        setup.Append("cpu 0\nwatch all\n");
        for (var round = 0; round < 8; round++)
        {
            await using var client = await LineClient.ConnectAsync(service.LocalEndpoint);
            await client.SendRawAsync(Encoding.ASCII.GetBytes(setup + "wrmsr 0x830 0x80041\nquit\nirr\n"));
            var lines = new List<string>();
            while (await client.ReadLineAsync() is { } line)
            {
                lines.Add(line);
            }
            Assert.Equal("BYE", lines[^1]);
            Assert.Equal(2 * Vcpus + 5, lines.Count(l => !l.StartsWith("IRQ ", StringComparison.Ordinal)));
        }
    }

    [Fact]
    public async Task MaxSessions_OneMoreConnectionIsToldByeAndClosed()
    {
        await using var service = fixture.Start(ServiceFixture.Settings with { MaxSessions = 2 });
        await using var a = await LineClient.ConnectAsync(service.LocalEndpoint);
        await using var b = await LineClient.ConnectAsync(service.LocalEndpoint);
        Assert.Equal("OK", await a.RequestAsync(""));
        Assert.Equal("OK", await b.RequestAsync(""));

        await using var c = await LineClient.ConnectAsync(service.LocalEndpoint);
        Assert.Equal("BYE too many sessions (at most 2)", await c.ReadLineAsync());
        Assert.Null(await c.ReadLineAsync());
        Assert.Equal(VersionAnswer, await a.RequestAsync(Version));
        Assert.Equal(1, service.Snapshot().SessionsRefused);
    }

    [Fact]
    public async Task ASessionThatQuit_FreesItsPlaceAtOnce_EvenWhileItsClientKeepsTheSocketOpen()
    {
        await using var service = fixture.Start(ServiceFixture.Settings with { MaxSessions = 2 });
        await using var a = await LineClient.ConnectAsync(service.LocalEndpoint);
        await using var b = await LineClient.ConnectAsync(service.LocalEndpoint);
        Assert.Equal(VersionAnswer, await a.RequestAsync(Version));
        Assert.Equal(VersionAnswer, await b.RequestAsync(Version));

        // b says quit and keeps its socket open: the service lingers on it for a while, but b no longer counts.
        Assert.Equal("BYE", await b.RequestAsync("quit"));
        // (Well within the second the service lingers on a closed session's socket.)
        var soon = DateTime.UtcNow + TimeSpan.FromMilliseconds(500);
        while (service.Snapshot().Sessions != 1 && DateTime.UtcNow < soon)
        {
            await Task.Delay(10);
        }
        Assert.Equal(1, service.Snapshot().Sessions);
        await using var c = await LineClient.ConnectAsync(service.LocalEndpoint);
        Assert.Equal(VersionAnswer, await c.RequestAsync(Version));
        Assert.Equal(0, service.Snapshot().SessionsRefused);
    }

    [Fact]
    public async Task VcpuLimits_RefuseVmsBeyondThem_AndFreeTheirShareWhenVmsStop()
    {
        await using var service = fixture.Start(ServiceFixture.Settings with { MaxVcpus = 10, MaxVcpusPerVm = 8 });
        await using var a = await LineClient.ConnectAsync(service.LocalEndpoint);
        await using var b = await LineClient.ConnectAsync(service.LocalEndpoint);

        Assert.Equal("OK", await a.RequestAsync("vm vcpus=2"));
        Assert.Equal("OK", await a.RequestAsync("writel 0xfee00080 0x20"));
        // Refused before anything changes: the session keeps its VM, TPR and all.
        Assert.Equal("ERR vm: the service allows at most 8 vCPUs per VM, got 9", await a.RequestAsync("vm vcpus=9"));
        Assert.Equal("OK 0x20", await a.RequestAsync("readl 0xfee00080"));
        Assert.Equal("OK", await a.RequestAsync("vm vcpus=8"));
        Assert.Equal("ERR vm: the service runs 8 vCPUs; 3 more would pass its limit of 10", await b.RequestAsync("vm name=big vcpus=3"));
        Assert.Equal("OK", await b.RequestAsync("vm name=small vcpus=2"));
        Assert.Equal("OK", await a.RequestAsync("vm vcpus=1"));
        Assert.Equal("OK", await b.RequestAsync("vm name=big vcpus=7"));
        Assert.Equal((2, 8), service.Vms.Count());
    }

    [Fact]
    public async Task IdleSession_IsToldByeAndClosed()
    {
        await using var service = fixture.Start(ServiceFixture.Settings with { IdleTimeout = TimeSpan.FromSeconds(1) });
        await using var client = await LineClient.ConnectAsync(service.LocalEndpoint);
        Assert.Equal(VersionAnswer, await client.RequestAsync(Version));

        Assert.Equal("BYE idle timeout", await client.ReadLineAsync());
        Assert.Null(await client.ReadLineAsync());
        await ServiceProtocolTests.WaitUntilAsync(() => service.Vms.Count() == (0, 0));
    }

    [Fact]
    public async Task ASessionTricklingALineThatNeverEnds_IsStillClosedWhenIdle()
    {
        await using var service = fixture.Start(ServiceFixture.Settings with { IdleTimeout = TimeSpan.FromSeconds(1) });
        await using var client = await LineClient.ConnectAsync(service.LocalEndpoint);
        Assert.Equal(VersionAnswer, await client.RequestAsync(Version));
        var bye = client.ReadLineAsync();

        // A byte every 100 ms for up to 5 s: no request, so the 1 s idle timeout still ends the session.
        for (var i = 0; i < 50 && !bye.IsCompleted; i++)
        {
            try
            {
                await client.SendRawAsync("v"u8.ToArray());
            }
            catch (IOException)
            {
                break;
            }
            await Task.Delay(100);
        }

        Assert.True(bye.IsCompleted, "the session was kept open by a line that never ended");
        Assert.Equal("BYE idle timeout", await bye);
    }

    [Fact]
    public async Task Shutdown_EndsEverySessionWithByeAndStopsEveryVm()
    {
        var service = fixture.Start();
        await using var watcher = await LineClient.ConnectAsync(service.LocalEndpoint);
        await using var idle = await LineClient.ConnectAsync(service.LocalEndpoint);
        await using var busy = await LineClient.ConnectAsync(service.LocalEndpoint);
        Assert.Equal("OK", await watcher.RequestAsync("vm name=kept vcpus=4 keep=yes"));
        Assert.Equal("OK", await watcher.RequestAsync("watch all"));
        Assert.Equal("OK", await idle.RequestAsync(""));
        Assert.Equal("OK", await busy.RequestAsync("vm vcpus=2"));
        var kept = service.Vms.Find("kept")!.Handle.Vm;
        Assert.Equal((2, 6), service.Vms.Count());

        await busy.SendAsync(string.Concat(Enumerable.Repeat("readl 0xfee00030\n", 20)));
        await service.StopAsync();

        foreach (var client in new[] { watcher, idle, busy })
        {
            var last = await client.WaitForLineAsync(l => l.StartsWith("BYE", StringComparison.Ordinal));
            Assert.Equal("BYE shutting down", last);
            Assert.Null(await client.ReadLineAsync());
        }
        Assert.Equal((0, 0), service.Vms.Count());
        using var deadline = new CancellationTokenSource(LineClient.Deadline);
        Assert.True(await kept.WatchAsync(deadline.Token));
        await Assert.ThrowsAsync<System.Net.Sockets.SocketException>(() => LineClient.ConnectAsync(service.LocalEndpoint));
    }

    private static async Task MisbehaveAsync(VapicService service, int kind)
    {
        await using var client = await LineClient.ConnectAsync(service.LocalEndpoint);
        switch (kind % 4)
        {
            case 0:
                // Leaves in the middle of a line.
                await client.SendRawAsync(Encoding.ASCII.GetBytes("vm vcpus=2\nwritel 0xfee0"));
                break;
            case 1:
                // Leaves with requests in flight, never reading an answer.
                await client.SendAsync(string.Concat(Enumerable.Repeat("vm vcpus=4\nwritel 0xfee000f0 0x1ff\nwritel 0xfee00300 0x000c4041\n", 30)));
                break;
            case 2:
                // Sends junk, reads a little, leaves.
                var junk = new byte[4096];
                new Random(kind).NextBytes(junk);
                await client.SendRawAsync(junk);
                await client.SendRawAsync(Encoding.ASCII.GetBytes("\nreadl " + new string('1', 300) + "\n"));
                await client.ReadLineAsync();
                break;
            default:
                // Resets the connection in the middle of a request.
                await client.SendAsync("clock_step 1000");
                client.Socket.LingerState = new System.Net.Sockets.LingerOption(true, 0);
                break;
        }
    }
}
