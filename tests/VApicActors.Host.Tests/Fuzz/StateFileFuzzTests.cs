using System.Text;
using System.Text.Json.Nodes;
using VApicActors.Actors;
using VApicActors.Host.Scenarios;
using VApicActors.Host.TraceTools;

namespace VApicActors.Host.Tests.Fuzz;

/// <summary>
/// Real saved states (<c>save</c>) with fields deleted, of another type, out of range, null, arrays of the wrong length,
/// pages of random bytes, values swapped between fields, and the JSON text cut short or with junk in it. Every such file
/// is either refused by every reader with one line naming what is wrong, or accepted, and then shown, exported and
/// restored into a VM that runs on from it: never an exception.
/// </summary>
public sealed class StateFileFuzzTests(ActorSystemFixture fixture) : IClassFixture<ActorSystemFixture>
{
    private const int Cases = 400;
    private const int Seed = 0x5eed_0002;

    /// <summary>The longest refusal that still reads as one clear line.</summary>
    private const int MaxMessage = 400;

    /// <summary>Four vCPUs with IPIs in IRR and ISR, a periodic timer, a TSC deadline, a level MSI whose EOI is broadcast, an AP started by SIPI.</summary>
    private const string XApicScript = """
        vm vcpus=4 boot=bsp apic-ids=0,2,4,6 timer-hz=100000000
        writel 0xfee000f0 0x1ff
        writel 0xfee00320 0x000200e1
        writel 0xfee003e0 0xb
        writel 0xfee00380 250
        writel 0xfee00310 0x02000000
        writel 0xfee00300 0x0000c500
        writel 0xfee00300 0x00000699
        cpu 1
        writel 0xfee000f0 0x1ff
        writel 0xfee00320 0x000400d1
        wrmsr 0x6e0 7000
        cpu 0
        writel 0xfee00300 0x00004051
        writel 0xfee00300 0x00004071
        msi 0xfee02000 0xc061
        cpu 1
        ack -> 0x71
        eoi
        ack -> 0x61
        eoi
        ack -> 0x51
        lint0 1
        clock_step 1234
        save xapic.json
        """;

    /// <summary>x2APIC with sparse IDs above 0xFF, a self IPI in service and a one-shot timer.</summary>
    private const string X2ApicScript = """
        vm vcpus=2 mode=x2apic apic-ids=0x1,0x123 tsc-hz=3000000000
        wrmsr 0x80f 0x1ff
        wrmsr 0x832 0x000000ec
        wrmsr 0x838 100000
        wrmsr 0x83f 0x41
        ack -> 0x41
        cpu 1
        wrmsr 0x80f 0x1ff
        wrmsr 0x808 0x20
        clock_step 777
        save x2apic.json
        """;

    [Fact]
    public async Task MutatedStateFiles_AreRefusedNamingTheField_OrRestored()
    {
        using var dir = new TempDirectory();
        var originals = new List<string>();
        foreach (var script in new[] { XApicScript, X2ApicScript })
        {
            await using var session = new ScenarioSession(fixture.System, "base") { BaseDirectory = dir.Path };
            foreach (var line in script.Split('\n'))
            {
                var outcome = await session.ExecuteAsync(line);
                Assert.True(outcome.Kind != LineOutcomeKind.Error && outcome.Kind != LineOutcomeKind.Failed, line + ": " + outcome.Describe());
            }
        }
        originals.Add(await File.ReadAllTextAsync(dir.File("xapic.json")));
        originals.Add(await File.ReadAllTextAsync(dir.File("x2apic.json")));

        var mutator = new JsonMutator(Seed);
        var problems = new List<string>();
        int accepted = 0;
        for (var n = 0; n < Cases; n++)
        {
            var original = mutator.Text.Pick(originals);
            var (text, what) = mutator.Mutate(original);
            var path = dir.File($"case-{n}.json");
            await File.WriteAllBytesAsync(path, Encoding.UTF8.GetBytes(text));
            var problem = await CheckAsync(path, dir.File($"case-{n}.out"), what);
            if (problem == "accepted")
            {
                accepted++;
            }
            else if (problem is not null)
            {
                problems.Add($"case {n} ({what}): {problem}");
            }
        }

        Assert.True(problems.Count == 0, $"{problems.Count} of {Cases} mutated state files broke the contract:\n{string.Join("\n", problems.Take(10))}");
        Assert.InRange(accepted, Cases / 10, Cases - Cases / 10); // the mutations reach both sides of the checks
    }

