namespace VApicActors.Host.Stress;

/// <summary>One call-function work item: who queued it, and that sender's operation number.</summary>
internal readonly record struct CallFunctionItem(int Sender, long SenderOperation);
