using VApicActors.Host.Client;
using VApicActors.Host.Scenarios;
using VApicActors.Host.Service;

namespace VApicActors.Host.Tests.Service;

public sealed class ServiceProtocolTests(ServiceFixture fixture) : IClassFixture<ServiceFixture>
{
    private const string FailingScript = """
        vm vcpus=2
        readl 0xfee00030 -> 0x00050014
        writel 0xfee000f0 0x1ff
        readl 0xfee000f0 -> 0x1ff
        wrmsr 0x802 1 -> OK
        cpu 1
        state -> running
        frobnicate 3
        readl 0xfee00030 -> 0x1060014
        """;

    public static TheoryData<string> ScenarioFiles()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "scenarios"), "*.vapic").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(ScenarioFiles))]
    public async Task Client_ScenarioFile_GivesTheSameOutcomeAsRun(string name)
    {
        var file = Path.Combine(AppContext.BaseDirectory, "scenarios", name);
        await using var service = fixture.Start();

        var expected = await new ScenarioRunner(fixture.System).RunFileAsync(file, TextWriter.Null, TextWriter.Null);
        var actual = await RunOverSocketAsync(service, file);

        Assert.Equal((expected.Passed, expected.Failed, expected.Errors), (actual.Passed, actual.Failed, actual.Errors));
        Assert.Equal(expected.Failures, actual.Failures);
        Assert.True(expected.Passed > 0);
    }

    [Fact]
    public async Task Client_ScriptWithFailuresAndAnError_ReportsExactlyWhatRunReports()
    {
        using var dir = new TempDirectory();
        var file = dir.Write("failing.vapic", FailingScript);
        await using var service = fixture.Start();

        var expected = await new ScenarioRunner(fixture.System).RunFileAsync(file, TextWriter.Null, TextWriter.Null);
        var actual = await RunOverSocketAsync(service, file);

        Assert.Equal((2, 2, 1), (expected.Passed, expected.Failed, expected.Errors));
        Assert.Equal((expected.Passed, expected.Failed, expected.Errors), (actual.Passed, actual.Failed, actual.Errors));
        Assert.Equal(expected.Failures, actual.Failures);
        Assert.Equal(ScenarioRunSummary.ExitError, actual.ExitCode);
    }

    [Fact]
    public async Task Requests_AreAnsweredInQtestStyle()
    {
        await using var service = fixture.Start();
        await using var client = await LineClient.ConnectAsync(service.LocalEndpoint);

        (string Request, string Answer)[] exchange =
        [
            ("vm vcpus=2 boot=bsp", "OK"),
            ("readl 0xfee00030", "OK 0x1060014"),
            ("readl 0xfee00030 -> 0x1060014", "OK"),
            ("readl 0xfee00030 -> 0x42", "ERR expected 0x42, got 0x1060014"),
            ("rdmsr 0x802", "#GP"),
            ("wrmsr 0x802 1 -> #GP", "OK"),
            ("irr", "OK none"),
            ("pending", "OK none"),
            ("nmi", "OK 0"),
            ("clock_step 250", "OK 250"),
            ("cpu 1", "OK"),
            ("state", "OK wait-for-sipi"),
            ("readl 0xfee00030", "OK not-running"),
            ("", "OK"),
            ("   # only a comment", "OK"),
            ("frobnicate", "ERR unknown command 'frobnicate'"),
            ("atach shared", "ERR unknown command 'atach' (did you mean 'attach'?)"),
            ("wach all", "ERR unknown command 'wach' (did you mean 'watch'?)"),
            ("rdmr 0x802", "ERR unknown command 'rdmr' (did you mean 'rdmsr'?)"),
            ("cpu 7", "ERR no vCPU 7: the VM has 2 (0 to 1)"),
            ("readl 0xfee00030 ->", "ERR '->' without an expected result after it"),
            ("vm vcpus=0", "ERR vm: vcpus must be between 1 and 4096, got 0"),
            ("vm name=bad/name vcpus=1", "ERR bad VM name 'bad/name': 1 to 64 letters, digits, '-' or '_'"),
            ("vm keep=yes vcpus=1", "ERR vm: keep=yes needs name=NAME (a session's own VM ends with it)"),
            ("attach nosuchvm", "ERR no VM named 'nosuchvm'"),
            ("watch sideways", "ERR watch: expected nothing, 'all' or 'off', got 'sideways'"),
            ("save /tmp/state.json", "ERR save: not available over the service: it would read or write the service's own files"),
            ("restore /tmp/state.json", "ERR restore: not available over the service: it would read or write the service's own files"),
            ("vm vcpus=1 -> OK", "OK"),
            ("irr -> 0x31 0x41", "ERR expected 0x31 0x41, got none"),
        ];
        foreach (var (request, answer) in exchange)
        {
            Assert.Equal(answer, await client.RequestAsync(request));
        }

        var stats = await client.RequestAsync("stats");
        Assert.NotNull(stats);
        Assert.Matches(@"^OK sessions=1 vms=1 vcpus=1 requests=\d+ requests-per-second=\d+ errors=13 failed=2 sessions-total=1 refused=0 uptime-s=\d+$", stats);
        Assert.Equal("BYE", await client.RequestAsync("quit"));
        Assert.Null(await client.ReadLineAsync());
    }

    [Fact]
    public async Task NamedVm_TwoSessionsSendIpisToEachOthersVcpus_EachSeesIrqRaise()
    {
        await using var service = fixture.Start();
        await using var a = await LineClient.ConnectAsync(service.LocalEndpoint);
        await using var b = await LineClient.ConnectAsync(service.LocalEndpoint);
        var irqA = new List<string>();
        var irqB = new List<string>();

        Assert.Equal("OK", await a.RequestAsync("vm name=pair vcpus=2"));
        Assert.Equal("ERR a VM named 'pair' already exists (attach pair to drive it)", await b.RequestAsync("vm name=pair vcpus=2"));
        Assert.Equal("OK", await b.RequestAsync("attach pair"));
        Assert.Equal("OK", await a.RequestAsync("writel 0xfee000f0 0x1ff"));
        Assert.Equal("OK", await a.RequestAsync("watch"));
        Assert.Equal("OK", await b.RequestAsync("cpu 1"));
        Assert.Equal("OK", await b.RequestAsync("writel 0xfee000f0 0x1ff"));
        Assert.Equal("OK", await b.RequestAsync("watch"));

        // vCPU 0 (session a) sends vector 0x41 to APIC ID 1, which session b drives.
        Assert.Equal("OK", await a.RequestAsync("writel 0xfee00310 0x01000000", irqA));
        Assert.Equal("OK", await a.RequestAsync("writel 0xfee00300 0x00004041", irqA));
        Assert.Equal("IRQ raise 1 0x41", await b.ReadLineAsync());

        // vCPU 1 (session b) answers with vector 0x52 to APIC ID 0.
        Assert.Equal("OK", await b.RequestAsync("writel 0xfee00310 0x00000000", irqB));
        Assert.Equal("OK", await b.RequestAsync("writel 0xfee00300 0x00004052", irqB));
        Assert.Equal("IRQ raise 0 0x52", await a.ReadLineAsync());

        // Both see the same registers: the state is the VM's, not the session's.
        Assert.Equal("OK 0x41", await b.RequestAsync("ack", irqB));
        Assert.Equal("OK 0x52", await a.RequestAsync("ack", irqA));
        Assert.Equal("OK", await a.RequestAsync("isr -> 0x52", irqA));
        Assert.Contains(" vms=1 vcpus=2 ", await a.RequestAsync("stats", irqA));

        // Each session heard only about the vCPU it drives.
        Assert.Empty(irqA);
        Assert.Empty(irqB);

        // The VM lives until its last session leaves.
        Assert.Equal("BYE", await a.RequestAsync("quit"));
        Assert.Equal("OK 0x41", await b.RequestAsync("isr"));
        Assert.Equal((1, 2), service.Vms.Count());
        Assert.Equal("BYE", await b.RequestAsync("quit"));
        await WaitUntilAsync(() => service.Vms.Count() == (0, 0));
    }

    [Theory]
    [InlineData("cpu 1", "OK")]
    [InlineData("cpu 1 -> OK", "OK")]
    // The expectation fails, but the line ran: vCPU 1 is selected, so it is watched as well.
    [InlineData("cpu 1 -> none", "ERR expected none, got OK")]
    public async Task Watch_FollowsEveryVcpuTheSessionSelects_WhateverItsExpectation(string select, string answer)
    {
        await using var service = fixture.Start();
        await using var client = await LineClient.ConnectAsync(service.LocalEndpoint);
        Assert.Equal("OK", await client.RequestAsync("vm vcpus=2"));
        Assert.Equal("OK", await client.RequestAsync("watch"));
        Assert.Equal(answer, await client.RequestAsync(select));
        Assert.Equal("OK 0x1060014", await client.RequestAsync("readl 0xfee00030"));
        Assert.Equal("OK", await client.RequestAsync("writel 0xfee000f0 0x1ff"));

        // vCPU 1 sends itself vector 0x41: the selected vCPU's APIC presents it.
        Assert.Equal("OK", await client.RequestAsync("writel 0xfee00300 0x44041"));
        Assert.Equal("IRQ raise 1 0x41", await client.WaitForLineAsync(l => l.StartsWith("IRQ ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task WatchAll_ReportsEveryVcpu_AndWatchOffStops()
    {
        await using var service = fixture.Start();
        await using var client = await LineClient.ConnectAsync(service.LocalEndpoint);
        Assert.Equal("OK", await client.RequestAsync("vm vcpus=3"));
        foreach (var cpu in new[] { 2, 1, 0 })
        {
            Assert.Equal("OK", await client.RequestAsync($"cpu {cpu}"));
            Assert.Equal("OK", await client.RequestAsync("writel 0xfee000f0 0x1ff"));
        }
        Assert.Equal("OK", await client.RequestAsync("watch all"));

        // A fixed broadcast to all but self, vector 0x61: vCPUs 1 and 2.
        var irq = new List<string>();
        Assert.Equal("OK", await client.RequestAsync("writel 0xfee00300 0x000c4061", irq));
        Assert.Equal("OK none", await client.RequestAsync("irr", irq));
        while (irq.Count < 2)
        {
            irq.Add(await client.WaitForLineAsync(l => l.StartsWith("IRQ ", StringComparison.Ordinal)));
        }
        Assert.Equal(["IRQ raise 1 0x61", "IRQ raise 2 0x61"], irq.Order(StringComparer.Ordinal));

        irq.Clear();
        Assert.Equal("OK", await client.RequestAsync("watch off", irq));
        Assert.Equal("OK", await client.RequestAsync("writel 0xfee00300 0x000c4071", irq));
        Assert.Equal("OK", await client.RequestAsync("cpu 1", irq));
        Assert.Equal("OK 0x61 0x71", await client.RequestAsync("irr", irq));
        Assert.Empty(irq);
    }

    [Fact]
    public async Task TraceRequests_On_EveryRequestIsTracedWithItsSession()
    {
        var sink = new VApicActors.Actors.Tests.RecordingTraceSink();
        await using var service = VapicService.Start(fixture.System, ServiceFixture.Settings with { TraceRequests = true }, sink);
        await using var client = await LineClient.ConnectAsync(service.LocalEndpoint);
        Assert.Equal("OK", await client.RequestAsync("vm name=traced vcpus=2 apic-ids=4,6"));
        Assert.Equal("OK", await client.RequestAsync("cpu 1"));
        Assert.Equal("OK 0x6000000", await client.RequestAsync("readl 0xfee00020"));

        var requests = sink.Events.Where(e => e.Event == "ServiceRequest").ToArray();
        Assert.Equal(3, requests.Length);
        var last = requests[^1];
        Assert.Equal(("traced", 6u, 3L), (last.Vm, last.ApicId, last.Seq));
        Assert.Matches("^session=\\d+ request=\"readl 0xfee00020\" response=\"OK 0x6000000\"$", last.Detail);
        Assert.Contains(sink.Events, e => e.Event == "MmioRead" && e.Vm == "traced");
    }

    [Fact]
    public async Task TraceRequests_QuotesAndBackslashesInARequest_AreEscaped_SoTheDetailReadsBackUnambiguously()
    {
        var sink = new VApicActors.Actors.Tests.RecordingTraceSink();
        await using var service = VapicService.Start(fixture.System, ServiceFixture.Settings with { TraceRequests = true }, sink);
        await using var client = await LineClient.ConnectAsync(service.LocalEndpoint);
        var answer = await client.RequestAsync("frob \"a\\\" response=\"OK");

        var detail = Assert.Single(sink.Events, e => e.Event == "ServiceRequest").Detail!;
        var match = System.Text.RegularExpressions.Regex.Match(detail, "^session=\\d+ request=\"((?:[^\"\\\\]|\\\\.)*)\" response=\"((?:[^\"\\\\]|\\\\.)*)\"$");
        Assert.True(match.Success, detail);
        Assert.Equal("frob \"a\\\" response=\"OK", System.Text.RegularExpressions.Regex.Unescape(match.Groups[1].Value));
        Assert.Equal(answer, System.Text.RegularExpressions.Regex.Unescape(match.Groups[2].Value));
    }

    [Fact]
    public async Task NamedVm_KeptWithKeepYes_OutlivesItsSessions()
    {
        await using var service = fixture.Start();
        await using (var a = await LineClient.ConnectAsync(service.LocalEndpoint))
        {
            Assert.Equal("OK", await a.RequestAsync("vm name=kept vcpus=1 keep=yes"));
            Assert.Equal("OK", await a.RequestAsync("writel 0xfee00080 0x20"));
            Assert.Equal("BYE", await a.RequestAsync("quit"));
        }
        await using var b = await LineClient.ConnectAsync(service.LocalEndpoint);
        Assert.Equal("OK", await b.RequestAsync("attach kept"));
        Assert.Equal("OK 0x20", await b.RequestAsync("readl 0xfee00080"));
        Assert.Equal(["kept"], service.Vms.Names());
    }

    [Fact]
    public async Task FiftySessions_EachRunningAScenarioAtOnce_AllGetRunsResults()
    {
        var file = Path.Combine(AppContext.BaseDirectory, "scenarios", "h-ipis.vapic");
        await using var service = fixture.Start();
        var expected = await new ScenarioRunner(fixture.System).RunFileAsync(file, TextWriter.Null, TextWriter.Null);

        var runs = Enumerable.Range(0, 50).Select(_ => Task.Run(() => RunOverSocketAsync(service, file))).ToArray();
        var results = await Task.WhenAll(runs);

        Assert.All(results, r => Assert.Equal((expected.Passed, expected.Failed, expected.Errors), (r.Passed, r.Failed, r.Errors)));
        Assert.Equal(50, service.Snapshot().SessionsTotal);
        await WaitUntilAsync(() => service.Snapshot().Sessions == 0 && service.Vms.Count().Vms == 0);
    }

    [Fact]
    public async Task WhileBusy_AStatisticsLineIsReportedEveryInterval()
    {
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var settings = ServiceFixture.Settings with { StatsLogInterval = TimeSpan.FromSeconds(1) };
        await using var service = VapicService.Start(fixture.System, settings, report: lines.Enqueue);
        await using var client = await LineClient.ConnectAsync(service.LocalEndpoint);
        Assert.Equal("OK", await client.RequestAsync("vm vcpus=3"));
        Assert.Equal("ERR unknown command 'frob'", await client.RequestAsync("frob"));

        // The line comes at an interval's end, whenever requests came in since the last one: it may fall between the two
        // answers and show the first alone, and the next line then shows both.
        await WaitUntilAsync(() => lines.Any(l => l.Contains(" 2 requests ", StringComparison.Ordinal)));
        Assert.All(lines, l => Assert.Matches(@"^service: 1 session, 1 VM, 3 vCPUs, (1 request \([\d.]+/s\), 0 errors|2 requests \([\d.]+/s\), 1 error), 0 failed expectations$", l));
        Assert.Matches(@"^service: 1 session, 1 VM, 3 vCPUs, 2 requests \([\d.]+/s\), 1 error, 0 failed expectations$", lines.First(l => l.Contains(" 2 requests ", StringComparison.Ordinal)));
    }

    internal static async Task<ScenarioRunSummary> RunOverSocketAsync(VapicService service, string file)
    {
        var endpoint = new HostPort("127.0.0.1", service.LocalEndpoint.Port);
        var lines = await File.ReadAllLinesAsync(file);
        return await new ServiceClient(endpoint, TimeSpan.FromSeconds(30)).RunAsync(lines, file, TextWriter.Null, TextWriter.Null, ServiceClient.Printing.Quiet);
    }

    internal static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + LineClient.Deadline;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold in time");
            await Task.Delay(20);
        }
    }
}