    /// <summary>Null when the file was refused as the contract says, "accepted" when it was accepted and every use of it worked, else what broke.</summary>
    private async Task<string?> CheckAsync(string path, string outputPath, string what)
    {
        VmState state;
        try
        {
            state = VmStateFile.Read(path);
        }
        catch (InvalidDataException e)
        {
            if (e.Message.Contains('\n', StringComparison.Ordinal) || e.Message.Length is 0 or > MaxMessage)
            {
                return "refused, but not in one clear line: " + Shorten(e.Message);
            }
            if (!Fields.Any(f => e.Message.Contains(f, StringComparison.Ordinal)))
            {
                return "refused without naming a field: " + e.Message;
            }
            // The commands report it as "FILE: error: REASON".
            var show = await InvokeAsync("state", "show", path);
            if (show.Code != 2 || show.Error.Trim() != $"{path}: error: {e.Message}")
            {
                return $"refused by the reader ({e.Message}), but 'state show' exited {show.Code} saying {Shorten(show.Error)}";
            }
            return null;
        }
        catch (Exception e)
        {
            return "the reader threw " + e;
        }

        // Accepted: every command that reads it works, and a VM restored from it runs on.
        var (code, output, error) = await InvokeAsync("state", "show", path);
        if (code != 0 || error.Length > 0 || !output.StartsWith("VM ", StringComparison.Ordinal))
        {
            return $"accepted, but 'state show' exited {code}: {Shorten(error)}";
        }
        (code, _, error) = await InvokeAsync("state", "export-kvm", path, "-o", outputPath);
        if (code != 0 || error.Length > 0)
        {
            return $"accepted, but 'state export-kvm' exited {code}: {Shorten(error)}";
        }

        await using var session = new ScenarioSession(fixture.System, "restored") { BaseDirectory = Path.GetDirectoryName(path) };
        foreach (var line in new[] { "restore " + path, "clock", "irr", "isr", "pending", "ack", "eoi", "readl 0xfee00390", "rdmsr 0x1b", "rdmsr 0x6e0",
                     "clock_step", "clock_step 1000000", $"cpu {state.Spec.VcpuCount - 1}", "rdtsc", "ack", "eoi-broadcasts", "save " + outputPath + ".json", "restore " + outputPath + ".json" })
        {
            var outcome = await session.ExecuteAsync(line);
            if (outcome.Kind == LineOutcomeKind.Error)
            {
                return $"accepted, but '{line}' on the restored VM: {outcome.Error}";
            }
        }
        return "accepted";
    }

    /// <summary>What a refusal names: a field of the document, or the document itself when it is not JSON.</summary>
    private static readonly string[] Fields =
    [
        "format", "version", "vm", "name", "vcpus", "mode", "apicIds", "boot", "timerHz", "tscHz", "virtualTimeNs", "pendingEoiBroadcasts",
        "lowestPriorityPreviousWinner",
        "apics", "index", "initialApicId", "apicBase", "runState", "esrPending", "lint0", "lint1", "tscDeadline", "timer", "running",
        "elapsedNs", "firstTicks", "periodTicks", "expiries", "dueInNs", "nmiCount", "smiCount", "sipiVector", "page", "JSON", "the document",
    ];

    private static Task<(int Code, string Output, string Error)> InvokeAsync(params string[] args) => Vapic.InvokeAsync(args);

    private static string Shorten(string text) => text.Length <= 400 ? text : text[..400] + $"... ({text.Length} characters)";
}

