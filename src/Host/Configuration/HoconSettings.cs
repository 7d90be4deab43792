using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace VApicActors.Host.Configuration;

/// <summary>
/// Loads the HOCON defaults from beside the binary (and a <c>--config</c> file over them), lays command-line
/// overrides over that and validates the result into <see cref="VapicSettings"/>.
/// </summary>
public static partial class HoconSettings
{
    public const string FileName = "vapic.hocon";

    /// <summary>The defaults file: <c>hocon/vapic.hocon</c> next to the binary, wherever the current directory is.</summary>
    public static string DefaultPath => Path.Combine(AppContext.BaseDirectory, "hocon", FileName);

    /// <summary>The merged configuration (overrides first, then the file) and the settings read from it.</summary>
    /// <param name="warnings">Where to warn about keys of the file that no command reads (see <see cref="LoadConfig"/>).</param>
    public static (Config Config, VapicSettings Settings) Load(IReadOnlyList<SettingOverride>? overrides = null, string? path = null, TextWriter? warnings = null) =>
        Apply(LoadConfig(path, warnings), overrides ?? []);

    /// <summary>
    /// The configuration every command reads: the defaults beside the binary (<c>hocon/vapic.hocon</c>, then the
    /// other <c>hocon/*.hocon</c> files in name order: <c>service.hocon</c>, <c>stress.hocon</c>), with the file
    /// given by <c>--config</c>, if any, laid over them, so that file needs only the keys it changes.
    /// </summary>
    /// <param name="warnings">
    /// Where to write a warning for each key under <c>vapic.</c> in that file that the defaults do not have (a typo such
    /// as <c>vapic.simulation.vcpu</c>), which nothing reads; null for none.
    /// </param>
    public static Config LoadConfig(string? path = null, TextWriter? warnings = null)
    {
        var defaults = Parse(DefaultPath);
        var directory = Path.GetDirectoryName(DefaultPath)!;
        foreach (var file in Directory.GetFiles(directory, "*.hocon").Order(StringComparer.Ordinal))
        {
            if (!string.Equals(Path.GetFileName(file), FileName, StringComparison.Ordinal))
            {
                defaults = defaults.WithFallback(Parse(file));
            }
        }
        if (path is null)
        {
            return defaults;
        }
        var given = Parse(path);
        if (ReplacedSection(given, defaults) is { } replaced)
        {
            throw new SettingsException(path, $"{replaced.Key} is a section of keys ({replaced.Key} {{ {replaced.FirstKey} = ... }}), not {replaced.Given}");
        }
        if (warnings is not null)
        {
            foreach (var (key, meant) in UnknownKeys(given, defaults))
            {
                var hint = meant is null ? "" : $"; did you mean {meant}?";
                warnings.WriteLine($"vapic: warning: unknown setting {key} in {path} (ignored{hint})");
            }
        }
        return given.WithFallback(defaults);
    }

    /// <summary>
    /// The keys under <c>vapic.</c> in <paramref name="file"/> that <paramref name="defaults"/> does not have, in file
    /// order, down to the last part (<c>vapic.simulaton.vcpus</c>), each with the known key it was probably meant to be
    /// (<c>vapic.simulation.vcpus</c>) or null. Keys outside <c>vapic</c> (<c>akka.*</c>) are not looked at, except in
    /// <c>vapic-vcpu-dispatcher</c>, whose keys are the ones of Akka's dispatchers and <c>vcpu-executor</c>'s own.
    /// </summary>
    public static IReadOnlyList<(string Key, string? Meant)> UnknownKeys(Config file, Config defaults)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(defaults);
        var unknown = new List<(string, string?)>();
        Check("vapic", defaults.HasPath("vapic") ? defaults.GetValue("vapic") : null);
        if (defaults.HasPath(VApicActors.Actors.VcpuDispatcher.Id))
        {
            // A dispatcher section may hold any key Akka's dispatchers read, with its own executor's beside them.
            var akkaDispatcher = ConfigurationFactory.Default().GetConfig("akka.actor.default-dispatcher");
            Check(VApicActors.Actors.VcpuDispatcher.Id, defaults.GetConfig(VApicActors.Actors.VcpuDispatcher.Id).WithFallback(akkaDispatcher).Root);
        }
        return unknown;

