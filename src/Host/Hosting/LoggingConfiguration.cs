using Serilog;
using Serilog.Events;

namespace VApicActors.Host.Hosting;

/// <summary>The process-wide Serilog logger: console (standard error), quiet unless asked.</summary>
public static class LoggingConfiguration
{
    private const string ConsoleTemplate = "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj}{NewLine}{Exception}";

    /// <summary>Warnings and up by default; with <paramref name="verbose"/>, debug and up.</summary>
    public static LogEventLevel ConsoleLevel(bool verbose) => verbose ? LogEventLevel.Debug : LogEventLevel.Warning;

    /// <summary>
    /// Sets <see cref="Log.Logger"/>. Call before the actor system starts so that Akka's Serilog logger
    /// picks it up. Logs go to standard error so that standard output holds only results.
    /// </summary>
    public static void Apply(bool verbose)
    {
        var configuration = new LoggerConfiguration()
            .MinimumLevel.Is(ConsoleLevel(verbose))
            .MinimumLevel.Override("Microsoft", verbose ? LogEventLevel.Information : LogEventLevel.Warning)
            .Enrich.FromLogContext();
        Log.Logger = configuration
            .WriteTo.Console(outputTemplate: ConsoleTemplate, standardErrorFromLevel: LogEventLevel.Verbose, formatProvider: System.Globalization.CultureInfo.InvariantCulture)
            .CreateLogger();
    }
}
