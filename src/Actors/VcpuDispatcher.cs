using Akka.Actor;
using Akka.Configuration;
using Akka.Dispatch;

namespace VApicActors.Actors;

/// <summary>
/// The dispatcher of a VM's VM, router and vAPIC actors (and of guest CPUs that talk to them all the time),
/// <c>vapic-vcpu-dispatcher</c>: by default a <see cref="VcpuExecutor"/> with one thread per core. What an actor
/// system's configuration sets under that path is laid over the built-in definition on first use (for example
/// <c>executor = default-executor</c> runs them on the .NET thread pool instead).
/// </summary>
public static class VcpuDispatcher
{
    public const string Id = "vapic-vcpu-dispatcher";

    /// <summary>The built-in definition.</summary>
    public static readonly Config DefaultConfig = ConfigurationFactory.ParseString($$"""
        {{Id}} {
          type = Dispatcher
          executor = "{{typeof(VcpuExecutorConfigurator).FullName}}, {{typeof(VcpuExecutorConfigurator).Assembly.GetName().Name}}"
          throughput = 30
          vcpu-executor {
            # Threads; 0 means one per core.
            threads = 0
            # How long an idle thread keeps looking for work before it sleeps, in rounds of 20 spin-wait iterations.
            spin-rounds = 0
          }
        }
        """);

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<ActorSystem, object> Registered = new();

    /// <summary>
    /// The dispatcher id to give the VM's actors' props. On first use in <paramref name="system"/>, registers the
    /// definition in the system's configuration over the built-in one (so that a configuration setting one key, such as
    /// the thread count, keeps the rest).
    /// </summary>
    public static string Use(ActorSystem system)
    {
        ArgumentNullException.ThrowIfNull(system);
        if (!Registered.TryGetValue(system, out _))
        {
            var config = system.Settings.Config;
            // Does nothing if it is registered already (by Configure, or by another VM meanwhile).
            Register(system, config.HasPath(Id) ? config.GetConfig(Id) : null);
        }
        return Id;
    }

    /// <summary>
    /// For an actor system made without the application's configuration: registers the definition in
    /// <paramref name="config"/> (its <c>vapic-vcpu-dispatcher</c> section, over the built-in one), if it has one.
    /// </summary>
    /// <exception cref="ConfigurationException">The definition is not valid.</exception>
    public static void Configure(ActorSystem system, Config? config)
    {
        ArgumentNullException.ThrowIfNull(system);
        if (config is not null && config.HasPath(Id))
        {
            Register(system, config.GetConfig(Id));
        }
    }

    /// <summary>Checks the definition in <paramref name="config"/>, if it has one, as the executor reads it.</summary>
    /// <exception cref="ConfigurationException">The definition is not valid; the message names the setting.</exception>
    public static void Validate(Config? config)
    {
        if (Problem(config) is { } problem)
        {
            throw new ConfigurationException(problem.Key + " " + problem.Problem);
        }
    }

    /// <summary>
    /// What is wrong with the definition in <paramref name="config"/> (the full key and what it allows), or null when
    /// there is none or it is good. Everything <see cref="Register"/> reads is read here first, so that a value the
    /// dispatcher cannot take (<c>throughput = many</c>, an executor type that does not exist) is a configuration error
    /// before anything starts, not an exception when the first VM is created.
    /// </summary>
    public static (string Key, string Problem)? Problem(Config? config)
    {
        if (config is null || !config.HasPath(Id))
        {
            return null;
        }
        var definition = ConfigurationFactory.ParseString("id = " + Id)
            .WithFallback(config.GetConfig(Id))
            .WithFallback(DefaultConfig.GetConfig(Id))
            .WithFallback(AkkaDispatcherDefaults.Value);
        // Register makes a Dispatcher whatever the type says: another type would be ignored without a word.
        var type = Read(definition, "type", c => c.GetString("type", ""));
        if (type != "Dispatcher")
        {
            return (Id + ".type", $"must be Dispatcher (the only type of this dispatcher), not \"{type}\"");
        }
        var throughput = Read(definition, "throughput", c => (int?)c.GetInt("throughput"));
        if (throughput is null or < 1)
        {
            return (Id + ".throughput", $"must be a whole number of at least 1, not \"{Text(definition, "throughput")}\"");
        }
        foreach (var key in new[] { "throughput-deadline-time", "shutdown-timeout" })
        {
            if (Read(definition, key, c => (TimeSpan?)c.GetTimeSpan(key)) is null)
            {
                return (Id + "." + key, $"must be a duration such as 1s or 100ms, not \"{Text(definition, key)}\"");
            }
        }
        if (definition.GetString("executor", "") == DefaultConfig.GetConfig(Id).GetString("executor"))
        {
            return VcpuExecutorConfigurator.Problem(definition);
        }
        try
        {
            _ = new ExecutorCheck(definition).Executor();
        }
        catch (Exception e)
        {
            return (Id + ".executor", $"\"{definition.GetString("executor", "")}\" cannot be set up: {e.GetBaseException().Message}");
        }
        return null;

        static T? Read<T>(Config c, string key, Func<Config, T?> read)
        {
            try
            {
                return read(c);
            }
            catch (Exception)
            {
                return default; // not of the kind the key takes: said by the caller, with the key
            }
        }

        static string Text(Config c, string key)
        {
            try
            {
                return c.GetString(key) ?? "";
            }
            catch (Exception)
            {
                return "";
            }
        }
    }