/// <summary>Seeded mutations of a JSON document: of one value in its tree (most of them), or of its text.</summary>
internal sealed class JsonMutator(int seed)
{
    public TextMutator Text { get; } = new(seed);

    /// <summary>Values at the edges of what JSON readers take.</summary>
    private static readonly string[] OddValues =
    [
        "null", "true", "false", "0", "-1", "1.5", "1e300", "-0", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
        "18446744073709551615", "18446744073709551616", "4294967295", "4294967296", "2147483648", "255", "256", "\"\"", "\"x\"", "\"0x\"",
        "\"0xZZ\"", "\"0x" + new string('f', 40) + "\"", "\"-0x1\"", "\"0x-1\"", "\" 0x1\"", "\"0x1 \"", "\"1\"", "{}", "[]", "[null]", "[1,2,3]", "{\"a\":1}",
        "\"running\"", "\"wait-for-sipi\"", "\"xapic\"", "\"x2apic\"", "\"all\"", "\"bsp\"", "\"vapic-vm-state\"", "\"AAAA\"", "\"====\"",
        "\"\\u0000\"", "\"" + LoneSurrogate + "\"",
    ];

    /// <summary>Stands for the JSON string <c>"\ud800"</c> (a lone surrogate, which a JSON node cannot write) until the text is written.</summary>
    private const string LoneSurrogate = "@lone-surrogate@";