        void Check(string root, HoconValue? known)
        {
            if (known is not null && file.HasPath(root) && file.GetValue(root) is { } value && value.IsObject())
            {
                Collect(value, root, known, root, known);
            }
        }

        // meant: the known key the path so far was probably meant to be (itself while every part is known); null once a
        // part is like no known one.
        void Collect(HoconValue value, string path, HoconValue? known, string? meant, HoconValue? meantKnown)
        {
            if (known is null)
            {
                if (value.IsObject())
                {
                    foreach (var (name, child) in value.GetObject().Items)
                    {
                        var (next, nextKnown) = Nearest(name, meant, meantKnown);
                        Collect(child, path + "." + name, null, next, nextKnown);
                    }
                }
                else
                {
                    unknown.Add((path, meant is not null && meantKnown is not null && !meantKnown.IsObject() ? meant : null));
                }
                return;
            }
            if (!value.IsObject() || !known.IsObject())
            {
                return; // a key the defaults have; a value of the wrong kind is the settings' to refuse
            }
            var knownItems = known.GetObject().Items;
            foreach (var (name, child) in value.GetObject().Items)
            {
                var knownChild = knownItems.GetValueOrDefault(name);
                var (next, nextKnown) = knownChild is null ? Nearest(name, path, known) : (path + "." + name, knownChild);
                Collect(child, path + "." + name, knownChild, next, nextKnown);
            }
        }

