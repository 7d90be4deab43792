using Akka.Actor;
using Akka.Configuration;
using Akka.Persistence;
using Akka.Persistence.Snapshot;

namespace VApicActors.Host.Tests.Cluster;

/// <summary>
/// A snapshot store in memory that finishes every save only after <c>save-delay</c>, as a busy database may: deletions
/// and loads are answered at once, so a test can reach the moments while a snapshot is still being saved. Once told
/// <see cref="HoldSaves"/>, it also holds every save after that until the test releases it (<see cref="ReleaseSave"/>),
/// so that a test decides which save finishes when.
/// </summary>
public sealed class SlowSnapshotStore : SnapshotStore
{
    private readonly TimeSpan _saveDelay;
    private readonly List<SelectedSnapshot> _snapshots = [];
    private readonly List<(HeldSave Save, TaskCompletionSource Release)> _held = [];
    private bool _holding;

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

    protected override bool ReceivePluginInternal(object message)
    {
        switch (message)
        {
            case HoldSaves:
                _holding = true;
                Sender.Tell(true);
                return true;
            case HeldSaves:
                lock (_held)
                {
                    Sender.Tell(_held.Select(h => h.Save).ToArray());
                }
                return true;
            case ReleaseSave release:
                lock (_held)
                {
                    var index = _held.FindIndex(h => h.Save.Metadata.PersistenceId == release.PersistenceId && h.Save.Metadata.SequenceNr == release.SequenceNr);
                    if (index >= 0)
                    {
                        _held[index].Release.SetResult();
                        _held.RemoveAt(index);
                    }
                    Sender.Tell(index >= 0);
                }
                return true;
            default:
                return false;
        }
    }

    protected override async Task SaveAsync(SnapshotMetadata metadata, object snapshot, CancellationToken cancellationToken)
    {
        if (_holding)
        {
            var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_held)
            {
                _held.Add((new HeldSave(metadata, snapshot), release));
            }
            await release.Task.WaitAsync(cancellationToken);
        }
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

/// <summary>To a <see cref="SlowSnapshotStore"/>: every save from now on waits to be released. Answered with <c>true</c>.</summary>
public sealed record HoldSaves;

/// <summary>To a <see cref="SlowSnapshotStore"/>: answered with the saves it holds now (<see cref="HeldSave"/>[]), oldest first.</summary>
public sealed record HeldSaves;

/// <summary>A save a <see cref="SlowSnapshotStore"/> holds: not in the store yet, and not answered.</summary>
public sealed record HeldSave(SnapshotMetadata Metadata, object Snapshot);

/// <summary>To a <see cref="SlowSnapshotStore"/>: finishes a held save. Answered with whether it held that save.</summary>
public sealed record ReleaseSave(string PersistenceId, long SequenceNr);
