using System.IO.Compression;
using System.Runtime.InteropServices;
using VApicActors.Host.TraceTools;

namespace VApicActors.Host.Tests.TraceTools;

/// <summary>Traces kept compressed with gzip are read as they are: every trace tool and the KVM import decompress them.</summary>
public sealed class CompressedTraceTests(ActorSystemFixture fixture) : IClassFixture<ActorSystemFixture>
{
    private static string Gzip(string path)
    {
        var compressed = path + ".gz";
        using (var output = new GZipStream(File.Create(compressed), CompressionLevel.Fastest))
        using (var input = File.OpenRead(path))
        {
            input.CopyTo(output);
        }
        return compressed;
    }

    [Fact]
    public async Task EveryTraceTool_GivesTheSameOutputForTheTraceAndItsGzip()
    {
        using var dir = new TempDirectory();
        var plain = await SimulatorTraces.RecordAsync(fixture.System, dir, "timeline", SimulatorTraces.Timeline);
        var packed = Gzip(plain);
        Assert.True(new FileInfo(packed).Length < new FileInfo(plain).Length / 3);

        foreach (var (name, run) in new (string, Func<string, TextWriter, TextWriter, int>)[]
        {
            ("view", (path, o, e) => TraceViewCommand.Run(path, "Vector = 0x41", o, e)),
            ("ipis", (path, o, e) => TraceIpisCommand.Run(path, new IpiSelection(null, null, null), false, o, e)),
            ("replay", (path, o, e) => ReplayCommand.Run(path, null, 1, null, null, o, e)),
            ("export", (path, o, e) => TraceExportCommand.Run(path, "chrome", path + ".json", o, e)),
        })
        {
            var (plainOut, plainErr, packedOut, packedErr) = (new StringWriter(), new StringWriter(), new StringWriter(), new StringWriter());
            var plainCode = run(plain, plainOut, plainErr);
            var packedCode = run(packed, packedOut, packedErr);

            Assert.True(plainCode == 0, name + ": " + plainErr);
            Assert.Equal(plainCode, packedCode);
            Assert.Equal(plainOut.ToString().Replace(plain, "TRACE", StringComparison.Ordinal), packedOut.ToString().Replace(packed, "TRACE", StringComparison.Ordinal));
            Assert.NotEqual("", plainOut.ToString());
        }
        // (The timeline names the trace it was drawn from.)
        Assert.Equal(
            (await File.ReadAllTextAsync(plain + ".json")).Replace("timeline.clef\"", "TRACE\"", StringComparison.Ordinal),
            (await File.ReadAllTextAsync(packed + ".json")).Replace("timeline.clef.gz\"", "TRACE\"", StringComparison.Ordinal));
    }

    [Fact]
    public void ImportKvm_OfAGzippedKvmTrace_WritesTheScriptOfTheTraceItself()
    {
        using var dir = new TempDirectory();
        var plain = dir.Write("trace.txt", KvmTraceExcerpts.X2ApicReschedule);
        var packed = Gzip(plain);

        Assert.Equal(KvmTraceImportCommand.Success, KvmTraceImportCommand.Run(packed, dir.File("packed.vapic"), 0, TextWriter.Null, TextWriter.Null));
        Assert.Equal(KvmTraceImportCommand.Success, KvmTraceImportCommand.Run(plain, dir.File("plain.vapic"), 0, TextWriter.Null, TextWriter.Null));

        Assert.Equal(ScriptLines.Commands(File.ReadAllText(dir.File("plain.vapic"))), ScriptLines.Commands(File.ReadAllText(dir.File("packed.vapic"))));
    }

    [Fact]
    public void DamagedGzipData_IsSaidToBeThat_WithExitTwo_AndNoException()
    {
        using var dir = new TempDirectory();
        // A gzip header, then a deflate block of the reserved type 3.
        var damaged = dir.File("damaged.clef.gz");
        File.WriteAllBytes(damaged, [0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xFF, 0xFF, 0xFF, 0xFF]);
        var view = new StringWriter();
        var import = new StringWriter();

        var viewCode = TraceViewCommand.Run(damaged, null, TextWriter.Null, view);
        var importCode = KvmTraceImportCommand.Run(damaged, dir.File("out.vapic"), 0, TextWriter.Null, import);

        Assert.Equal(2, viewCode);
        Assert.Contains($"{damaged}: error: cannot read the trace after 0 events: its gzip data is damaged (", view.ToString());
        Assert.Equal(KvmTraceImportCommand.IoFailure, importCode);
        Assert.Contains($"{damaged}: error: cannot read the trace: its gzip data is damaged (", import.ToString());
        Assert.False(File.Exists(dir.File("out.vapic")));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(8)]
    [InlineData(-2)]
    public async Task AGzipFileCutShort_IsSaidToBeThat_AfterWhatItHeld_WithExitTwo(int cut)
    {
        // Cut by a few bytes (only the trailer lost: every event is still there) or, negative, to 1/-cut of its length.
        using var dir = new TempDirectory();
        var plain = await SimulatorTraces.RecordAsync(fixture.System, dir, "timeline", SimulatorTraces.Timeline);
        var whole = await File.ReadAllBytesAsync(Gzip(plain));
        var shortened = dir.File("cut.clef.gz");
        await File.WriteAllBytesAsync(shortened, whole[..(cut > 0 ? whole.Length - cut : whole.Length / -cut)]);
        var (output, error) = (new StringWriter(), new StringWriter());

        var code = TraceViewCommand.Run(shortened, null, output, error);

        Assert.Equal(2, code);
        Assert.Matches(@": error: cannot read the trace after [1-9][0-9]* events: its gzip data is damaged \(it ends before its compressed data does: the file was cut short\)", error.ToString());
        Assert.NotEqual("", output.ToString());
    }

