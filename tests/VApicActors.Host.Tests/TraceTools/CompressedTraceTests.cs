using System.IO.Compression;
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
}
