namespace VApicActors.Host.TraceTools;

/// <summary>
/// The VMs a trace has, as its events are read, so that a <c>--vm</c> it does not have is said with those it has:
/// <c>has no events of VM x; its VMs: a, b</c> (the first <see cref="MaxNamed"/>, then <c>...</c>).
/// </summary>
internal sealed class TraceVms(string? wanted)
{
    /// <summary>At most this many of the trace's VMs are named.</summary>
    public const int MaxNamed = 10;

    private readonly List<string> _names = [];
    private bool _more;

    /// <summary>Whether an event of the VM asked for was read.</summary>
    public bool WantedSeen { get; private set; }

    public void Add(string vm)
    {
        WantedSeen |= vm == wanted;
        if (_names.Contains(vm))
        {
            return;
        }
        if (_names.Count < MaxNamed)
        {
            _names.Add(vm);
        }
        else
        {
            _more = true;
        }
    }

    /// <summary>The complaint about the VM asked for when the trace had events but none of it; otherwise null.</summary>
    public string? Missing(string tracePath) => wanted is null || WantedSeen || _names.Count == 0
        ? null
        : $"vapic: {tracePath} has no events of VM {wanted}; its VMs: {string.Join(", ", _names)}{(_more ? ", ..." : "")}";
}