    /// <summary>Akka's own <c>akka.actor.default-dispatcher</c>, which <see cref="Register"/> lays the definition over.</summary>
    private static readonly Lazy<Config> AkkaDispatcherDefaults = new(() => ConfigurationFactory.Default().GetConfig("akka.actor.default-dispatcher"));

    /// <summary>Makes the executor configurator a dispatcher of this definition would make, and nothing else.</summary>
    private sealed class ExecutorCheck(Config config) : MessageDispatcherConfigurator(config, null!)
    {
        public ExecutorServiceConfigurator Executor() => ConfigureExecutor();

        public override MessageDispatcher Dispatcher() => throw new NotSupportedException();
    }

    private static void Register(ActorSystem system, Config? definition)
    {
        var dispatchers = system.Dispatchers;
        var config = ConfigurationFactory.ParseString("id = " + Id);
        if (definition is not null)
        {
            config = config.WithFallback(definition);
        }
        config = config.WithFallback(DefaultConfig.GetConfig(Id)).WithFallback(dispatchers.DefaultDispatcherConfig);
        dispatchers.RegisterConfigurator(Id, new DispatcherConfigurator(config, dispatchers.Prerequisites));
        Registered.AddOrUpdate(system, Id);
    }
}

/// <summary>Builds <see cref="VcpuExecutor"/>s from a dispatcher's <c>vcpu-executor</c> section.</summary>
public sealed class VcpuExecutorConfigurator : ExecutorServiceConfigurator
{
    private readonly int _threads;
    private readonly int _spinRounds;

    public VcpuExecutorConfigurator(Config config, IDispatcherPrerequisites prerequisites)
        : base(config, prerequisites)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (Problem(config) is { } problem)
        {
            throw new ConfigurationException(problem.Key + " " + problem.Problem);
        }
        var section = config.GetConfig("vcpu-executor");
        var threads = section?.GetInt("threads", 0) ?? 0;
        _threads = threads == 0 ? Environment.ProcessorCount : threads;
        _spinRounds = section?.GetInt("spin-rounds", 0) ?? 0;
    }

    /// <summary>The first setting of the dispatcher's <c>vcpu-executor</c> section it cannot take, with what it allows; or null.</summary>
    internal static (string Key, string Problem)? Problem(Config config)
    {
        var section = config.GetConfig("vcpu-executor");
        foreach (var (name, max, allowed) in new[] { ("threads", 1024, "0 (one per core) to 1024"), ("spin-rounds", 1_000_000, "0 to 1000000") })
        {
            string? text = null;
            try
            {
                text = section?.GetString(name);
                var value = section?.GetInt(name, 0) ?? 0;
                if (value >= 0 && value <= max)
                {
                    continue;
                }
            }
            catch (Exception)
            {
                // Not a number: said below.
            }
            return (VcpuDispatcher.Id + ".vcpu-executor." + name, "must be " + allowed + ", not " + text);
        }
        return null;
    }

    public override ExecutorService Produce(string id) => new VcpuExecutor(id, _threads, _spinRounds);
}

