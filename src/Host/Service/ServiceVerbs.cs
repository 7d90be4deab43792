using Akka.Actor;
using VApicActors.Actors;
using VApicActors.Host.Scenarios;

namespace VApicActors.Host.Service;

/// <summary>How a session watches interrupts: not at all, the vCPUs it selects, or every vCPU.</summary>
internal enum WatchMode
{
    Off,
    Driven,
    All,
}

/// <summary>The argument rules of the service's own verbs, shared by single-machine and cluster sessions.</summary>
internal static class ServiceVerbs
{
    public const int MaxNameLength = 64;

    /// <summary>The service's own commands, beside the scenario language's.</summary>
    private static readonly string[] Own = ["vm", "attach", "watch", "stats", "quit", "cluster"];

    /// <summary>The commands a request may start with, for the hint after an unknown one.</summary>
    private static readonly string[] Commands = [.. Own, .. ScenarioSession.Verbs.Where(v => v is not "save" and not "restore").Except(Own)];

    /// <summary>
    /// Parses a request line. Returns the answer when there is nothing to run (<c>OK</c> for a blank or comment-only
    /// line, <c>ERR</c> for a malformed one or an unknown command), else null with the line in <paramref name="parsed"/>.
    /// </summary>
    public static string? Parse(string line, out ScenarioLine parsed)
    {
        try
        {
            parsed = ScenarioLine.Parse(line);
        }
        catch (ScenarioException e)
        {
            parsed = null!;
            return ServiceResponse.Error(e.Message);
        }
        if (parsed.IsEmpty)
        {
            return ServiceResponse.Ok;
        }
        var verb = parsed.Command[0].ToLowerInvariant();
        if (!Own.Contains(verb) && !ScenarioSession.Verbs.Contains(verb))
        {
            // Answered here, before a VM is made for it, with the service's commands among the ones it may have meant.
            return ServiceResponse.Error($"unknown command '{ScenarioException.Quote(parsed.Command[0])}'{Cli.Suggestions.Hint(verb, Commands)}");
        }
        return null;
    }

    /// <summary>The answer line of a service verb's result, checked against its <c>-&gt; EXPECTED</c> when it has one.</summary>
    public static string Answer(ScenarioResult result, Expectation? expected)
    {
        if (expected is null)
        {
            return ServiceResponse.Format(result);
        }
        var kind = expected.Matches(result) ? LineOutcomeKind.Passed : LineOutcomeKind.Failed;
        return ServiceResponse.Format(new LineOutcome(kind, result, expected));
    }

    /// <summary>Splits <c>vm</c>'s arguments into <c>name=</c>, <c>keep=</c> and the language's own options.</summary>
    public static (string? Name, bool? Keep, List<string> Options) SplitVmArgs(string[] args)
    {
        string? name = null;
        bool? keep = null;
        var options = new List<string>(args.Length);
        foreach (var arg in args)
        {
            var eq = arg.IndexOf('=');
            var key = eq > 0 ? arg[..eq].ToLowerInvariant() : string.Empty;
            var value = eq > 0 ? arg[(eq + 1)..] : string.Empty;
            switch (key)
            {
                case "name":
                    if (name is not null)
                    {
                        throw new ScenarioException("vm: 'name' given twice");
                    }
                    name = CheckName(value);
                    break;
                case "keep":
                    if (keep is not null)
                    {
                        throw new ScenarioException("vm: 'keep' given twice");
                    }
                    keep = value.ToLowerInvariant() switch
                    {
                        "yes" or "on" or "true" => true,
                        "no" or "off" or "false" => false,
                        _ => throw new ScenarioException($"vm: keep must be yes or no, got '{ScenarioException.Quote(value)}'"),
                    };
                    break;
                default:
                    options.Add(arg);
                    break;
            }
        }
        if (keep == true && name is null)
        {
            throw new ScenarioException("vm: keep=yes needs name=NAME (a session's own VM ends with it)");
        }
        return (name, keep, options);
    }

    /// <summary>The VM the language's <c>vm</c> options describe, within the service's per-VM limit.</summary>
    public static async Task<VmSpec> CheckVmOptionsAsync(ActorSystem system, IReadOnlyList<string> options, ServiceSettings settings)
    {
        // The language's own rules for the options: a throw-away session checks them and builds the spec.
        await using var check = new ScenarioSession(system, "check");
        var checkedLine = await check.ExecuteAsync("vm " + string.Join(' ', options)).ConfigureAwait(false);
        if (checkedLine.Kind == LineOutcomeKind.Error)
        {
            throw new ScenarioException(checkedLine.Error ?? "vm: invalid options");
        }
        var spec = check.Spec;
        if (spec.VcpuCount > settings.MaxVcpusPerVm)
        {
            throw new ScenarioException($"vm: the service allows at most {settings.MaxVcpusPerVm} vCPUs per VM, got {spec.VcpuCount}");
        }
        return spec;
    }

    /// <summary><c>watch</c>, <c>watch all</c>, <c>watch off</c>.</summary>
    public static WatchMode ParseWatchMode(string[] args) => args.Length switch
    {
        0 => WatchMode.Driven,
        1 => args[0].ToLowerInvariant() switch
        {
            "all" => WatchMode.All,
            "off" => WatchMode.Off,
            _ => throw new ScenarioException($"watch: expected nothing, 'all' or 'off', got '{ScenarioException.Quote(args[0])}'"),
        },
        _ => throw new ScenarioException("watch: too many arguments (usage: watch [all|off])"),
    };

    public static void NoArguments(string verb, string[] args)
    {
        if (args.Length != 0)
        {
            throw new ScenarioException($"{verb} takes no arguments, got '{ScenarioException.Quote(args[0])}'");
        }
    }

    public static string CheckName(string name)
    {
        if (name.Length == 0 || name.Length > MaxNameLength || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            throw new ScenarioException($"bad VM name '{ScenarioException.Quote(name)}': 1 to {MaxNameLength} letters, digits, '-' or '_'");
        }
        return name;
    }
}
