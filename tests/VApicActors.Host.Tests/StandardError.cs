namespace VApicActors.Host.Tests;

/// <summary>
/// What a command writes to the process's standard error (stress, bench and scale errors, the console log). The
/// capture is process-wide: only tests of a collection that runs alone (<see cref="SerilogCollection"/>) use it.
/// </summary>
internal static class StandardError
{
    public static async Task<(int Code, string Error)> CaptureAsync(Func<Task<int>> run)
    {
        var saved = Console.Error;
        var error = new StringWriter();
        Console.SetError(error);
        try
        {
            var code = await run();
            return (code, error.ToString());
        }
        finally
        {
            Console.SetError(saved);
        }
    }
}
