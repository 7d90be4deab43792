using System.Runtime.Serialization;
using System.Text;
using Akka.Actor;
using Akka.Serialization;
using VApicActors.Actors;

namespace VApicActors.Host.Cluster;

/// <summary>
/// Writes the cluster's messages and snapshots in a small binary form of their own (length-prefixed UTF-8 strings,
/// little-endian numbers, actor references as their full paths), so that nothing crossing the network or stored
/// in the snapshot store depends on a general-purpose serializer's view of the types. The manifest names the type.
/// </summary>
public sealed class ClusterMessageSerializer : SerializerWithStringManifest
{
    public const int Id = 474_101;

    private static readonly UTF8Encoding Utf8 = new(false, true);

    public ClusterMessageSerializer(ExtendedActorSystem system)
        : base(system)
    {
    }

    public override int Identifier => Id;

    public override string Manifest(object o) => o switch
    {
        CreateVm => "C",
        AttachVm => "A",
        DetachVm => "D",
        RunLine => "L",
        WatchVm => "W",
        SnapshotVm => "N",
        VmReady => "R",
        VmRefused => "F",
        LineDone => "O",
        SnapshotSaved => "S",
        SessionLine => "I",
        HandOffVm => "H",
        VmSnapshot => "P",
        VmCheckpoint => "K",
        VmSessionChanged => "J",
        GetVmState => "G",
        VmStateTaken => "V",
        StressVmRun => "TR",
        StressVmDone => "TD",
        _ => throw new ArgumentException("not a cluster message: " + o.GetType(), nameof(o)),
    };

