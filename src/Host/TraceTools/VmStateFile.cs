using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using VApicActors.Actors;
using VApicActors.Registers;
using VApicActors.Host.Cli;

namespace VApicActors.Host.TraceTools;

/// <summary>
/// A saved VM state as a JSON document (<c>docs/state-format.md</c> describes every field): the VM's shape, its
/// virtual time, the EOI broadcasts not yet taken, and per vCPU the 4 KiB page (base64) with the state that
/// lives outside it. Register-like values are <c>0x</c> hexadecimal strings, times and counts decimal numbers.
/// </summary>
public static class VmStateFile
{
    public const string Format = "vapic-vm-state";
    public const int Version = 1;

    /// <summary>IA32_APIC_BASE bit 10 (EXTD): the APIC is in x2APIC mode.</summary>
    private const ulong ApicBaseExtd = 1UL << 10;

    /// <summary>The highest initial APIC ID an xAPIC-mode APIC can have.</summary>
    private const uint MaxXApicId = 0xFE;

    /// <summary>IA32_APIC_BASE bit 8: the bootstrap processor.</summary>
    private const ulong ApicBaseBsp = 1UL << 8;

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Writes <paramref name="state"/> to <paramref name="path"/> (replacing it).</summary>
    public static void Write(VmState state, string path) => File.WriteAllText(path, ToJson(state));

    /// <summary>Reads a state file. Throws <see cref="InvalidDataException"/> naming the field when the document is not a valid state.</summary>
    public static VmState Read(string path) => FromJson(File.ReadAllText(path));

    public static string ToJson(VmState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var spec = state.Spec;
        var apics = new JsonArray();
        foreach (var a in state.Apics)
        {
            apics.Add(new JsonObject
            {
                ["index"] = a.Index,
                ["initialApicId"] = Hex.Of(a.InitialApicId),
                ["apicBase"] = Hex.Of(a.ApicBase),
                ["runState"] = a.RunState == VcpuRunState.Running ? "running" : "wait-for-sipi",
                ["esrPending"] = Hex.Of(a.EsrPending),
                ["lint0"] = a.Lint0,
                ["lint1"] = a.Lint1,
                ["tscDeadline"] = Hex.Of(a.TscDeadline),
                ["timer"] = new JsonObject
                {
                    ["running"] = a.TimerRunning,
                    ["elapsedNs"] = a.TimerElapsedNs,
                    ["firstTicks"] = a.TimerFirstTicks,
                    ["periodTicks"] = a.TimerPeriodTicks,
                    ["expiries"] = a.TimerExpiries,
                    ["dueInNs"] = a.TimerDueInNs,
                },
                ["nmiCount"] = a.NmiCount,
                ["smiCount"] = a.SmiCount,
                ["sipiVector"] = a.SipiVector < 0 ? null : Hex.Of((ulong)a.SipiVector),
                ["page"] = Convert.ToBase64String(a.Page.AsSpan()),
            });
        }
        var root = new JsonObject
        {
            ["format"] = Format,
            ["version"] = Version,
            ["vm"] = new JsonObject
            {
                ["name"] = spec.Name,
                ["vcpus"] = spec.VcpuCount,
                ["mode"] = spec.X2Apic ? "x2apic" : "xapic",
                ["apicIds"] = new JsonArray(state.Apics.Select(a => (JsonNode?)Hex.Of(a.InitialApicId)).ToArray()),
                ["boot"] = spec.BootAll ? "all" : "bsp",
                ["timerHz"] = spec.TimerHz,
                ["tscHz"] = spec.TscHz,
            },
            ["virtualTimeNs"] = state.VirtualTimeNs,
            ["pendingEoiBroadcasts"] = new JsonArray(state.PendingEoiBroadcasts.Select(v => (JsonNode?)Hex.Of(v)).ToArray()),
            ["lowestPriorityPreviousWinner"] = state.LowestPriorityPreviousWinner is uint winner ? Hex.Of(winner) : null,
            ["apics"] = apics,
        };
        return root.ToJsonString(Indented) + Environment.NewLine;
    }

    public static VmState FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (string.IsNullOrWhiteSpace(json))
        {
            throw new InvalidDataException("the file is empty: a state file is one JSON object (docs/state-format.md)");
        }
        JsonNode? root;
        try
        {
            // A key given twice is refused here: a JSON object reads its keys only when first used, and then throws.
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException("not a JSON document: " + JsonProblem.Describe(e, oneLine: false), e);
        }
        catch (InvalidOperationException)
        {
            // A key that is not text (see CheckText) met while looking for keys given twice: say which it is.
            root = JsonNode.Parse(json);
        }
        CheckText(root, "");
        if (root is not JsonObject document)
        {
            throw new InvalidDataException("not a VM state: the document is not a JSON object");
        }
        if (Text(document, "format") != Format)
        {
            throw new InvalidDataException($"not a VM state: format is not \"{Format}\"");
        }
        if (Signed(document, "version") != Version)
        {
            throw new InvalidDataException($"version {Shown(document["version"], document.ContainsKey("version"))} is not supported (this reader knows version {Version})");
        }

