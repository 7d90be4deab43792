namespace VApicActors.Registers;

/// <summary>The answer to a guest access: a status and, for reads and acknowledges, a value.</summary>
public readonly record struct AccessResult(AccessStatus Status, ulong Value)
{
    public static AccessResult Done => new(AccessStatus.Ok, 0);
    public static AccessResult Fault => new(AccessStatus.GeneralProtection, 0);
    public static AccessResult NotRunning => new(AccessStatus.NotRunning, 0);
    public static AccessResult Nothing => new(AccessStatus.None, 0);
    public static AccessResult Of(ulong value) => new(AccessStatus.Ok, value);

    public bool IsOk => Status == AccessStatus.Ok;

    public override string ToString() => Status switch
    {
        AccessStatus.Ok => "0x" + Value.ToString("X"),
        AccessStatus.GeneralProtection => "#GP",
        AccessStatus.NotRunning => "not-running",
        _ => "none",
    };
}
