using Akka.Actor;
using VApicActors.Registers;

namespace VApicActors.Actors;

/// <summary>
/// The sequential way to drive one VM from outside the actor system (scripts, tests, the service):
/// each call completes with all of its consequences — every IPI it caused sits in its targets' IRRs —
/// before its task completes. vCPUs are named by index (creation order), not APIC ID.
/// </summary>
public sealed class VmHandle : IAsyncDisposable
{
    public static Task<VmHandle> CreateAsync(ActorSystem system, VmSpec spec, ITraceSink? trace = null) => throw new NotImplementedException();
    public VmSpec Spec => throw new NotImplementedException();
    public IActorRef Vm => throw new NotImplementedException();
    public Task<AccessResult> ReadMmioAsync(int vcpu, ulong address, int size) => throw new NotImplementedException();
    public Task<AccessResult> WriteMmioAsync(int vcpu, ulong address, int size, ulong value) => throw new NotImplementedException();
    public Task<AccessResult> ReadMsrAsync(int vcpu, uint msr) => throw new NotImplementedException();
    public Task<AccessResult> WriteMsrAsync(int vcpu, uint msr, ulong value) => throw new NotImplementedException();
    public Task SendMsiAsync(ulong address, uint data) => throw new NotImplementedException();
    public Task SetLintAsync(int vcpu, int pin, bool level) => throw new NotImplementedException();
    public Task<int> PendingAsync(int vcpu) => throw new NotImplementedException();
    public Task<AccessResult> AcknowledgeAsync(int vcpu) => throw new NotImplementedException();
    public Task<AccessResult> EoiAsync(int vcpu) => throw new NotImplementedException();
    public Task<AccessResult> ReadTscAsync(int vcpu) => throw new NotImplementedException();
    public Task<ApicSnapshot> SnapshotAsync(int vcpu) => throw new NotImplementedException();
    public Task<IReadOnlyList<byte>> TakeEoiBroadcastsAsync() => throw new NotImplementedException();
    public Task<long> StepClockAsync(long? nanoseconds) => throw new NotImplementedException();
    public Task<long> SetClockAsync(long nanoseconds) => throw new NotImplementedException();
    public Task<long> ClockAsync() => throw new NotImplementedException();
    public ValueTask DisposeAsync() => throw new NotImplementedException();
}
