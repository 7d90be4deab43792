namespace VApicActors.Host.Scenarios;

/// <summary>A line that cannot be run: unknown verb, bad number, missing or extra argument, and so on.</summary>
public sealed class ScenarioException(string message) : Exception(message)
{
    /// <summary>The longest word of the line a message quotes whole.</summary>
    public const int MaxQuoted = 64;

    /// <summary>
    /// A word of the line as a message quotes it: whole up to <see cref="MaxQuoted"/> characters, else its start and its
    /// length, so that a line of megabytes still gives an error of one readable line.
    /// </summary>
    public static string Quote(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        if (word.Length <= MaxQuoted)
        {
            return word;
        }
        var cut = char.IsHighSurrogate(word[MaxQuoted - 1]) ? MaxQuoted - 1 : MaxQuoted;
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{word[..cut]}... ({word.Length} characters)");
    }
}
