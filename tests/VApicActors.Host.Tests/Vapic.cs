using VApicActors.Host.Cli;

namespace VApicActors.Host.Tests;

/// <summary>The <c>vapic</c> command line as a test runs it: its exit status and what it wrote to its two streams.</summary>
internal static class Vapic
{
    public static async Task<(int Code, string Output, string Error)> InvokeAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await new VapicCommandLine(output, error).InvokeAsync(args);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>As <see cref="InvokeAsync"/>, with <paramref name="input"/> as standard input.</summary>
    public static async Task<(int Code, string Output, string Error)> InvokeWithInputAsync(string input, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await new VapicCommandLine(output, error, () => new StringReader(input)).InvokeAsync(args);
        return (code, output.ToString(), error.ToString());
    }
}
