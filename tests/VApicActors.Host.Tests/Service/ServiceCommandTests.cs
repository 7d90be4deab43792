using System.Net;
using System.Text.RegularExpressions;
using VApicActors.Host.Cli;
using VApicActors.Host.Scenarios;

namespace VApicActors.Host.Tests.Service;

[Collection(SerilogCollection.Name)]
public sealed partial class ServiceCommandTests(ServiceFixture fixture) : IClassFixture<ServiceFixture>
{
    [Fact]
    public async Task Serve_UntilCancelled_ServesThenSaysByeToEachSessionAndExitsZero()
    {
        var output = new SyncWriter();
        var error = new SyncWriter();
        using var stop = new CancellationTokenSource();
        var serving = Task.Run(() => new VapicCommandLine(output, error).InvokeAsync(["serve", "--listen", "127.0.0.1:0"], stop.Token));

        var port = 0;
        await ServiceProtocolTests.WaitUntilAsync(() => TryPort(output.Text, out port) || serving.IsCompleted);
        Assert.False(serving.IsCompleted, error.Text);

        await using var client = await LineClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        Assert.Equal("OK", await client.RequestAsync("vm vcpus=2"));
        Assert.Equal("OK 0x1060014", await client.RequestAsync("readl 0xfee00030"));

        stop.Cancel();
        Assert.Equal("BYE shutting down", await client.ReadLineAsync());
        Assert.Null(await client.ReadLineAsync());
        Assert.Equal(0, await serving);
        Assert.Contains("stopped after 2 requests in 1 session", output.Text);
    }

    [Theory]
    [InlineData("--listen", "nowhere", "HOST:PORT")]
    [InlineData("--listen", "example.org:7411", "IP address or localhost")]
    public async Task Serve_BadListenAddress_ExitsTwo(string option, string value, string message)
    {
        var error = new StringWriter();
        var code = await new VapicCommandLine(TextWriter.Null, error).InvokeAsync(["serve", option, value]);
        Assert.Equal(2, code);
        Assert.Contains(message, error.ToString());
    }

    [Theory]
    [InlineData("writel 0xfee000f0 0x1ff\nreadl 0xfee000f0 -> 0x1ff\n", 0, "1 passed, 0 failed")]
    [InlineData("readl 0xfee000f0 -> 0x1ff\nreadl 0xfee000f0 -> 0xff\n", 1, "1 passed, 1 failed")]
    [InlineData("readl 0xfee000f0 -> 0xff\nfrobnicate\nreadl 0xfee000f0 -> 0xff\n", 2, "1 passed, 0 failed")]
    public async Task Client_File_ExitsAsRunDoes(string script, int exitCode, string summary)
    {
        using var dir = new TempDirectory();
        var file = dir.Write("s.vapic", script);
        await using var service = fixture.Start();
        var output = new StringWriter();
        var error = new StringWriter();

        var code = await new VapicCommandLine(output, error).InvokeAsync(["client", "--connect", $"127.0.0.1:{service.LocalEndpoint.Port}", "--quiet", file]);

        Assert.Equal(exitCode, code);
        Assert.Equal(summary, output.ToString().Trim().Split('\n')[^1].Trim());
    }

