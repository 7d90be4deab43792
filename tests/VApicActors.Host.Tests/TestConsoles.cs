using Spectre.Console;

namespace VApicActors.Host.Tests;

/// <summary>Consoles for tests of what the commands print: plain text into a string, not a terminal.</summary>
public static class TestConsoles
{
    /// <summary>
    /// A console without colours or ANSI codes that is not interactive (as output into a file or a pipe), writing into
    /// the returned writer; <paramref name="width"/> sets its width, otherwise the width a console that is not a
    /// terminal has.
    /// </summary>
    public static (IAnsiConsole Console, StringWriter Printed) Plain(int? width = null)
    {
        var printed = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(printed),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        if (width is int columns)
        {
            console.Profile.Width = columns;
        }
        return (console, printed);
    }
}