        static (string?, HoconValue?) Nearest(string name, string? meant, HoconValue? meantKnown)
        {
            if (meant is null || meantKnown is null || !meantKnown.IsObject())
            {
                return (null, null);
            }
            var items = meantKnown.GetObject().Items;
            if (items.TryGetValue(name, out var same))
            {
                return (meant + "." + name, same); // under a mistyped section, a key the meant one has
            }
            return Cli.Suggestions.Nearest(name, items.Keys) is [var only] ? (meant + "." + only, items[only]) : (null, null);
        }
    }

    /// <summary>
    /// The first key under <c>vapic.</c> that <paramref name="defaults"/> make a section of keys and <paramref name="file"/>
    /// gives a single value or a list instead (<c>vapic.trace = off</c>), with the first key of the section and what the
    /// file gives; or null. The file's value replaces the whole section, so every key of it would be reported missing,
    /// none of which the file names.
    /// </summary>
    private static (string Key, string FirstKey, string Given)? ReplacedSection(Config file, Config defaults)
    {
        if (!file.HasPath("vapic") || !defaults.HasPath("vapic"))
        {
            return null;
        }
        return Walk(file.GetValue("vapic"), defaults.GetValue("vapic"), "vapic");

        static (string, string, string)? Walk(HoconValue value, HoconValue known, string path)
        {
            if (!known.IsObject())
            {
                return null; // a single value or a list: the settings say what it takes
            }
            var knownItems = known.GetObject().Items;
            if (!value.IsObject())
            {
                return (path, knownItems.Keys.First(), HoconShapes.ShapeOf(value) ?? $"the single value \"{value.GetString()}\"");
            }
            foreach (var (name, child) in value.GetObject().Items)
            {
                if (knownItems.GetValueOrDefault(name) is { } knownChild && Walk(child, knownChild, path + "." + name) is { } found)
                {
                    return found;
                }
            }
            return null;
        }
    }

    private static Config Parse(string path)
    {
        if (Directory.Exists(path))
        {
            throw new SettingsException(path, "is a folder, not a configuration file");
        }
        if (!File.Exists(path))
        {
            throw new SettingsException(path, "the configuration file does not exist");
        }
        return new Config(ParseRoot(path, []));
    }

    /// <summary>
    /// Parses one file, its <c>include "FILE"</c>s (relative to its own folder) read the same way. Akka's parser takes an
    /// unclosed brace or string without a word, so <see cref="HoconSyntax"/> checks those first.
    /// </summary>
    private static HoconRoot ParseRoot(string path, HashSet<string> including)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SettingsException(path, $"cannot be read: {e.Message}", e);
        }
        if (HoconSyntax.Check(text) is { } problem)
        {
            throw new SettingsException(path, $"not valid HOCON: {problem}");
        }

        var full = Path.GetFullPath(path);
        including.Add(full);
        try
        {
            var root = Parser.Parse(text, name => ParseInclude(path, name, including));
            if (SubstitutionLoop(root) is { } loop)
            {
                throw new SettingsException(path, $"not valid HOCON: the substitution ${{{loop}}} comes back to itself, so its value has no end");
            }
            if (Unwalkable(root.Value, "", []) is { } unwalkable)
            {
                throw new SettingsException(path, "not valid HOCON: " + unwalkable);
            }
            return root;
        }
        catch (SettingsException)
        {
            throw;
        }
        catch (Exception e)
        {
            throw new SettingsException(path, $"not valid HOCON: {OneLine(e.Message, text)}", e);
        }
        finally
        {
            including.Remove(full);
        }
    }

    /// <summary>
    /// The parser's message in one line: its first, with "at position N" (a character offset) as a line and column. The
    /// lines after it repeat the offending line, which may be of any length, with a caret under the position.
    /// </summary>
    private static string OneLine(string message, string text)
    {
        var first = message.Split('\n')[0].TrimEnd().TrimEnd(':');
        return PositionInMessage().Replace(first, m =>
        {
            if (!int.TryParse(m.Groups[1].ValueSpan, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var position)
                || position > text.Length)
            {
                return m.Value;
            }
            var line = text.AsSpan(0, position).Count('\n') + 1;
            var column = position - (text.LastIndexOf('\n', Math.Max(position - 1, 0)) + 1) + 1;
            return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"on line {line}, column {column}");
        });
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"at position (\d+)")]
    private static partial System.Text.RegularExpressions.Regex PositionInMessage();

    /// <summary>
    /// The path of a substitution whose value is, through substitutions, itself (<c>a = ${a}</c>; <c>a = ${b}</c> with
    /// <c>b = ${a}</c>), or null. Akka's parser keeps such a value, and reading it calls itself until the stack is gone.
    /// </summary>
    private static string? SubstitutionLoop(HoconRoot root)
    {
        // Depth-first over the values a value's substitutions stand for: a value met again while still open is a loop.
        var open = new HashSet<HoconValue>(ReferenceEqualityComparer.Instance);
        var done = new HashSet<HoconValue>(ReferenceEqualityComparer.Instance);
        foreach (var start in root.Substitutions)
        {
            if (start.ResolvedValue is not { } first || done.Contains(first))
            {
                continue;
            }
            var stack = new Stack<(HoconValue Value, IEnumerator<HoconSubstitution> Next)>();
            open.Add(first);
            stack.Push((first, first.Values.OfType<HoconSubstitution>().GetEnumerator()));
            while (stack.Count > 0)
            {
                var (value, next) = stack.Peek();
                if (!next.MoveNext())
                {
                    stack.Pop();
                    open.Remove(value);
                    done.Add(value);
                    continue;
                }
                if (next.Current.ResolvedValue is not { } target || done.Contains(target))
                {
                    continue;
                }
                if (!open.Add(target))
                {
                    return next.Current.Path;
                }
                stack.Push((target, target.Values.OfType<HoconSubstitution>().GetEnumerator()));
            }
        }
        return null;
    }

    /// <summary>
    /// Why the parsed configuration cannot be walked to its end, or null when it can: a key whose value contains itself
    /// (Akka's parser makes an optional substitution that finds nothing, <c>${?NAME}</c>, the whole configuration), or
    /// a value nested deeper than <see cref="HoconSyntax.MaxDepth"/> (dotted keys nest without braces), or a word alone on its
    /// line, which has no value. Everything that
    /// reads the configuration afterwards may then walk it.
    /// </summary>
    private static string? Unwalkable(HoconValue value, string path, List<HoconObject> ancestors)
    {
        if (ancestors.Count > HoconSyntax.MaxDepth)
        {
            return $"{path} is nested more than {HoconSyntax.MaxDepth} deep: values are not read that deep";
        }
        if (value.IsObject())
        {
            var o = value.GetObject();
            if (ancestors.Exists(a => ReferenceEquals(a, o)))
            {
                return $"the value of {path} contains itself, as an optional substitution such as ${{?NAME}} that finds nothing does here: give {path} a value, or leave it out";
            }
            ancestors.Add(o);
            foreach (var (name, child) in o.Items)
            {
                if (name.IndexOfAny(['\n', '\r']) >= 0)
                {
                    var words = name.Split(['\n', '\r'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    return $"{(path.Length == 0 ? "" : path + ": ")}\"{words.FirstOrDefault()}\" has no value " +
                        $"(a word alone on its line runs into the key of the next line, \"{string.Join(' ', words.Skip(1))}\")";
                }
                if (child.Values.Count == 0)
                {
                    // Akka's parser takes a word followed by nothing (the end of its object or of the file) as a key
                    // with no value at all, which reads as an empty list or is silently ignored.
                    return $"{(path.Length == 0 ? "" : path + ": ")}\"{name}\" has no value (a word alone on its line, with nothing after it)";
                }
                if (Unwalkable(child, path.Length == 0 ? name : path + "." + name, ancestors) is { } problem)
                {
                    return problem;
                }
            }
            ancestors.RemoveAt(ancestors.Count - 1);
        }
        else if (value.IsArray())
        {
            var items = value.GetArray();
            ancestors.Add(new HoconObject()); // a level of its own, which no value can be
            for (var i = 0; i < items.Count; i++)
            {
                if (Unwalkable(items[i], path + "[" + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + "]", ancestors) is { } problem)
                {
                    return problem;
                }
            }
            ancestors.RemoveAt(ancestors.Count - 1);
        }
        return null;
    }

    private static HoconRoot ParseInclude(string path, string name, HashSet<string> including)
    {
        var included = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, name);
        if (Directory.Exists(included))
        {
            throw new SettingsException(path, $"the included file \"{name}\" is a folder, not a file ({included})");
        }
        if (!File.Exists(included))
        {
            throw new SettingsException(path, $"the included file \"{name}\" does not exist ({included})");
        }
        if (including.Contains(Path.GetFullPath(included)))
        {
            throw new SettingsException(path, $"the included file \"{name}\" includes itself");
        }
        return ParseRoot(included, including);
    }

    /// <summary>Lays overrides over a parsed configuration and validates it.</summary>
    public static (Config Config, VapicSettings Settings) Apply(Config config, IReadOnlyList<SettingOverride> overrides)
    {
        foreach (var o in overrides)
        {
            Config layer;
            try
            {
                layer = ConfigurationFactory.ParseString($"{o.Key} = {o.HoconValue}");
            }
            catch (Exception e)
            {
                throw new SettingsException(o.Key, $"the value given by {o.Option} is not valid: {e.Message}", e);
            }
            config = layer.WithFallback(config);
        }

        try
        {
            return (config, VapicSettings.Create(config));
        }
        catch (SettingsException e)
        {
            var origin = overrides.LastOrDefault(o => o.Key == e.Key);
            if (origin is null)
            {
                throw;
            }
            throw new SettingsException(e.Key, $"{e.Problem} (set by {origin.Option})", e);
        }
    }
}
