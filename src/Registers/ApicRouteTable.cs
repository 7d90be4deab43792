namespace VApicActors.Registers;

/// <summary>
/// An immutable map from destinations to APICs (the role of KVM's <c>kvm_apic_map</c>): a physical-ID
/// index and an x2APIC-cluster index for the common cases, and a full scan through
/// <see cref="DestinationMatcher"/> for the rest. Rebuild it with <see cref="With"/> when an APIC
/// reports a new identity.
/// </summary>
public sealed class ApicRouteTable
{
    private readonly ApicRoutingIdentity[] _entries;
    private readonly Dictionary<uint, int> _byPhysicalId;
    private readonly bool _physicalIdsUnique;
    private readonly Dictionary<uint, int[]>? _x2ApicClusters;

    public ApicRouteTable(IReadOnlyList<ApicRoutingIdentity> entries)
    {
        _entries = new ApicRoutingIdentity[entries.Count];
        _byPhysicalId = new Dictionary<uint, int>(entries.Count);
        _physicalIdsUnique = true;
        var allX2Apic = entries.Count > 0;
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            if (entry.Index != i)
            {
                throw new ArgumentException($"entry {i} has index {entry.Index}", nameof(entries));
            }
            _entries[i] = entry;
            if (!_byPhysicalId.TryAdd(entry.ApicId, i))
            {
                _physicalIdsUnique = false;
            }
            allX2Apic &= entry.Mode == ApicMode.X2Apic;
        }
        // The cluster index holds one APIC per (cluster, member) slot, so it needs distinct IDs.
        if (allX2Apic && _physicalIdsUnique)
        {
            _x2ApicClusters = new Dictionary<uint, int[]>();
            foreach (var entry in _entries)
            {
                var cluster = entry.Ldr >> 16;
                if (!_x2ApicClusters.TryGetValue(cluster, out var members))
                {
                    members = new int[16];
                    Array.Fill(members, -1);
                    _x2ApicClusters[cluster] = members;
                }
                members[entry.ApicId & 0xF] = entry.Index;
            }
        }
    }

    public int Count => _entries.Length;

    public ApicRoutingIdentity this[int index] => _entries[index];

    /// <summary>The vCPU index of an APIC ID, or -1.</summary>
    public int IndexOf(uint apicId) => _byPhysicalId.TryGetValue(apicId, out var index) ? index : -1;

    /// <summary>A table with one APIC's identity replaced.</summary>
    public ApicRouteTable With(in ApicRoutingIdentity identity)
    {
        var copy = (ApicRoutingIdentity[])_entries.Clone();
        copy[identity.Index] = identity;
        return new ApicRouteTable(copy);
    }

    /// <summary>
    /// Adds to <paramref name="destinations"/> the index of every APIC <paramref name="request"/> addresses,
    /// in index order. <paramref name="sourceIndex"/> is the sender (-1 for a device).
    /// </summary>
    public void Resolve(in InterruptRequest request, int sourceIndex, List<int> destinations)
    {
        if (request.Shorthand == DestinationShorthand.Self)
        {
            if (sourceIndex >= 0 && sourceIndex < _entries.Length) destinations.Add(sourceIndex);
            return;
        }
        if (request.Shorthand == DestinationShorthand.None && !request.IsBroadcast)
        {
            if (!request.Logical && _physicalIdsUnique)
            {
                var index = IndexOf(request.Destination);
                if (index >= 0) destinations.Add(index);
                return;
            }
            if (request.Logical && request.X2ApicFormat && _x2ApicClusters is not null)
            {
                if (_x2ApicClusters.TryGetValue(request.Destination >> 16, out var members))
                {
                    var mask = request.Destination & 0xFFFF;
                    for (var bit = 0; bit < 16; bit++)
                    {
                        if ((mask & (1u << bit)) != 0 && members[bit] >= 0) destinations.Add(members[bit]);
                    }
                    if (destinations.Count > 1) destinations.Sort();
                }
                return;
            }
        }
        for (var i = 0; i < _entries.Length; i++)
        {
            if (DestinationMatcher.Matches(_entries[i], request, sourceIndex)) destinations.Add(i);
        }
    }
}
