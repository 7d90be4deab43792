using Akka.Configuration;
using Akka.Event;
using Akka.Hosting;
using Akka.Logger.Serilog;

namespace VApicActors.Host.Hosting;

/// <summary>Wiring of the actor system on the Akka.Hosting builder.</summary>
public static class AkkaConfiguration
{
    /// <summary>
    /// Loads the merged HOCON (the file beside the binary plus command-line overrides) and sends actor
    /// logs to Serilog at <paramref name="logLevel"/> (DEBUG, INFO, WARNING or ERROR).
    /// </summary>
    public static AkkaConfigurationBuilder ConfigureVapic(this AkkaConfigurationBuilder builder, Config config, string logLevel)
    {
        builder.AddHocon(config, HoconAddMode.Prepend);
        builder.ConfigureLoggers(loggers =>
        {
            loggers.LogLevel = ToLevel(logLevel);
            loggers.ClearLoggers();
            loggers.AddLogger<SerilogLogger>();
        });
        return builder;
    }

    private static LogLevel ToLevel(string level) => level.ToUpperInvariant() switch
    {
        "DEBUG" => LogLevel.DebugLevel,
        "INFO" => LogLevel.InfoLevel,
        "ERROR" => LogLevel.ErrorLevel,
        _ => LogLevel.WarningLevel,
    };
}
