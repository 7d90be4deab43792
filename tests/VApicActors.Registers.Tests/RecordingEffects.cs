using VApicActors.Registers;

namespace VApicActors.Registers.Tests;

/// <summary>An effect sink that records every effect the APIC reports, in order.</summary>
internal sealed class RecordingEffects : IApicEffects
{
    public List<InterruptRequest> Sent { get; } = [];
    public List<byte> EoiBroadcasts { get; } = [];
    public List<long> Arms { get; } = [];
    public int Cancels { get; private set; }
    public List<byte> Deliverable { get; } = [];
    public List<ApicRoutingIdentity> RoutingChanges { get; } = [];
    public List<(LvtSource Source, byte Vector, AcceptOutcome Outcome)> Local { get; } = [];

    /// <summary>Every effect as one line, in order, for diagnostics.</summary>
    public List<string> Log { get; } = [];

    public void SendInterrupt(in InterruptRequest request)
    {
        Sent.Add(request);
        Log.Add($"send {request}");
    }

    public void BroadcastEoi(byte vector)
    {
        EoiBroadcasts.Add(vector);
        Log.Add($"eoi-broadcast 0x{vector:X2}");
    }

    public void ArmTimer(long dueNs)
    {
        Arms.Add(dueNs);
        Log.Add($"arm {dueNs}");
    }

    public void CancelTimer()
    {
        Cancels++;
        Log.Add("cancel");
    }

    public void InterruptDeliverable(byte vector)
    {
        Deliverable.Add(vector);
        Log.Add($"deliverable 0x{vector:X2}");
    }

    public void RoutingChanged(in ApicRoutingIdentity identity)
    {
        RoutingChanges.Add(identity);
        Log.Add($"routing {identity}");
    }

    public void LocalInterrupt(LvtSource source, byte vector, AcceptOutcome outcome)
    {
        Local.Add((source, vector, outcome));
        Log.Add($"local {source} 0x{vector:X2} {outcome}");
    }

    public void Clear()
    {
        Sent.Clear();
        EoiBroadcasts.Clear();
        Arms.Clear();
        Cancels = 0;
        Deliverable.Clear();
        RoutingChanges.Clear();
        Local.Clear();
        Log.Clear();
    }
}
