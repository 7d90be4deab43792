using System.Text.Json;

namespace VApicActors.Host.Tests.TraceTools;

/// <summary><c>vapic state</c> with <c>-</c> for a file: states and scripts through pipes.</summary>
public sealed class StateStandardStreamsTests
{
    private const string Script = "vm vcpus=2\nwritel 0xfee000f0 0x1ff -> OK\nwritel 0xfee00080 0x30\ncpu 1\nwritel 0xfee00310 0x00000000\n";

    [Fact]
    public async Task Save_ToDash_WritesTheStateAloneOnStandardOutput_WhichShowReadsFromStandardInputAsFromAFile()
    {
        using var dir = new TempDirectory();
        var script = dir.Write("s.vapic", Script);
        var file = dir.File("s.json");

        var (code, json, error) = await Vapic.InvokeAsync("state", "save", script, "-o", "-", "--no-trace");

        Assert.Equal(0, code);
        using (var document = JsonDocument.Parse(json))
        {
            Assert.Equal("vapic-vm-state", document.RootElement.GetProperty("format").GetString());
        }
        Assert.Contains("1 passed, 0 failed", error);
        Assert.DoesNotContain("state saved", error);

        Assert.Equal(0, (await Vapic.InvokeAsync("state", "save", script, "-o", file, "--no-trace")).Code);
        var fromFile = await Vapic.InvokeAsync("state", "show", file);
        var fromInput = await Vapic.InvokeWithInputAsync(json, "state", "show", "-");
        Assert.Equal(0, fromInput.Code);
        Assert.Contains("TPR", fromInput.Output);
        Assert.Equal(fromFile.Output, fromInput.Output);
    }

    [Fact]
    public async Task Show_PrintsTheLowestPriorityPreviousWinner_OrThatThereIsNone()
    {
        using var dir = new TempDirectory();
        var (_, json, _) = await Vapic.InvokeAsync("state", "save", dir.Write("s.vapic", Script), "-o", "-", "--no-trace");
        Assert.Contains("\"lowestPriorityPreviousWinner\": null", json);

        var none = await Vapic.InvokeWithInputAsync(json, "state", "show", "-");
        var winner = await Vapic.InvokeWithInputAsync(
            json.Replace("\"lowestPriorityPreviousWinner\": null", "\"lowestPriorityPreviousWinner\": \"0x1\"", StringComparison.Ordinal), "state", "show", "-");

        Assert.Equal(0, none.Code);
        Assert.Contains("lowest-priority previous winner none", none.Output.Split('\n')[0]);
        Assert.Equal(0, winner.Code);
        Assert.Contains("lowest-priority previous winner 0x1", winner.Output.Split('\n')[0]);
    }

    [Theory]
    [InlineData("save")]
    [InlineData("restore")]
    public async Task SaveAndRestore_StopAScriptThatIsNotText_AtTheLineThatShowsIt_AsRunDoes(string verb)
    {
        using var dir = new TempDirectory();
        var state = dir.File("s.json");
        Assert.Equal(0, (await Vapic.InvokeAsync("state", "save", dir.Write("s.vapic", Script), "-o", state, "--no-trace")).Code);
        var nul = dir.File("nul.vapic");
        await File.WriteAllBytesAsync(nul, [.. "clock -> 0\nclock -> 0"u8, 0, .. "\nclock -> 0\n"u8]);
        var latin1 = dir.File("latin1.vapic");
        await File.WriteAllBytesAsync(latin1, [.. "clock -> 0 # caf"u8, 0xE9, .. "\nclock"u8, 0xE9, .. " -> 0\n"u8]);
        var saved = dir.File("out.json");
        string[] Args(string script) => verb == "save"
            ? ["state", "save", script, "-o", saved, "--no-trace"]
            : ["state", "restore", state, script, "-o", saved, "--no-trace"];

        var fromNul = await Vapic.InvokeAsync(Args(nul));
        var fromLatin1 = await Vapic.InvokeAsync(Args(latin1));
        var fromInput = await Vapic.InvokeWithInputAsync("clock -> 0\n\0\n", Args("-"));

        Assert.Equal(2, fromNul.Code);
        Assert.Equal($"{nul}:2: error: not a text script: it contains NUL bytes", fromNul.Error.Trim());
        Assert.Equal(2, fromLatin1.Code);
        Assert.Equal($"{latin1}:2: error: not a text script: it is not UTF-8", fromLatin1.Error.Trim());
        Assert.Equal(2, fromInput.Code);
        Assert.Equal("-:2: error: not a text script: it contains NUL bytes", fromInput.Error.Trim());
        Assert.False(File.Exists(saved));
    }

