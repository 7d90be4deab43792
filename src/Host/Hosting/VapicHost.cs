using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serilog;
using VApicActors.Actors;
using VApicActors.Host.Configuration;

namespace VApicActors.Host.Hosting;

/// <summary>
/// The generic host behind every command: it owns the configuration, logging and the actor system's
/// lifetime (Akka.Hosting). Ctrl-C or SIGTERM stops the host, which cancels the running command and
/// shuts the actor system down through coordinated shutdown.
/// </summary>
public static class VapicHost
{
    public const string ActorSystemName = "vapic";

    /// <summary>Exit code of a command stopped by Ctrl-C or SIGTERM.</summary>
    public const int ExitInterrupted = 130;

    /// <summary>Builds the host. <see cref="Log.Logger"/> must already be set.</summary>
    public static IHost Build(Config config, VapicSettings settings)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            DisableDefaults = true,
            ApplicationName = "vapic",
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.Services.AddSerilog(Log.Logger, dispose: false);
        builder.Services.AddSingleton(settings);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(15));
        builder.Services.AddAkka(ActorSystemName, (akka, _) =>
        {
            akka.ConfigureVapic(config, settings.AkkaLogLevel);
            if (!settings.VmThreadsOnVcpuExecutor)
            {
                // Sessions and scenarios talk to a VM by request and answer from the thread pool: the VM's actors
                // answer soonest on the same threads (vapic.vm-threads; docs/performance.md).
                akka.AddHocon(VcpuDispatcher.Id + ".executor = default-executor", HoconAddMode.Prepend);
            }
        });
        return builder.Build();
    }

    /// <summary>
    /// Starts the host. An actor system that does not start (a setting Akka refuses that the configuration check could
    /// not see, such as an unknown dispatcher type) is an <see cref="ActorSystemStartException"/> with Akka's message:
    /// the full report Akka.Hosting writes to standard output then is dropped, as the caller reports it in one line.
    /// </summary>
    private static async Task StartAsync(IHost host, CancellationToken cancellationToken)
    {
        // Standard output is the process's: hosts that start at once (tests run several) take turns holding it.
        await StartGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await StartHoldingOutputAsync(host, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            StartGate.Release();
        }
    }

    private static readonly SemaphoreSlim StartGate = new(1, 1);

    private static async Task StartHoldingOutputAsync(IHost host, CancellationToken cancellationToken)
    {
        var output = Console.Out;
        var held = new StringWriter();
        Console.SetOut(held);
        StartupLogHold.Begin();
        try
        {
            await host.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            held = null;
            var cause = await StartupLogHold.DropAsync(TimeSpan.FromMilliseconds(500)).ConfigureAwait(false);
            throw new ActorSystemStartException(StartFailure(e.GetBaseException().Message, cause), e);
        }
        finally
        {
            Console.SetOut(output);
            if (held is not null)
            {
                StartupLogHold.Release();
                await output.WriteAsync(held.ToString()).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// The one line for a start that failed: the exception's message, with the cause Akka logged (the innermost
    /// exception of the logged failure) when the message only points at it.
    /// </summary>
    internal static string StartFailure(string message, string? loggedCause)
    {
        const string Pointer = "See InnerException for details.";
        var trimmed = message.Replace(Pointer, "", StringComparison.Ordinal).TrimEnd();
        if (loggedCause is null || message.Contains(loggedCause, StringComparison.Ordinal))
        {
            return trimmed;
        }
        return trimmed.TrimEnd('.') + ": " + loggedCause;
    }

    /// <summary>
    /// Starts the host, runs <paramref name="work"/> with the actor system, and stops the host however the
    /// work ends. Returns the work's exit code, or <see cref="ExitInterrupted"/> when it was cancelled.
    /// </summary>
    public static async Task<int> RunAsync(
        Config config,
        VapicSettings settings,
        Func<ActorSystem, CancellationToken, Task<int>> work,
        TextWriter error,
        CancellationToken cancellationToken)
    {
        using var host = Build(config, settings);
        await StartAsync(host, cancellationToken).ConfigureAwait(false);
        try
        {
            var system = host.Services.GetRequiredService<ActorSystem>();
            var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.ApplicationStopping);
            try
            {
                return await work(system, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (linked.IsCancellationRequested)
            {
                await error.WriteLineAsync("vapic: interrupted").ConfigureAwait(false);
                return ExitInterrupted;
            }
        }
        finally
        {
            await host.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }
}

/// <summary>The actor system did not start; the message is Akka's.</summary>
public sealed class ActorSystemStartException(string message, Exception inner) : Exception(message, inner);