    /// <summary>The mutated text and what was done.</summary>
    public (string Text, string What) Mutate(string json)
    {
        if (Text.Chance(15))
        {
            return MutateText(json);
        }
        var root = JsonNode.Parse(json)!;
        var nodes = new List<(JsonNode? Parent, string Path, string? Name, int Index)>();
        Collect(root, "", nodes);
        var (parent, path, name, index) = Text.Pick(nodes);
        var count = Text.Chance(20) ? 2 : 1;
        var what = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            if (i > 0)
            {
                (parent, path, name, index) = Text.Pick(Collected(root));
                what.Append("; ");
            }
            what.Append(MutateNode(root, parent, path, name, index));
        }
        return (root.ToJsonString().Replace(LoneSurrogate, "\\ud800", StringComparison.Ordinal), what.ToString());
    }

    private List<(JsonNode? Parent, string Path, string? Name, int Index)> Collected(JsonNode root)
    {
        var nodes = new List<(JsonNode? Parent, string Path, string? Name, int Index)>();
        Collect(root, "", nodes);
        return nodes;
    }

    private string MutateNode(JsonNode root, JsonNode? parent, string path, string? name, int index)
    {
        JsonNode? current = parent switch
        {
            JsonObject o => o[name!],
            JsonArray a => a[index],
            _ => root,
        };
        if (parent is null)
        {
            return "the root kept";
        }
        switch (Text.Next(9))
        {
            case 0:
                Remove(parent, name, index);
                return "removed " + path;
            case 1 when current is JsonArray array:
                if (Text.Chance(50) && array.Count > 0)
                {
                    array.RemoveAt(Text.Next(array.Count));
                    return "one entry fewer in " + path;
                }
                array.Add(array.Count > 0 ? array[Text.Next(array.Count)]?.DeepClone() : JsonValue.Create(1));
                return "one entry more in " + path;
            case 2 when name == "page":
                var bytes = new byte[Text.Chance(80) ? 4096 : Text.Next(5000)];
                for (var i = 0; i < bytes.Length; i++)
                {
                    bytes[i] = (byte)(Text.Chance(70) ? 0 : Text.Next(256));
                }
                Set(parent, name, index, JsonValue.Create(Convert.ToBase64String(bytes)));
                return $"random page of {bytes.Length} bytes at {path}";
            case 3 when current is JsonValue v && v.TryGetValue<long>(out var number):
                var changed = Text.Next(6) switch
                {
                    0 => number + 1,
                    1 => number - 1,
                    2 => -number,
                    3 => number * 1000,
                    4 => long.MaxValue - Text.Next(3),
                    _ => Text.Next(1 << 20),
                };
                Set(parent, name, index, JsonValue.Create(changed));
                return $"{path} = {changed}";
            case 4 when current is JsonValue v && v.TryGetValue<string>(out var s):
                var mutated = Text.Mutate(s, []);
                Set(parent, name, index, JsonValue.Create(mutated));
                return $"{path} = \"{(mutated.Length > 60 ? mutated[..60] + "..." : mutated)}\"";
            case 5:
                var others = Collected(root).Where(c => c.Parent is not null).ToList();
                var other = Text.Pick(others);
                var value = other.Parent switch
                {
                    JsonObject o => o[other.Name!],
                    JsonArray a => a[other.Index],
                    _ => null,
                };
                if (value is not null && IsWithin(value, current))
                {
                    goto default;
                }
                Set(parent, name, index, value?.DeepClone());
                return $"{path} = the value of {other.Path}";
            case 6 when parent is JsonObject o:
                o.Add("unknown" + Text.Next(10), JsonValue.Create(1));
                return "an unknown field beside " + path;
            default:
                var odd = Text.Pick(OddValues);
                Set(parent, name, index, JsonNode.Parse(odd));
                return $"{path} = {odd}";
        }
    }

    private static bool IsWithin(JsonNode value, JsonNode? container)
    {
        for (var n = value; n is not null; n = n.Parent)
        {
            if (ReferenceEquals(n, container))
            {
                return true;
            }
        }
        return false;
    }

    private (string, string) MutateText(string json)
    {
        switch (Text.Next(6))
        {
            case 0:
                var at = Text.Next(json.Length);
                return (json[..at], $"cut at character {at}");
            case 1:
                var where = Text.Next(json.Length);
                var junk = Text.Pick(TextMutator.Nasty);
                return (json[..where] + junk + json[where..], $"'{junk}' inserted at {where}");
            case 2:
                // The same key twice in one object.
                var key = Text.Pick(new[] { "format", "version", "vm", "apics", "virtualTimeNs", "vcpus", "page", "index", "timer" });
                var found = json.IndexOf($"\"{key}\"", StringComparison.Ordinal);
                var line = json.LastIndexOf('\n', found) + 1;
                var end = json.IndexOf('\n', found);
                var entry = json[line..end].TrimEnd(',') + ",";
                return (json[..line] + entry + "\n" + json[line..], $"{key} twice");
            case 3:
                return ("\ufeff" + json + Text.Pick(new[] { "", "\n{}", " x", "\0", "]" }), "a BOM and something after the document");
            case 4:
                var lines = json.Split('\n');
                var i = Text.Next(lines.Length);
                lines[i] = Text.Mutate(lines[i], lines);
                return (string.Join('\n', lines), $"line {i + 1} mutated as text");
            default:
                var depth = Text.Next(10, 2000);
                return (new string('[', depth) + json + new string(']', depth), $"nested {depth} deep");
        }
    }

    private static void Collect(JsonNode? node, string path, List<(JsonNode? Parent, string Path, string? Name, int Index)> nodes)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (name, child) in o)
                {
                    var childPath = path.Length == 0 ? name : path + "." + name;
                    nodes.Add((o, childPath, name, -1));
                    Collect(child, childPath, nodes);
                }
                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    var childPath = $"{path}[{i}]";
                    nodes.Add((a, childPath, null, i));
                    Collect(a[i], childPath, nodes);
                }
                break;
        }
    }

    private static void Remove(JsonNode parent, string? name, int index)
    {
        if (parent is JsonObject o)
        {
            o.Remove(name!);
        }
        else if (parent is JsonArray a)
        {
            a.RemoveAt(index);
        }
    }

    private static void Set(JsonNode parent, string? name, int index, JsonNode? value)
    {
        if (parent is JsonObject o)
        {
            o[name!] = value;
        }
        else if (parent is JsonArray a)
        {
            a[index] = value;
        }
    }
}
