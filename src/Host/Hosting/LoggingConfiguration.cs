using Serilog;
using Serilog.Events;

namespace VApicActors.Host.Hosting;

/// <summary>The process-wide Serilog logger: console (standard error), quiet unless asked.</summary>
public static class LoggingConfiguration
{
    private const string StartFailedAkka = "Unable to start AkkaHostedService - shutting down application";
    private const string StartFailedHost = "Hosting failed to start";
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
            .Enrich.FromLogContext()
            // The host's and Akka.Hosting's reports of a start that failed, with the whole stack: the command reports it
            // itself, in one line (VapicHost.StartAsync).
            .Filter.ByExcluding(e => e.MessageTemplate.Text is StartFailedAkka or StartFailedHost);
        var console = new LoggerConfiguration()
            .MinimumLevel.Verbose()
            .WriteTo.Console(outputTemplate: ConsoleTemplate, standardErrorFromLevel: LogEventLevel.Verbose, formatProvider: System.Globalization.CultureInfo.InvariantCulture)
            .CreateLogger();
        Log.Logger = configuration
            .WriteTo.Sink(StartupLogHold.Over(console))
            .CreateLogger();
    }
}