    public override byte[] ToBinary(object obj)
    {
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream, Utf8, leaveOpen: true))
        {
            switch (obj)
            {
                case CreateVm m:
                    w.Write(m.Vm);
                    WriteSpec(w, m.Spec);
                    w.Write(m.Keep);
                    WriteRef(w, m.Session);
                    break;
                case AttachVm m:
                    w.Write(m.Vm);
                    WriteRef(w, m.Session);
                    break;
                case DetachVm m:
                    w.Write(m.Vm);
                    WriteRef(w, m.Session);
                    break;
                case RunLine m:
                    w.Write(m.Vm);
                    WriteRef(w, m.Session);
                    w.Write(m.Cpu);
                    w.Write(m.Line);
                    break;
                case WatchVm m:
                    w.Write(m.Vm);
                    WriteRef(w, m.Session);
                    w.Write(m.All);
                    WriteInts(w, m.Vcpus);
                    break;
                case SnapshotVm m:
                    w.Write(m.Vm);
                    break;
                case VmReady m:
                    w.Write(m.Vm);
                    w.Write(m.Vcpus);
                    w.Write(m.Node);
                    w.Write(m.FirstApicId);
                    break;
                case VmRefused m:
                    w.Write(m.Vm);
                    w.Write(m.Reason);
                    break;
                case LineDone m:
                    w.Write(m.Answer);
                    w.Write(m.Cpu);
                    w.Write(m.ApicId);
                    break;
                case SnapshotSaved m:
                    w.Write(m.Vm);
                    w.Write(m.VirtualTimeNs);
                    w.Write(m.Bytes);
                    break;
                case SessionLine m:
                    w.Write(m.Line);
                    break;
                case HandOffVm:
                    break;
                case VmSnapshot m:
                    w.Write(m.Keep);
                    w.Write(m.Handoff);
                    w.Write(m.Sessions.Length);
                    foreach (var s in m.Sessions)
                    {
                        w.Write(s);
                    }
                    w.Write(m.TakenAtUnixMs);
                    WriteBytes(w, m.State);
                    break;
                case VmCheckpoint m:
                    w.Write(m.VirtualTimeNs);
                    break;
                case VmSessionChanged m:
                    w.Write(m.Session);
                    w.Write(m.Joined);
                    break;
                case GetVmState m:
                    w.Write(m.Vm);
                    break;
                case VmStateTaken m:
                    w.Write(m.Vm);
                    w.Write(m.Node);
                    WriteBytes(w, m.State);
                    break;
                case StressVmRun m:
                    w.Write(m.Vm);
                    w.Write(m.Index);
                    w.Write(m.Settings);
                    break;
                case StressVmDone m:
                    w.Write(m.Vm);
                    w.Write(m.Node);
                    w.Write(m.ReportJson);
                    w.Write(m.Error ?? string.Empty);
                    break;
                default:
                    throw new ArgumentException("not a cluster message: " + obj.GetType(), nameof(obj));
            }
        }
        return stream.ToArray();
    }

    public override object FromBinary(byte[] bytes, string manifest)
    {
        using var r = new BinaryReader(new MemoryStream(bytes), Utf8);
        return manifest switch
        {
            "C" => new CreateVm(r.ReadString(), ReadSpec(r), r.ReadBoolean(), ReadRef(r)),
            "A" => new AttachVm(r.ReadString(), ReadRef(r)),
            "D" => new DetachVm(r.ReadString(), ReadRef(r)),
            "L" => new RunLine(r.ReadString(), ReadRef(r), r.ReadInt32(), r.ReadString()),
            "W" => new WatchVm(r.ReadString(), ReadRef(r), r.ReadBoolean(), ReadInts(r)),
            "N" => new SnapshotVm(r.ReadString()),
            "R" => new VmReady(r.ReadString(), r.ReadInt32(), r.ReadString(), r.ReadUInt32()),
            "F" => new VmRefused(r.ReadString(), r.ReadString()),
            "O" => new LineDone(r.ReadString(), r.ReadInt32(), r.ReadUInt32()),
            "S" => new SnapshotSaved(r.ReadString(), r.ReadInt64(), r.ReadInt32()),
            "I" => new SessionLine(r.ReadString()),
            "H" => HandOffVm.Instance,
            "P" => ReadSnapshot(r),
            "K" => new VmCheckpoint(r.ReadInt64()),
            "J" => new VmSessionChanged(r.ReadString(), r.ReadBoolean()),
            "G" => new GetVmState(r.ReadString()),
            "V" => new VmStateTaken(r.ReadString(), r.ReadString(), ReadBytes(r)),
            "TR" => new StressVmRun(r.ReadString(), r.ReadInt32(), r.ReadString()),
            "TD" => ReadStressDone(r),
            _ => throw new SerializationException("unknown cluster message manifest '" + manifest + "'"),
        };
    }

    private static StressVmDone ReadStressDone(BinaryReader r)
    {
        var vm = r.ReadString();
        var node = r.ReadString();
        var json = r.ReadString();
        var error = r.ReadString();
        return new StressVmDone(vm, node, json, error.Length == 0 ? null : error);
    }

    private static VmSnapshot ReadSnapshot(BinaryReader r)
    {
        var keep = r.ReadBoolean();
        var handoff = r.ReadBoolean();
        var sessions = new string[CheckCount(r.ReadInt32())];
        for (var i = 0; i < sessions.Length; i++)
        {
            sessions[i] = r.ReadString();
        }
        return new VmSnapshot(keep, handoff, sessions, r.ReadInt64(), ReadBytes(r));
    }

    private static void WriteSpec(BinaryWriter w, VmSpec spec)
    {
        w.Write(spec.Name);
        w.Write(spec.VcpuCount);
        w.Write(spec.X2Apic);
        w.Write(spec.BootAll);
        w.Write(spec.TimerHz);
        w.Write(spec.TscHz);
        if (spec.ApicIds is null)
        {
            w.Write(-1);
            return;
        }
        w.Write(spec.ApicIds.Count);
        foreach (var id in spec.ApicIds)
        {
            w.Write(id);
        }
    }

    private static VmSpec ReadSpec(BinaryReader r)
    {
        var name = r.ReadString();
        var vcpus = r.ReadInt32();
        var x2Apic = r.ReadBoolean();
        var bootAll = r.ReadBoolean();
        var timerHz = r.ReadInt64();
        var tscHz = r.ReadInt64();
        var count = r.ReadInt32();
        uint[]? ids = null;
        if (count >= 0)
        {
            ids = new uint[CheckCount(count)];
            for (var i = 0; i < ids.Length; i++)
            {
                ids[i] = r.ReadUInt32();
            }
        }
        return new VmSpec(name, vcpus, x2Apic, ids, bootAll, timerHz, tscHz);
    }

    private static void WriteInts(BinaryWriter w, int[] values)
    {
        w.Write(values.Length);
        foreach (var v in values)
        {
            w.Write(v);
        }
    }

    private static int[] ReadInts(BinaryReader r)
    {
        var values = new int[CheckCount(r.ReadInt32())];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = r.ReadInt32();
        }
        return values;
    }

    private static void WriteBytes(BinaryWriter w, byte[] bytes)
    {
        w.Write(bytes.Length);
        w.Write(bytes);
    }

    private static byte[] ReadBytes(BinaryReader r)
    {
        var length = r.ReadInt32();
        if (length < 0)
        {
            throw new SerializationException("negative byte count " + length);
        }
        var bytes = r.ReadBytes(length);
        if (bytes.Length != length)
        {
            throw new SerializationException("truncated: " + bytes.Length + " of " + length + " bytes");
        }
        return bytes;
    }

    private static int CheckCount(int count) =>
        count is >= 0 and <= 1 << 24 ? count : throw new SerializationException("implausible element count " + count);

    private void WriteRef(BinaryWriter w, IActorRef actor) => w.Write(Akka.Serialization.Serialization.SerializedActorPath(actor));

    private IActorRef ReadRef(BinaryReader r) => system.Provider.ResolveActorRef(r.ReadString());
}
