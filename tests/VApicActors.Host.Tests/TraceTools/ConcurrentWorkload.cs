using Akka.Actor;
using VApicActors.Actors;
using VApicActors.Actors.Protocol;
using VApicActors.Registers;

namespace VApicActors.Host.Tests.TraceTools;

/// <summary>
/// Drives every vCPU of a VM at once through its <see cref="VcpuPort"/>, each driver Telling all its requests
/// without waiting and with no barrier between drivers, while another task steps the clock: fixed,
/// lowest-priority and NMI IPIs to random destinations, acknowledges, EOIs, TPR writes, reads, and a periodic
/// timer per vCPU. Deliveries from many senders interleave at every receiver.
/// </summary>
public static class ConcurrentWorkload
{
    private const ulong Base = 0xFEE0_0000;
    private const uint SvrEnabled = 0x1FF;
    private const uint TimerPeriodic = 1u << 17;
    private const uint Assert = 1u << 14;
    private const uint LowestPriority = 0b001 << 8;
    private const uint Nmi = 0b100 << 8;
    private const uint AllExcludingSelf = 0b11 << 18;
    private const int XApicDestinationShift = 24;

    public static async Task RunAsync(ActorSystem system, VmHandle vm, int operationsPerVcpu, int seed)
    {
        for (var cpu = 0; cpu < vm.VcpuCount; cpu++)
        {
            await vm.WriteMmioAsync(cpu, Base + ApicOffsets.Svr, 4, SvrEnabled);
            await vm.WriteMmioAsync(cpu, Base + ApicOffsets.LvtTimer, 4, TimerPeriodic | (uint)(0xE0 + cpu));
            await vm.WriteMmioAsync(cpu, Base + ApicOffsets.TimerInitialCount, 4, (uint)(500 + 37 * cpu));
        }

        var clock = Task.Run(async () =>
        {
            var random = new Random(seed);
            for (var step = 0; step < operationsPerVcpu / 4; step++)
            {
                await vm.StepClockAsync(random.Next(1, 3_000));
            }
        });
        var drivers = Enumerable.Range(0, vm.VcpuCount)
            .Select(cpu => Task.Run(() => DriveAsync(vm, system, cpu, operationsPerVcpu, new Random(seed * 31 + cpu))))
            .ToArray();
        await Task.WhenAll([.. drivers, clock]);
    }

    /// <summary>
    /// One vCPU's driver: Tells all its requests through the vCPU's port at once, without waiting for answers (they
    /// are handled in order per port), then waits until every one is answered.
    /// </summary>
    private static async Task DriveAsync(VmHandle vm, ActorSystem system, int cpu, int operations, Random random)
    {
        var port = vm.GetPort(cpu);
        var requests = new List<Action<IActorRef, long>>();
        for (var i = 0; i < operations; i++)
        {
            switch (random.Next(10))
            {
                case < 4:
                    var vector = (uint)random.Next(0x30, 0xD0);
                    var kind = random.Next(12) switch
                    {
                        0 => LowestPriority | AllExcludingSelf,
                        1 => AllExcludingSelf,
                        2 => Nmi,
                        _ => 0u,
                    };
                    var destination = (ulong)random.Next(vm.VcpuCount) << XApicDestinationShift;
                    requests.Add((r, id) => port.WriteMmio(Base + ApicOffsets.IcrHigh, 4, destination, id, r));
                    requests.Add((r, id) => port.WriteMmio(Base + ApicOffsets.IcrLow, 4, Assert | kind | vector, id, r));
                    break;
                case < 6:
                    requests.Add((r, id) => port.Acknowledge(id, r));
                    break;
                case < 8:
                    requests.Add((r, id) => port.Eoi(id, r));
                    break;
                case 8:
                    var tpr = (ulong)random.Next(0, 0x60);
                    requests.Add((r, id) => port.WriteMmio(Base + ApicOffsets.Tpr, 4, tpr, id, r));
                    break;
                default:
                    var irr = Base + ApicOffsets.Irr0 + (ulong)random.Next(8) * ApicOffsets.Stride;
                    requests.Add((r, id) => port.ReadMmio(irr, 4, id, r));
                    requests.Add((r, id) => port.ReadMmio(Base + ApicOffsets.TimerCurrentCount, 4, id, r));
                    break;
            }
        }
        var answered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var collector = system.ActorOf(Props.Create(() => new AnswerCounter(requests.Count, answered)));
        for (var i = 0; i < requests.Count; i++)
        {
            requests[i](collector, i + 1);
        }
        await answered.Task.WaitAsync(TimeSpan.FromSeconds(60));
        system.Stop(collector);
    }

    /// <summary>Counts the answers to a driver's requests and completes when all have come.</summary>
    private sealed class AnswerCounter : ReceiveActor
    {
        public AnswerCounter(int expected, TaskCompletionSource answered)
        {
            var count = 0;
            Receive<ApicProtocol.AccessCompleted>(_ =>
            {
                if (++count == expected)
                {
                    answered.TrySetResult();
                }
            });
            Receive<Status.Failure>(f => answered.TrySetException(f.Cause));
        }
    }
}