        var vm = Object(document, "vm");
        var vcpus = (int)Signed(vm, "vcpus", 1, int.MaxValue, "vm");
        var x2ApicVm = Text(vm, "mode", "vm") switch
        {
            "xapic" => false,
            "x2apic" => true,
            _ => throw new InvalidDataException($"vm.mode must be xapic or x2apic, not {Shown(vm["mode"], true)}"),
        };
        var apicNodes = Array(document, "apics");
        if (apicNodes.Count != vcpus)
        {
            throw new InvalidDataException($"apics: {Plural.Count(apicNodes.Count, "entry", "entries")} for {Plural.Count(vcpus, "vCPU")}");
        }
        var idNodes = Array(vm, "apicIds", "vm");
        if (idNodes.Count != vcpus)
        {
            throw new InvalidDataException($"vm.apicIds: {Plural.Count(idNodes.Count, "entry", "entries")} for {Plural.Count(vcpus, "vCPU")}");
        }
        var apics = ImmutableArray.CreateBuilder<ApicState>(vcpus);
        var seen = new Dictionary<uint, int>();
        for (var i = 0; i < apicNodes.Count; i++)
        {
            var path = "apics[" + i.ToString(CultureInfo.InvariantCulture) + "]";
            var a = apicNodes[i] as JsonObject ?? throw new InvalidDataException(path + " is not an object");
            var index = (int)Signed(a, "index", 0, int.MaxValue, path);
            if (index != i)
            {
                throw new InvalidDataException($"{path}.index must be {i} (its position in apics), not {index}");
            }
            var id = (uint)Unsigned(a, "initialApicId", uint.MaxValue, path);
            CheckApicId(id, x2ApicVm, path + ".initialApicId");
            if (!seen.TryAdd(id, i))
            {
                throw new InvalidDataException($"{path}.initialApicId {Hex.Of(id)} is also the ID of apics[{seen[id]}]: APIC IDs must differ");
            }
            var listed = (uint)Unsigned(idNodes[i], "vm.apicIds[" + i.ToString(CultureInfo.InvariantCulture) + "]", uint.MaxValue);
            if (listed != id)
            {
                throw new InvalidDataException($"vm.apicIds[{i}] is {Hex.Of(listed)}, but {path}.initialApicId is {Hex.Of(id)}: they must be equal");
            }
            var apicBase = Unsigned(a, "apicBase", ulong.MaxValue, path);
            if (LocalApic.ApicBaseError(apicBase) is { } why)
            {
                throw new InvalidDataException($"{path}.apicBase {Hex.Of(apicBase)} is not a valid IA32_APIC_BASE: {why}");
            }
            // BSP is read-only, and vCPU 0 is the BSP of every VM (INIT leaves it running): a flag elsewhere would disagree.
            if (((apicBase & ApicBaseBsp) != 0) != (i == 0))
            {
                throw new InvalidDataException(
                    $"{path}.apicBase {Hex.Of(apicBase)} {(i == 0 ? "does not have" : "has")} BSP (bit 8) set: vCPU 0 is the VM's bootstrap processor, and only it");
            }
            var timer = Object(a, "timer", path);
            byte[] page;
            try
            {
                page = Convert.FromBase64String(Text(a, "page", path));
            }
            catch (FormatException e)
            {
                throw new InvalidDataException(path + ".page is not base64: " + e.Message, e);
            }
            if (page.Length != ApicOffsets.PageSize)
            {
                throw new InvalidDataException($"{path}.page has {page.Length} bytes, not {ApicOffsets.PageSize}");
            }
            apics.Add(new ApicState(
                index,
                id,
                ImmutableArray.Create(page),
                apicBase,
                Text(a, "runState", path) switch
                {
                    "running" => VcpuRunState.Running,
                    // INIT leaves the bootstrap processor running: only an application processor waits for a Start-up IPI.
                    "wait-for-sipi" when index == 0 => throw new InvalidDataException(
                        $"{path}.runState is wait-for-sipi, but vCPU 0 is the bootstrap processor, which never waits for a Start-up IPI"),
                    "wait-for-sipi" => VcpuRunState.WaitForSipi,
                    _ => throw new InvalidDataException($"{path}.runState must be running or wait-for-sipi, not {Shown(a["runState"], true)}"),
                },
                (uint)Unsigned(a, "esrPending", uint.MaxValue, path),
                Bool(a, "lint0", path),
                Bool(a, "lint1", path),
                Unsigned(a, "tscDeadline", ulong.MaxValue, path),
                Bool(timer, "running", path + ".timer"),
                Signed(timer, "elapsedNs", 0, long.MaxValue, path + ".timer"),
                Count(timer, "firstTicks", path + ".timer"),
                Count(timer, "periodTicks", path + ".timer"),
                Count(timer, "expiries", path + ".timer"),
                Signed(timer, "dueInNs", -1, long.MaxValue, path + ".timer"),
                (int)Signed(a, "nmiCount", 0, int.MaxValue, path),
                (int)Signed(a, "smiCount", 0, int.MaxValue, path),
                a["sipiVector"] is null ? -1 : (int)Unsigned(a, "sipiVector", byte.MaxValue, path)));
        }

