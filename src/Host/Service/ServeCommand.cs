using System.CommandLine;
using System.Net.Sockets;
using VApicActors.Host.Configuration;

namespace VApicActors.Host.Service;

/// <summary>
/// <c>vapic serve [--listen HOST:PORT]</c>: runs the simulation service until Ctrl-C or SIGTERM, then shuts
/// it down gracefully. Limits come from <c>vapic.service</c> (<c>hocon/service.hocon</c>). Exit status 0
/// after a clean stop, 2 for a configuration error or an address that cannot be bound.
/// </summary>
public static class ServeCommand
{
    public const int ExitOk = 0;
    public const int ExitUsage = 2;

    /// <param name="configFile">The root command's <c>--config</c> option.</param>
    public static Command Create(Option<string?> configFile, ServiceHostRunner runHost, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(runHost);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);

        var listen = new Option<string?>("--listen")
        {
            Description = "Address and port to listen on (vapic.service.listen, normally 127.0.0.1:7411); port 0 picks a free one. " +
                          "Only an address given here or in the configuration is used: loopback unless asked otherwise",
            HelpName = "HOST:PORT",
        };
        var command = new Command(
            "serve",
            "Run the simulation service: each TCP connection is a session that sends scenario-language lines and gets one answer per line " +
            "(OK, OK VALUE, #GP, ERR REASON); see docs/service.md. Runs until Ctrl-C or SIGTERM.");
        command.Options.Add(listen);
        command.SetAction((parse, ct) => ServeAsync(parse, parse.GetValue(configFile), parse.GetValue(listen), runHost, output, error, ct));
        return command;
    }

    private static async Task<int> ServeAsync(ParseResult parse, string? configPath, string? listen, ServiceHostRunner runHost, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ServiceSettings settings;
        try
        {
            settings = ServiceSettings.Create(HoconSettings.LoadConfig(configPath));
        }
        catch (SettingsException e)
        {
            await error.WriteLineAsync($"vapic: {e.Message}").ConfigureAwait(false);
            return ExitUsage;
        }
        if (listen is not null)
        {
            if (!HostPort.TryParse(listen, out var endpoint, out var problem) || !endpoint!.TryGetListenAddress(out _))
            {
                await error.WriteLineAsync($"vapic: --listen: {(endpoint is null ? problem : $"the host must be an IP address or localhost, got \"{endpoint.Host}\"")}").ConfigureAwait(false);
                return ExitUsage;
            }
            settings = settings with { Listen = endpoint };
        }

        return await runHost(parse, async (system, trace, ct) =>
        {
            VapicService service;
            try
            {
                service = VapicService.Start(system, settings, trace, report: line => output.WriteLine(
                    $"[{DateTime.Now.ToString("HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture)}] {line}"));
            }
            catch (SocketException e)
            {
                await error.WriteLineAsync($"vapic: cannot listen on {settings.Listen}: {e.Message}").ConfigureAwait(false);
                return ExitUsage;
            }

            await using (service.ConfigureAwait(false))
            {
                await output.WriteLineAsync($"vapic: serving on {service.LocalEndpoint}; Ctrl-C stops").ConfigureAwait(false);
                await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                try
                {
                    await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Ctrl-C or SIGTERM: the normal way to stop.
                }
                await service.StopAsync().ConfigureAwait(false);
                var stats = service.Snapshot();
                await output.WriteLineAsync($"vapic: stopped after {stats.Requests} requests in {stats.SessionsTotal} sessions").ConfigureAwait(false);
            }
            return ExitOk;
        }, cancellationToken).ConfigureAwait(false);
    }
}
