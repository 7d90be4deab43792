namespace VApicActors.Host.Service;

/// <summary>Runs one session's requests in order and answers each with one line; never throws for a request.</summary>
internal interface ISessionExecutor : IAsyncDisposable
{
    /// <summary>The session asked to end (<c>quit</c>).</summary>
    bool QuitRequested { get; }

    /// <summary>The name of the VM the session drives, or null before it has one.</summary>
    string? VmName { get; }

    /// <summary>The initial APIC ID of the selected vCPU.</summary>
    uint SelectedApicId { get; }

    Task<string> ExecuteAsync(string line);
}
