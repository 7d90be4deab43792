namespace VApicActors.Host.Stress;

/// <summary>The guest operations of a stress run (keys of <c>vapic.stress.mix</c>, in this order).</summary>
public enum OperationKind
{
    Fixed,
    Logical,
    Shorthand,
    Broadcast,
    Lowest,
    Nmi,
    Self,
    Msi,
    Tpr,
    Callfn,
    Timer,
    Read,
}