    [Fact]
    public async Task GzipFilesJoinedIntoOne_AreReadWhole_AsGzipReadsThem()
    {
        using var dir = new TempDirectory();
        var plain = await SimulatorTraces.RecordAsync(fixture.System, dir, "timeline", SimulatorTraces.Timeline);
        var lines = await File.ReadAllLinesAsync(plain);
        var first = dir.Write("first.clef", string.Join("\n", lines[..(lines.Length / 2)]) + "\n");
        var second = dir.Write("second.clef", string.Join("\n", lines[(lines.Length / 2)..]) + "\n");
        var joined = dir.File("joined.clef.gz");
        await File.WriteAllBytesAsync(joined, [.. await File.ReadAllBytesAsync(Gzip(first)), .. await File.ReadAllBytesAsync(Gzip(second))]);
        var (plainOut, plainErr, joinedOut, joinedErr) = (new StringWriter(), new StringWriter(), new StringWriter(), new StringWriter());

        Assert.Equal(0, TraceViewCommand.Run(plain, null, plainOut, plainErr));
        Assert.Equal(0, TraceViewCommand.Run(joined, null, joinedOut, joinedErr));

        Assert.Equal(plainErr.ToString(), joinedErr.ToString());
        Assert.Equal(plainOut.ToString(), joinedOut.ToString());
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int mkfifo(string path, uint mode);

    /// <summary>A named pipe at <paramref name="path"/> that gives <paramref name="bytes"/> to the one reader that opens it.</summary>
    private static Task Pipe(string path, byte[] bytes)
    {
        Assert.Equal(0, mkfifo(path, Convert.ToUInt32("600", 8)));
        return Task.Run(() => File.WriteAllBytes(path, bytes));
    }

    [Fact]
    public async Task ImportKvm_FromAPipe_ReadsAllOfIt_GzipOrNot_AndStillKnowsATraceDat()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        using var dir = new TempDirectory();
        // Its first line is vCPU 1's: a look at the first bytes that took them from the pipe would make it vCPU 0's.
        var text = " CPU 1/KVM-4322  [005] 12345.678800: kvm_apic:             apic_write APIC_TASKPRI = 0x10\n" + KvmTraceExcerpts.X2ApicReschedule;
        var plain = dir.Write("trace.txt", text);
        Assert.Equal(KvmTraceImportCommand.Success, KvmTraceImportCommand.Run(plain, dir.File("plain.vapic"), 0, TextWriter.Null, TextWriter.Null));
        var expected = ScriptLines.Commands(File.ReadAllText(dir.File("plain.vapic")));
        Assert.Contains("cpu 1", string.Join('\n', expected.TakeWhile(l => !l.Contains("0x808", StringComparison.Ordinal))), StringComparison.Ordinal);

        foreach (var (name, bytes) in new[] { ("pipe", File.ReadAllBytes(plain)), ("gzip-pipe", File.ReadAllBytes(Gzip(plain))) })
        {
            var writer = Pipe(dir.File(name), bytes);
            var error = new StringWriter();

            var code = KvmTraceImportCommand.Run(dir.File(name), dir.File(name + ".vapic"), 0, TextWriter.Null, error);
            await writer;

            Assert.True(code == KvmTraceImportCommand.Success, name + ": " + error);
            Assert.Equal(expected, ScriptLines.Commands(File.ReadAllText(dir.File(name + ".vapic"))));
        }
        var traceDat = Pipe(dir.File("trace.dat"), [0x17, 0x08, 0x44, .. "tracing6"u8, 0, 0, 0, 4, 8, 0, 0, 0]);
        var refusal = new StringWriter();
        Assert.Equal(KvmTraceImportCommand.IoFailure, KvmTraceImportCommand.Run(dir.File("trace.dat"), dir.File("dat.vapic"), 0, TextWriter.Null, refusal));
        await traceDat;
        Assert.StartsWith($"{dir.File("trace.dat")} is trace-cmd's binary trace.dat", refusal.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TraceView_OfAGzipTraceThroughAPipe_DecompressesIt()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        using var dir = new TempDirectory();
        var plain = await SimulatorTraces.RecordAsync(fixture.System, dir, "timeline", SimulatorTraces.Timeline);
        var expected = new StringWriter();
        Assert.Equal(0, TraceViewCommand.Run(plain, null, expected, TextWriter.Null));
        var writer = Pipe(dir.File("pipe"), File.ReadAllBytes(Gzip(plain)));
        var output = new StringWriter();
        var error = new StringWriter();

        var code = TraceViewCommand.Run(dir.File("pipe"), null, output, error);
        await writer;

        Assert.True(code == 0, error.ToString());
        Assert.Equal(expected.ToString(), output.ToString());
    }

    [Fact]
    public void GzipDataOnStandardInput_IsRefusedSayingWhatItIsAndWhatToDo()
    {
        // As a text reader of standard input gives gzip's first bytes 1F 8B 08 00: 8B is no UTF-8.
        var stdin = new StringReader("\u001F\uFFFD\b\0\0\0\0\0\0\u0003\uFFFD\n\uFFFD\uFFFD\n");
        var error = new StringWriter();

        var code = TraceViewCommand.Run("-", null, TextWriter.Null, error, stdin);

        Assert.Equal(2, code);
        Assert.Equal("- does not look like a message trace (gzip-compressed data, which is decompressed only when read from a file: give the file's name, or zcat it into the command)", error.ToString().Trim());
    }
}
