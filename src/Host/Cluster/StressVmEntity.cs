using System.Globalization;
using Akka.Actor;
using Akka.Cluster.Sharding;
using VApicActors.Host.Stress;

namespace VApicActors.Host.Cluster;

/// <summary>
/// One VM of a cluster stress run, as a Cluster.Sharding entity (type <c>stress-vm</c>) keyed by a name unique to the
/// run. On <see cref="StressVmRun"/> it runs <see cref="StressEngine"/> for that one VM on this node — the VM's APICs,
/// guest-CPU drivers and clock all here, so its IPIs never cross the network — and answers <see cref="StressVmDone"/>
/// with the report; then it stops. Not persistent: a stress VM that is lost with its node is reported as lost.
/// </summary>
internal sealed class StressVmEntity : ReceiveActor
{
    public const string TypeName = "stress-vm";

    private readonly string _name;
    private readonly List<IActorRef> _waiting = [];
    private StressVmDone? _done;
    private bool _running;

    public StressVmEntity(string name)
    {
        _name = name;
        Receive<StressVmRun>(OnRun);
        Receive<StressVmDone>(OnDone);
    }

    public static Props Props(string name) => Akka.Actor.Props.Create(() => new StressVmEntity(name));

    /// <summary>This node as HOST:PORT.</summary>
    internal static string NodeOf(ActorSystem system)
    {
        var address = Akka.Cluster.Cluster.Get(system).SelfAddress;
        return address.Host + ":" + address.Port?.ToString(CultureInfo.InvariantCulture);
    }

    private void OnRun(StressVmRun run)
    {
        if (_done is not null)
        {
            Sender.Tell(_done);
            return;
        }
        _waiting.Add(Sender);
        if (_running)
        {
            return;
        }
        _running = true;
        var system = Context.System;
        var node = NodeOf(system);
        var name = _name;
        RunAsync(system, node, name, run.Settings).PipeTo(Self);
    }

    private static async Task<StressVmDone> RunAsync(ActorSystem system, string node, string name, string json)
    {
        try
        {
            var settings = StressVmSpec.FromJson(json).ToSettings();
            var engine = new StressEngine(system, settings) { ScopeSystemEvents = true };
            var report = await engine.RunAsync().ConfigureAwait(false);
            var (toAcceptance, toEoi) = engine.Latencies!.Value;
            return new StressVmDone(name, node, new StressVmReport(report, HistogramData.Of(toAcceptance), HistogramData.Of(toEoi)).ToJson(), null);
        }
        catch (Exception e)
        {
            return new StressVmDone(name, node, "", e.GetType().Name + ": " + e.Message);
        }
    }

    private void OnDone(StressVmDone done)
    {
        _done = done;
        foreach (var w in _waiting)
        {
            w.Tell(done);
        }
        _waiting.Clear();
        Context.Parent.Tell(new Passivate(PoisonPill.Instance));
    }
}