    [Fact]
    public async Task Client_StandardInput_PrintsEveryAnswer()
    {
        await using var service = fixture.Start();
        var output = new StringWriter();
        var input = new StringReader("# version\nreadl 0xfee00030\nrdmsr 0x802 -> #GP\nstate\n");

        var code = await new VapicCommandLine(output, TextWriter.Null, () => input).InvokeAsync(["client", "--connect", $"127.0.0.1:{service.LocalEndpoint.Port}"]);

        Assert.Equal(ScenarioRunSummary.ExitPassed, code);
        Assert.Equal(["OK 0x1060014", "OK", "OK running", "1 passed, 0 failed"], output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("-")]
    public async Task Client_StandardInput_NamesItsLinesAsRunDoes(string? file)
    {
        // vapic run - prints "-:LINE:" (docs/scenario-language.md); the client, which exits like run, printed "stdin:LINE:".
        await using var service = fixture.Start();
        var output = new StringWriter();
        var error = new StringWriter();
        var input = new StringReader("readl 0xfee00030\nreadl 0xfee00030 -> 0x1\nreadl 0xzz\n");

        string[] args = ["client", "--connect", $"127.0.0.1:{service.LocalEndpoint.Port}", "--quiet"];
        var code = await new VapicCommandLine(output, error, () => input).InvokeAsync(file is null ? args : [.. args, file]);

        Assert.Equal(ScenarioRunSummary.ExitError, code);
        var both = output.ToString() + error;
        Assert.Contains("-:2: expected 0x1, got 0x1060014", both);
        Assert.Contains("-:3: error: bad number '0xzz' for address", both);
        Assert.DoesNotContain("stdin:", both);
    }

    [Fact]
    public async Task Client_Echo_PrintsEachRequestBeforeItsAnswer_AndInterruptsWhereTheyCame()
    {
        await using var service = fixture.Start();
        var output = new StringWriter();
        var input = new StringReader("""
            # vCPU 0 sends vector 0x41 to APIC 1, which is watched
            vm vcpus=2
            cpu 1
            writel 0xfee000f0 0x1ff
            watch
            cpu 0
            writel 0xfee000f0 0x1ff
            writel 0xfee00310 0x01000000
            writel 0xfee00300 0x4041
            readl 0xfee00030 -> 0x1060014
            # vCPU 1 took the IPI before it answers, and told the service; watch goes through the same watcher
            cpu 1
            irr -> 0x41
            watch
            """);

        var code = await new VapicCommandLine(output, TextWriter.Null, () => input).InvokeAsync(["client", "--connect", $"127.0.0.1:{service.LocalEndpoint.Port}", "--echo"]);

        Assert.Equal(ScenarioRunSummary.ExitPassed, code);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal("2 passed, 0 failed", lines[^1]);
        // Blank and comment lines are not sent, so not echoed; every request is followed by its answer. Interrupt lines
        // come when the service sends them, between any two lines, after the request that raised the interrupt: maybe only
        // after the answers of the requests that follow it, so the script asks vCPU 1, then the watcher, before it ends.
        var transcript = lines[..^1].Where(l => !l.StartsWith("IRQ ", StringComparison.Ordinal)).ToList();
        Assert.Equal(
            ["> vm vcpus=2", "OK", "> cpu 1", "OK", "> writel 0xfee000f0 0x1ff", "OK", "> watch", "OK", "> cpu 0", "OK",
             "> writel 0xfee000f0 0x1ff", "OK", "> writel 0xfee00310 0x01000000", "OK", "> writel 0xfee00300 0x4041", "OK",
             "> readl 0xfee00030 -> 0x1060014", "OK", "> cpu 1", "OK", "> irr -> 0x41", "OK", "> watch", "OK"],
            transcript);
        var irq = Array.IndexOf(lines, "IRQ raise 1 0x41");
        Assert.True(irq > Array.IndexOf(lines, "> writel 0xfee00300 0x4041"), string.Join(" | ", lines));
    }

    [Theory]
    [InlineData("--quiet")]
    [InlineData("--bench")]
    public async Task Client_EchoWithQuietOrBench_IsRefused(string other)
    {
        var error = new StringWriter();
        var code = await new VapicCommandLine(TextWriter.Null, error, () => new StringReader("irr\n")).InvokeAsync(["client", "--echo", other]);
        Assert.Equal(ScenarioRunSummary.ExitError, code);
        Assert.Contains($"--echo prints every request with its answer: it cannot go with {other}", error.ToString());
    }

    [Theory]
    [InlineData("--sessions", "4")]
    [InlineData("--requests", "100")]
    public async Task Client_BenchOptionsWithoutBench_AreRefusedBeforeConnecting(string option, string value)
    {
        var error = new StringWriter();
        // Port 1: were the option ignored, the client would try to connect and fail with "cannot connect".
        var code = await new VapicCommandLine(TextWriter.Null, error, () => new StringReader("irr\n")).InvokeAsync(["client", "--connect", "127.0.0.1:1", option, value]);
        Assert.Equal(ScenarioRunSummary.ExitError, code);
        Assert.Equal($"vapic: {option} applies only with --bench", error.ToString().Trim());
    }

    [Fact]
    public async Task Client_BenchWithAScript_IsRefusedBeforeConnecting()
    {
        var error = new StringWriter();
        var code = await new VapicCommandLine(TextWriter.Null, error).InvokeAsync(["client", "--connect", "127.0.0.1:1", "--bench", "script.vapic"]);
        Assert.Equal(ScenarioRunSummary.ExitError, code);
        Assert.Equal("vapic: --bench sends requests of its own: it does not take a script (script.vapic)", error.ToString().Trim());
    }

    [Fact]
    public async Task Client_BenchAgainstAServerThatNeverAnswers_GivesUpAfterTimeout_ExitsTwo()
    {
        // Something listens and takes the connection, but never answers a line.
        var silent = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        try
        {
            var port = ((IPEndPoint)silent.LocalEndpoint).Port;
            var accepted = silent.AcceptSocketAsync();
            var error = new StringWriter();

            var code = await new VapicCommandLine(TextWriter.Null, error)
                .InvokeAsync(["client", "--connect", $"127.0.0.1:{port}", "--bench", "--sessions", "1", "--requests", "1", "--timeout", "1"])
                .WaitAsync(TimeSpan.FromSeconds(60));

            Assert.Equal(ScenarioRunSummary.ExitError, code);
            Assert.Equal($"vapic: bench against 127.0.0.1:{port} failed: 'vm vcpus=1' had no answer within 1 s", error.ToString().Trim());
            (await accepted).Dispose();
        }
        finally
        {
            silent.Stop();
        }
    }

    [Theory]
    [InlineData("irr")]
    [InlineData("--bench")]
    public async Task Client_InterruptedWhileWaitingForAnAnswer_StopsWhereItIs_Exit130(string what)
    {
        // Something takes the connection and the request, and never answers: the client waits until it is interrupted.
        var silent = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        try
        {
            var port = ((IPEndPoint)silent.LocalEndpoint).Port;
            string[] args = what == "--bench"
                ? ["client", "--connect", $"127.0.0.1:{port}", "--bench", "--sessions", "1", "--requests", "1", "--timeout", "3600"]
                : ["client", "--connect", $"127.0.0.1:{port}", "--timeout", "3600"];
            using var stop = new CancellationTokenSource();
            var error = new StringWriter();
            var running = new VapicCommandLine(TextWriter.Null, error, () => new StringReader(what + "\n")).InvokeAsync(args, stop.Token);

            using var peer = await silent.AcceptSocketAsync().WaitAsync(TimeSpan.FromSeconds(60));
            var request = new byte[64];
            var received = 0;
            while (received == 0 || request[received - 1] != (byte)'\n')
            {
                received += await peer.ReceiveAsync(request.AsMemory(received)).AsTask().WaitAsync(TimeSpan.FromSeconds(60));
            }
            stop.Cancel();
            var code = await running.WaitAsync(TimeSpan.FromSeconds(60));

            Assert.Equal((130, "vapic: interrupted"), (code, error.ToString().Trim()));
        }
        finally
        {
            silent.Stop();
        }
    }

    [Fact]
    public async Task Client_AFolderForTheScript_IsSaidToBeOne_AsRunSaysIt()
    {
        using var dir = new TempDirectory();
        var error = new StringWriter();

        var code = await new VapicCommandLine(TextWriter.Null, error).InvokeAsync(["client", "--connect", "127.0.0.1:1", dir.Path]);

        Assert.Equal(ScenarioRunSummary.ExitError, code);
        Assert.Equal($"{dir.Path}: error: cannot read the file: '{dir.Path}' is a directory, not a file", error.ToString().Trim());
    }

    [Fact]
    public async Task Client_NothingListening_ExitsTwo()
    {
        int port;
        {
            var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
        }
        var error = new StringWriter();
        var code = await new VapicCommandLine(TextWriter.Null, error, () => new StringReader("irr\n")).InvokeAsync(["client", "--connect", $"127.0.0.1:{port}"]);
        Assert.Equal(ScenarioRunSummary.ExitError, code);
        Assert.Contains("cannot connect", error.ToString());
    }

    [Theory]
    // Commented-out checks are not checks; '#GP' after '->' is a result, not a comment.
    [InlineData("# wrmsr 0x802 1 -> #GP\nwrmsr 0x802 1 -> #GP # read-only -> x\nreadl 0xfee00030 # -> #GP\nrdmsr 0x802 ->#gp#\n", 0, "2 passed, 0 failed")]
    [InlineData("readl 0xfee00030 -> #GP\nirr -> none\n", 1, "1 passed, 1 failed")]
    // A script error still ends with the summary, and exit status 2.
    [InlineData("irr -> none\nfrob\nirr -> none\n", 2, "1 passed, 0 failed")]
    public async Task ExampleClient_CountsAndExitsAsVapicClientDoes(string script, int exitCode, string summary)
    {
        var python = Environment.GetEnvironmentVariable("PATH")?.Split(Path.PathSeparator)
            .Select(d => Path.Combine(d, "python3")).FirstOrDefault(File.Exists);
        if (python is null)
        {
            return; // The example client needs Python 3; nothing to check without it.
        }
        await using var service = fixture.Start();
        var endpoint = $"127.0.0.1:{service.LocalEndpoint.Port}";
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "VApicActors.sln")))
        {
            root = root.Parent!;
        }

        var start = new System.Diagnostics.ProcessStartInfo(python, [Path.Combine(root.FullName, "docs", "clients", "client.py"), endpoint])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = System.Diagnostics.Process.Start(start)!;
        await process.StandardInput.WriteAsync(script);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(exitCode == process.ExitCode, await stderr);
        Assert.Equal(summary, (await stdout).Trim().Split('\n')[^1].Trim());

        var output = new StringWriter();
        var code = await new VapicCommandLine(output, TextWriter.Null, () => new StringReader(script)).InvokeAsync(["client", "--connect", endpoint, "--quiet"]);
        Assert.Equal(exitCode, code);
        Assert.Equal(summary, output.ToString().Trim().Split('\n')[^1].Trim());
    }

    private static bool TryPort(string text, out int port)
    {
        var match = ServingLine().Match(text);
        port = match.Success ? int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : 0;
        return match.Success;
    }

    [GeneratedRegex(@"serving on 127\.0\.0\.1:(\d+)")]
    private static partial Regex ServingLine();

    /// <summary>A writer the test can read while the command writes to it from another thread.</summary>
    private sealed class SyncWriter : StringWriter
    {
        private readonly object _lock = new();

        public string Text
        {
            get
            {
                lock (_lock)
                {
                    return ToString();
                }
            }
        }

        public override void Write(char value)
        {
            lock (_lock)
            {
                base.Write(value);
            }
        }

        public override void Write(string? value)
        {
            lock (_lock)
            {
                base.Write(value);
            }
        }

        public override Task WriteLineAsync(string? value)
        {
            lock (_lock)
            {
                base.WriteLine(value);
            }
            return Task.CompletedTask;
        }
    }
}