    [Fact]
    public async Task Restore_FromDash_RunsTheScriptOnTheStateFromStandardInput()
    {
        using var dir = new TempDirectory();
        var (_, json, _) = await Vapic.InvokeAsync("state", "save", dir.Write("s.vapic", Script), "-o", "-", "--no-trace");
        var check = dir.Write("check.vapic", "readl 0xfee00080 -> 0x30\nreadl 0xfee000f0 -> 0x1ff\n");

        var (code, output, error) = await Vapic.InvokeWithInputAsync(json, "state", "restore", "-", check, "--no-trace");

        Assert.True(code == 0, error);
        Assert.Equal("2 passed, 0 failed", output.Trim());
    }

    [Fact]
    public async Task SaveAndRestore_TakeTheScriptFromStandardInput()
    {
        using var dir = new TempDirectory();
        var state = dir.File("in.json");

        var (code, output, error) = await Vapic.InvokeWithInputAsync(Script, "state", "save", "-", "-o", state, "--no-trace");
        Assert.True(code == 0, error);
        Assert.Contains($"{state}: state saved", output);

        (code, output, error) = await Vapic.InvokeWithInputAsync("readl 0xfee00080 -> 0x30\nbogus\n", "state", "restore", state, "-", "--no-trace");
        Assert.Equal(2, code);
        Assert.Contains("-:2: error: unknown command 'bogus'", error);
    }

    [Fact]
    public async Task Restore_WithBothFromStandardInput_IsRefused()
    {
        var (code, output, error) = await Vapic.InvokeWithInputAsync(Script, "state", "restore", "-", "-", "--no-trace");
        Assert.Equal(2, code);
        Assert.Empty(output);
        Assert.Equal("vapic: the state and the script cannot both come from standard input (-): give one of them as a file", error.Trim());
    }

    [Fact]
    public async Task Show_OfStandardInputThatIsNoState_SaysWhatIsWrongAgainstDash()
    {
        var (code, output, error) = await Vapic.InvokeWithInputAsync("{\"format\": \"something-else\"}", "state", "show", "-");
        Assert.Equal(2, code);
        Assert.Empty(output);
        Assert.StartsWith("-: error: ", error.Trim());
        Assert.Contains("format", error);
    }

    [Fact]
    public async Task ExportAndImportKvm_GoThroughStandardStreams()
    {
        using var dir = new TempDirectory();
        var (_, json, _) = await Vapic.InvokeAsync("state", "save", dir.Write("s.vapic", Script), "-o", "-", "--no-trace");
        var kvm = dir.File("kvm");

        var (code, output, error) = await Vapic.InvokeWithInputAsync(json, "state", "export-kvm", "-", "-o", kvm);
        Assert.True(code == 0, error);
        Assert.Equal(2, Directory.GetFiles(kvm, "vcpu-*.lapic").Length);

        (code, output, error) = await Vapic.InvokeAsync("state", "import-kvm", kvm, "-o", "-");
        Assert.True(code == 0, error);
        using (var document = JsonDocument.Parse(output))
        {
            Assert.Equal(2, document.RootElement.GetProperty("apics").GetArrayLength());
        }
        Assert.Contains("-: 2 vCPUs from " + kvm, error);
        Assert.Contains("not in the KVM states, as at power-on: IA32_APIC_BASE 0xfee00000 enabled with BSP on vCPU 0,", error);
        Assert.Contains("\"apicBase\": \"0xfee00900\"", output); // vCPU 0's: EN and BSP
        var shown = await Vapic.InvokeWithInputAsync(output, "state", "show", "-");
        Assert.Equal(0, shown.Code);
        Assert.Contains("vCPU 1 APIC 0x1", shown.Output);
    }
}
