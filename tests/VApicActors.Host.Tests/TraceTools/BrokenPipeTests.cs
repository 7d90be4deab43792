using System.Diagnostics;
using System.Globalization;
using System.IO.Pipes;
using System.Text;
using Microsoft.Win32.SafeHandles;
using VApicActors.Host.Cli;

namespace VApicActors.Host.Tests.TraceTools;

/// <summary>
/// Standard output that is a pipe whose reader has gone (<c>vapic trace view BIG | head</c>): the command stops reading
/// at once and exits 141 without a word, as <c>cat</c> does. Then the same output to a reader that stays.
/// </summary>
[Collection(SerilogCollection.Name)]
public sealed class BrokenPipeTests
{
    /// <summary>Long enough for a process that never stops; far longer than one that stops takes.</summary>
    private static readonly TimeSpan NeverStops = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task View_OfStandardInputThatNeverEnds_ExitsWhenTheOutputsReaderGoes()
    {
        // Standard input is fed for as long as vapic reads it and never closed: only the closed output can end it.
        using var vapic = StartVapic("trace", "view", "-");
        var feeding = Task.Factory.StartNew(() => FeedForever(vapic.Process.StandardInput), TaskCreationOptions.LongRunning);

        var (code, error) = await vapic.ReadLinesThenCloseAsync(3);

        Assert.Equal(StandardOutput.ExitBrokenPipe, code);
        Assert.Equal("", error);
        await feeding.WaitAsync(NeverStops);
    }

    [Fact]
    public async Task View_OfABigFile_StopsReadingWhenTheOutputsReaderGoes()
    {
        // Far more output than the pipe and the writer's buffer hold together: vapic is still writing when the reader goes.
        using var dir = new TempDirectory();
        var trace = dir.File("big.clef");
        using (var file = new StreamWriter(trace))
        {
            for (var seq = 1; seq <= 30_000; seq++)
            {
                await file.WriteLineAsync(EventLine(seq));
            }
        }
        using var vapic = StartVapic("trace", "view", trace);

        var (code, error) = await vapic.ReadLinesThenCloseAsync(3);

        Assert.Equal(StandardOutput.ExitBrokenPipe, code);
        Assert.Equal("", error);
    }

    [Fact]
    public async Task ViewReplayStateShowAndHelp_ToAPipeWithNoReader_Exit141Silently()
    {
        using var dir = new TempDirectory();
        var trace = dir.Write("t.clef", string.Join('\n', Enumerable.Range(1, 50).Select(EventLine)) + "\n");
        var replayTrace = dir.Write("r.clef", ApicCreated(0, bsp: true) + "\n" + ApicCreated(1, bsp: false) + "\n");
        var state = dir.Write("s.json", SaveRestoreTests.TwoVcpuStateJson());

        string[][] commands = [["trace", "view", trace], ["replay", replayTrace], ["state", "show", state], ["--help"]];
        foreach (var args in commands)
        {
            var (code, error) = await InvokeWithNoReaderAsync(args);

            Assert.True(code == StandardOutput.ExitBrokenPipe, $"{string.Join(' ', args)}: exit {code}, {error}");
            Assert.Equal("", error);
        }
    }

    [Fact]
    public async Task View_ToAPipeThatIsRead_PrintsWhatItPrintsAnywhere_ErrorsInTheirPlace()
    {
        using var dir = new TempDirectory();
        // Lines that are not events among the events: each error comes right after the events before it, as '2>&1 |' shows.
        var lines = Enumerable.Range(1, 5_000).Select(seq => seq % 1000 == 0 ? "not json" : EventLine(seq));
        var trace = dir.Write("t.clef", string.Join('\n', lines) + "\n");
        var expected = new StringWriter();
        var expectedCode = await new VapicCommandLine(expected, expected).InvokeAsync(["trace", "view", trace]);

        var (code, output) = await InvokeThroughPipeAsync(["trace", "view", trace]);

        Assert.Equal(1, expectedCode);
        Assert.Equal(expectedCode, code);
        Assert.Contains("t.clef:4000: error: ", expected.ToString());
        Assert.Equal(expected.ToString(), output);
    }

