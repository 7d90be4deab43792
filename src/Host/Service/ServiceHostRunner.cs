using System.CommandLine;
using Akka.Actor;
using VApicActors.Actors;

namespace VApicActors.Host.Service;

/// <summary>
/// Runs <paramref name="work"/> inside the <c>vapic</c> host (configuration, logging, actor system, trace sink
/// when one is configured) and returns its exit code; the token is cancelled by Ctrl-C or SIGTERM.
/// </summary>
/// <param name="front">Settings put in front of the loaded configuration (cluster mode's Akka settings), or null.</param>
public delegate Task<int> ServiceHostRunner(
    ParseResult parse,
    Akka.Configuration.Config? front,
    Func<ActorSystem, ITraceSink?, CancellationToken, Task<int>> work,
    CancellationToken cancellationToken);