/// <summary>
/// Runs mailboxes on its own threads. Each thread has a first-in first-out queue: a mailbox scheduled by one of these
/// threads (an actor telling another) goes to that thread's queue, one scheduled from elsewhere to the threads in turn.
/// A thread takes from its own queue first, then from the others'; one that finds nothing keeps looking for
/// <c>spin-rounds</c> short rounds and then sleeps until work is scheduled. Work from outside wakes a sleeping thread;
/// work a thread schedules for itself wakes one only if it would wait behind other work.
/// </summary>
/// <remarks>
/// The .NET thread pool puts work scheduled from outside its threads on one queue that every thread contends for, and
/// work scheduled from its threads on a last-in first-out local queue, which lets one chain of messages run on while
/// older work waits. Actors that tell each other in rings and fans, as vCPUs do with IPIs, schedule a mailbox for
/// nearly every message; here that costs one uncontended enqueue, and older work is never overtaken on its queue.
/// </remarks>
public sealed class VcpuExecutor : ExecutorService
{
    [ThreadStatic]
    private static VcpuExecutor? t_executor;

    [ThreadStatic]
    private static int t_index;

    private readonly System.Collections.Concurrent.ConcurrentQueue<IRunnable>[] _queues;
    private readonly Thread[] _threads;
    private readonly SemaphoreSlim _wake = new(0);
    private readonly int _spinRounds;
    private int _sleeping;
    private int _next;
    private volatile bool _stopped;

    public VcpuExecutor(string id, int threads, int spinRounds)
        : base(id)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        _spinRounds = spinRounds;
        _queues = new System.Collections.Concurrent.ConcurrentQueue<IRunnable>[threads];
        for (var i = 0; i < threads; i++)
        {
            _queues[i] = new();
        }
        _threads = new Thread[threads];
        for (var i = 0; i < threads; i++)
        {
            var index = i;
            _threads[i] = new Thread(() => Work(index)) { IsBackground = true, Name = id + "-" + i };
            _threads[i].Start();
        }
    }

    /// <summary>The number of threads.</summary>
    public int Threads => _threads.Length;

    public override void Execute(IRunnable run)
    {
        if (_stopped)
        {
            throw new RejectedExecutionException("the executor " + Id + " is shut down");
        }
        if (ReferenceEquals(t_executor, this))
        {
            // This thread takes the work itself once the mailbox it runs is done; another is woken only for work that
            // would wait behind other work (so that a chain of messages does not wake, and move to, a second thread
            // at every step).
            var own = _queues[t_index];
            var waits = !own.IsEmpty;
            own.Enqueue(run);
            if (waits)
            {
                WakeOne();
            }
            return;
        }
        _queues[(int)((uint)Interlocked.Increment(ref _next) % (uint)_queues.Length)].Enqueue(run);
        WakeOne();
    }

    public override void Shutdown()
    {
        _stopped = true;
        _wake.Release(_threads.Length);
    }

    /// <summary>Wakes one sleeping thread, if any sleeps.</summary>
    private void WakeOne()
    {
        int sleeping;
        while ((sleeping = Volatile.Read(ref _sleeping)) > 0)
        {
            if (Interlocked.CompareExchange(ref _sleeping, sleeping - 1, sleeping) == sleeping)
            {
                _wake.Release();
                return;
            }
        }
    }

    private bool TryTake(int index, out IRunnable run)
    {
        if (_queues[index].TryDequeue(out run!))
        {
            return true;
        }
        for (var i = 1; i < _queues.Length; i++)
        {
            if (_queues[(index + i) % _queues.Length].TryDequeue(out run!))
            {
                return true;
            }
        }
        return false;
    }

    private void Work(int index)
    {
        t_executor = this;
        t_index = index;
        while (!_stopped)
        {
            if (TryTake(index, out var run) || Spin(index, out run))
            {
                run.Run();
                continue;
            }
            Interlocked.Increment(ref _sleeping);
            if (TryTake(index, out run))
            {
                // Work came before the sleep: undo it, unless a waker already counted this thread as woken (its
                // permit then only makes a later sleep return at once).
                UndoSleep();
                run.Run();
                continue;
            }
            if (!_wake.Wait(TimeSpan.FromMilliseconds(50)))
            {
                // Woken by no one: a safety net for a wake that raced the sleep.
                UndoSleep();
            }
        }
    }

    private void UndoSleep()
    {
        int sleeping;
        while ((sleeping = Volatile.Read(ref _sleeping)) > 0)
        {
            if (Interlocked.CompareExchange(ref _sleeping, sleeping - 1, sleeping) == sleeping)
            {
                return;
            }
        }
    }

    private bool Spin(int index, out IRunnable run)
    {
        for (var round = 0; round < _spinRounds; round++)
        {
            Thread.SpinWait(20);
            if (TryTake(index, out run))
            {
                return true;
            }
        }
        run = null!;
        return false;
    }
}