    [Fact]
    public void Batch_OnlyOnThePipe_AndNotForInputThatMayWait()
    {
        using var server = new AnonymousPipeServerStream(PipeDirection.Out);
        var pipe = WriterOn(server);

        using (var batch = StandardOutput.Batch(pipe, inputMayWait: false))
        {
            Assert.True(batch.Active);
        }
        using (var batch = StandardOutput.Batch(pipe, inputMayWait: true))
        {
            Assert.False(batch.Active);
        }
        using (var batch = StandardOutput.Batch(new StringWriter(), inputMayWait: false))
        {
            Assert.False(batch.Active);
        }
    }

    private static string EventLine(int seq) => string.Create(CultureInfo.InvariantCulture,
        $$"""{"Vm":"pipe","ApicId":{{seq % 4}},"Event":"IpiSent","Value":16449,"Vector":65,"Destination":"physical 0x1","VirtualTimeNs":{{seq * 10}},"Seq":{{seq}},"Detail":"Fixed"}""");

    private static string ApicCreated(int id, bool bsp) => string.Create(CultureInfo.InvariantCulture,
        $$"""{"Vm":"pipe","ApicId":{{id}},"Event":"ApicCreated","Value":{{id}},"VirtualTimeNs":0,"Seq":1,"Detail":"index={{id}} bsp={{(bsp ? "true" : "false")}} x2apic=false running=true timer-hz=1000000000 tsc-hz=1000000000"}""");

    private static void FeedForever(StreamWriter input)
    {
        try
        {
            for (var seq = 1; ; seq++)
            {
                input.WriteLine(EventLine(seq));
            }
        }
        catch (IOException)
        {
            // vapic has gone, and its standard input with it.
        }
    }

    /// <summary>Runs the command line in this process with standard output a pipe whose reader is closed before it starts.</summary>
    private static async Task<(int Code, string Error)> InvokeWithNoReaderAsync(string[] args)
    {
        using var server = new AnonymousPipeServerStream(PipeDirection.Out);
        server.DisposeLocalCopyOfClientHandle();
        var error = new StringWriter();
        var code = await new VapicCommandLine(WriterOn(server), error).InvokeAsync(args);
        return (code, error.ToString());
    }

    /// <summary>
    /// Runs the command line in this process with standard output a pipe that is read to its end, and standard error
    /// written to the same pipe line by line.
    /// </summary>
    private static async Task<(int Code, string Output)> InvokeThroughPipeAsync(string[] args)
    {
        using var server = new AnonymousPipeServerStream(PipeDirection.Out);
        using var client = new AnonymousPipeClientStream(PipeDirection.In, server.ClientSafePipeHandle);
        var reading = new StreamReader(client).ReadToEndAsync();
        var code = await new VapicCommandLine(WriterOn(server), WriterOn(server)).InvokeAsync(args);
        server.Dispose();
        return (code, await reading);
    }

    /// <summary>The writer vapic makes for standard output, on the write end of <paramref name="pipe"/> as on fd 1.</summary>
    private static TextWriter WriterOn(AnonymousPipeServerStream pipe) => StandardOutput.Create(
        new FileStream(new SafeFileHandle(pipe.SafePipeHandle.DangerousGetHandle(), ownsHandle: false), FileAccess.Write, bufferSize: 0),
        new UTF8Encoding(false));

    private static RunningVapic StartVapic(params string[] args)
    {
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "vapic.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        return new RunningVapic(Process.Start(start)!);
    }

    /// <summary>The dotnet host this test runs on, to run vapic.dll from the test's folder.</summary>
    private static string DotnetHost()
    {
        var self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            return self;
        }
        return Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
    }

    private sealed class RunningVapic(Process process) : IDisposable
    {
        private readonly Task<string> _error = process.StandardError.ReadToEndAsync();

        public Process Process { get; } = process;

        /// <summary>Reads <paramref name="count"/> lines, closes the read end of standard output, and waits for the exit.</summary>
        public async Task<(int Code, string Error)> ReadLinesThenCloseAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                Assert.NotNull(await Process.StandardOutput.ReadLineAsync().WaitAsync(NeverStops));
            }
            Process.StandardOutput.Dispose();
            using var timeout = new CancellationTokenSource(NeverStops);
            try
            {
                await Process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"vapic still runs {NeverStops.TotalSeconds} s after the reader of its output went away");
            }
            return (Process.ExitCode, await _error.WaitAsync(NeverStops));
        }

        public void Dispose()
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                Process.WaitForExit();
            }
            Process.Dispose();
        }
    }
}
