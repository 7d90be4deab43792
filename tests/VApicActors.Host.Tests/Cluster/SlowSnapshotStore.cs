using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Snapshot;

namespace VApicActors.Host.Tests.Cluster;

/// <summary>
/// A snapshot store in memory that finishes every save only after <c>save-delay</c>, as a busy database may: deletions
/// and loads are answered at once, so a test can reach the moments while a snapshot is still being saved.
/// </summary>
public sealed class SlowSnapshotStore : SnapshotStore
{
    private readonly TimeSpan _saveDelay;
    private readonly List<SelectedSnapshot> _snapshots = [];

    public SlowSnapshotStore(Config config)
    {
        _saveDelay = config.GetTimeSpan("save-delay", TimeSpan.FromMilliseconds(500));
    }

    /// <summary>The settings that make it a node's snapshot store.</summary>
    public static Config Settings(TimeSpan saveDelay) => ConfigurationFactory.ParseString($$"""
        akka.persistence.snapshot-store {
          plugin = "akka.persistence.snapshot-store.slow"
          slow {
            class = "{{typeof(SlowSnapshotStore).FullName}}, {{typeof(SlowSnapshotStore).Assembly.GetName().Name}}"
            plugin-dispatcher = "akka.actor.default-dispatcher"
            save-delay = {{(long)saveDelay.TotalMilliseconds}}ms
          }
        }
        """);

    protected override Task<SelectedSnapshot> LoadAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken)
    {
        lock (_snapshots)
        {
            return Task.FromResult(_snapshots
                .Where(s => s.Metadata.PersistenceId == persistenceId && Matches(s.Metadata, criteria))
                .OrderByDescending(s => s.Metadata.SequenceNr)
                .FirstOrDefault()!);
        }
    }

    protected override async Task SaveAsync(SnapshotMetadata metadata, object snapshot, CancellationToken cancellationToken)
    {
        await Task.Delay(_saveDelay, cancellationToken);
        lock (_snapshots)
        {
            _snapshots.RemoveAll(s => s.Metadata.PersistenceId == metadata.PersistenceId && s.Metadata.SequenceNr == metadata.SequenceNr);
            _snapshots.Add(new SelectedSnapshot(metadata, snapshot));
        }
    }

    protected override Task DeleteAsync(SnapshotMetadata metadata, CancellationToken cancellationToken)
    {
        lock (_snapshots)
        {
            _snapshots.RemoveAll(s => s.Metadata.PersistenceId == metadata.PersistenceId && s.Metadata.SequenceNr == metadata.SequenceNr);
        }
        return Task.CompletedTask;
    }

    protected override Task DeleteAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken)
    {
        lock (_snapshots)
        {
            _snapshots.RemoveAll(s => s.Metadata.PersistenceId == persistenceId && Matches(s.Metadata, criteria));
        }
        return Task.CompletedTask;
    }

    private static bool Matches(SnapshotMetadata metadata, SnapshotSelectionCriteria criteria) =>
        metadata.SequenceNr >= criteria.MinSequenceNr && metadata.SequenceNr <= criteria.MaxSequenceNr && metadata.Timestamp <= criteria.MaxTimeStamp;
}