        var ids = apics.Select(a => a.InitialApicId).ToArray();
        var spec = new VmSpec(
            Text(vm, "name", "vm"),
            vcpus,
            x2ApicVm,
            ids,
            Text(vm, "boot", "vm") switch
            {
                "all" => true,
                "bsp" => false,
                _ => throw new InvalidDataException($"vm.boot must be all or bsp, not {Shown(vm["boot"], true)}"),
            },
            Signed(vm, "timerHz", 1, long.MaxValue, "vm"),
            Signed(vm, "tscHz", 1, long.MaxValue, "vm"));
        var eoi = Array(document, "pendingEoiBroadcasts")
            .Select((n, i) => (byte)Unsigned(n, "pendingEoiBroadcasts[" + i.ToString(CultureInfo.InvariantCulture) + "]", byte.MaxValue))
            .ToImmutableArray();
        // Added after the first files were written: a file without it (or with null) has no previous winner yet.
        uint? previousWinner = document["lowestPriorityPreviousWinner"] is { } winner
            ? (uint)Unsigned(winner, "lowestPriorityPreviousWinner", uint.MaxValue)
            : null;
        var state = new VmState(spec, Signed(document, "virtualTimeNs", 0, long.MaxValue), eoi, apics.MoveToImmutable(), previousWinner);
        try
        {
            state.CheckRestorableInto(spec);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException("inconsistent state: " + e.Message, e);
        }
        return state;
    }

    /// <summary>
    /// Each vCPU's registers in the layout of KVM's <c>KVM_GET_LAPIC</c> (<c>struct kvm_lapic_state</c>, 1 KiB):
    /// the first 1 KiB of the page with TMCCT computed from the saved timer and, in x2APIC mode, the ID as
    /// <c>id &lt;&lt; 24</c>.
    /// </summary>
    public static IReadOnlyList<byte[]> ToKvmLapicStates(VmState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var result = new List<byte[]>(state.Apics.Length);
        foreach (var a in state.Apics)
        {
            using var apic = Model(state, a);
            result.Add(apic.ToKvmLapicState(state.VirtualTimeNs));
        }
        return result;
    }

    /// <summary>A register model holding one saved APIC at the state's virtual time (the caller disposes it).</summary>
    public static LocalApic Model(VmState state, ApicState apic)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(apic);
        var x2Apic = (apic.ApicBase & ApicBaseExtd) != 0;
        var config = new ApicConfig(apic.Index, apic.InitialApicId, apic.Index == 0, x2Apic || apic.InitialApicId > MaxXApicId,
            TimerHz: state.Spec.TimerHz, TscHz: state.Spec.TscHz);
        var model = new LocalApic(config);
        model.Restore(apic, state.VirtualTimeNs, NullApicEffects.Instance);
        return model;
    }

    /// <summary>
    /// Every string of the document, keys included, is text that .NET can hold: JSON lets an escaped surrogate stand
    /// alone (<c>"\ud800"</c>), which reads as no string at all. Checked first, so that the fields are read as text.
    /// </summary>
    private static void CheckText(JsonNode? node, string path)
    {
        switch (node)
        {
            case JsonObject o:
                List<KeyValuePair<string, JsonNode?>> items;
                try
                {
                    items = [.. o];
                }
                catch (InvalidOperationException)
                {
                    throw new InvalidDataException($"{(path.Length == 0 ? "the document" : path)} has a key that is not text: it holds a lone surrogate such as \\ud800");
                }
                catch (ArgumentException)
                {
                    throw new InvalidDataException($"{(path.Length == 0 ? "the document" : path)} has a key twice");
                }
                foreach (var (name, child) in items)
                {
                    CheckText(child, path.Length == 0 ? name : path + "." + name);
                }
                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++)
                {
                    CheckText(a[i], path + "[" + i.ToString(CultureInfo.InvariantCulture) + "]");
                }
                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                try
                {
                    _ = v.GetValue<string>();
                }
                catch (InvalidOperationException)
                {
                    throw new InvalidDataException($"{(path.Length == 0 ? "the document" : path)} is not text: it holds a lone surrogate such as \\ud800");
                }
                break;
        }
    }

    /// <summary>An initial APIC ID a VM of that mode can have: at most 0xFE in xAPIC mode, never the x2APIC broadcast ID.</summary>
    private static void CheckApicId(uint id, bool x2ApicVm, string path)
    {
        if (!x2ApicVm && id > MaxXApicId)
        {
            throw new InvalidDataException($"{path} {Hex.Of(id)} is above {Hex.Of(MaxXApicId)}, the highest APIC ID of an xapic VM (vm.mode)");
        }
        if (id == ApicId.X2ApicBroadcast)
        {
            throw new InvalidDataException($"{path} {Hex.Of(id)} is the x2APIC broadcast ID, no APIC's ID");
        }
    }

    private static JsonObject Object(JsonObject parent, string name, string? path = null) =>
        parent[name] as JsonObject ?? throw Missing(parent, name, path, "an object");

    private static JsonArray Array(JsonObject parent, string name, string? path = null) =>
        parent[name] as JsonArray ?? throw Missing(parent, name, path, "an array");

    private static string Text(JsonObject parent, string name, string? path = null) =>
        parent[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw Missing(parent, name, path, "a string");

    private static bool Bool(JsonObject parent, string name, string path) =>
        parent[name] is JsonValue v && v.TryGetValue<bool>(out var b) ? b : throw Missing(parent, name, path, "true or false");

    private static long Signed(JsonObject parent, string name, long min = long.MinValue, long max = long.MaxValue, string? path = null)
    {
        if (parent[name] is JsonValue v && v.TryGetValue<long>(out var n) && n >= min && n <= max)
        {
            return n;
        }
        throw Missing(parent, name, path, string.Create(CultureInfo.InvariantCulture, $"a number from {min} to {max}"));
    }

    /// <summary>A count or a number of ticks: a JSON number (as written), or a <c>0x</c> string (as the reader also takes).</summary>
    private static ulong Count(JsonObject parent, string name, string path)
    {
        var node = parent[name];
        if (node is JsonValue v && (v.TryGetValue<ulong>(out _) || v.TryGetValue<string>(out _)))
        {
            try
            {
                return Unsigned(node, path + "." + name, ulong.MaxValue);
            }
            catch (InvalidDataException)
            {
            }
        }
        throw Missing(parent, name, path, string.Create(CultureInfo.InvariantCulture, $"a number from 0 to {ulong.MaxValue}"));
    }

    private static ulong Unsigned(JsonObject parent, string name, ulong max, string path) =>
        Unsigned(parent[name], path + "." + name, max, parent.ContainsKey(name));

    /// <summary>A <c>0x</c> hexadecimal string, or a plain non-negative number.</summary>
    private static ulong Unsigned(JsonNode? node, string path, ulong max, bool present = true)
    {
        if (node is JsonValue v)
        {
            if (v.TryGetValue<ulong>(out var n) && n <= max)
            {
                return n;
            }
            if (v.TryGetValue<string>(out var s) && s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                && ulong.TryParse(s.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out n) && n <= max)
            {
                return n;
            }
        }
        throw new InvalidDataException($"{path} must be a 0x hexadecimal string (or a number) up to 0x{max:x}, not {Shown(node, present)}");
    }

    private static InvalidDataException Missing(JsonObject parent, string name, string? path, string what) =>
        new($"{(path is null ? "" : path + ".")}{name} must be {what}, not {Shown(parent[name], parent.ContainsKey(name))}");

    /// <summary>The longest value a message quotes whole; a page, or the whole apics array, is kilobytes.</summary>
    private const int MaxShown = 40;

    /// <summary>A value as a message quotes it: its JSON, cut short past <see cref="MaxShown"/> characters; null, or missing.</summary>
    private static string Shown(JsonNode? node, bool present)
    {
        if (node is null)
        {
            return present ? "null" : "missing";
        }
        var json = node.ToJsonString();
        return json.Length <= MaxShown ? json : string.Create(CultureInfo.InvariantCulture, $"{json[..MaxShown]}... ({json.Length} characters)");
    }
}
