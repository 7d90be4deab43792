using System.CommandLine;

namespace VApicActors.Host.Cli;

/// <summary>Options that take one of a few words (<c>--mode xapic|x2apic</c>).</summary>
public static class OptionWords
{
    /// <summary>
    /// Accepts only <paramref name="words"/> (as written, case included) and lists them in the help
    /// (<c>--mode &lt;xapic|x2apic&gt;</c>). Any other value is refused in one line that names the option and the words:
    /// "--mode: must be xapic or x2apic, not 'x3apic'".
    /// </summary>
    public static void AcceptOnly(this Option option, params string[] words)
    {
        ArgumentNullException.ThrowIfNull(option);
        ArgumentNullException.ThrowIfNull(words);
        option.CompletionSources.Add(words);
        var allowed = Suggestions.OrList(words);
        option.Validators.Add(r =>
        {
            foreach (var token in r.Tokens)
            {
                if (!words.Contains(token.Value, StringComparer.Ordinal))
                {
                    r.AddError($"{option.Name}: must be {allowed}, not '{token.Value}'");
                    return;
                }
            }
        });
    }
}
