using System.Diagnostics;
using System.Runtime.Loader;

namespace LstmSharp.Kernels;

/// <summary>A piece of work split in two halves, run by <see cref="Worker.RunPair(IPairWork)"/>.</summary>
internal interface IPairWork
{
    /// <summary>Runs half <paramref name="part"/> (0 or 1).</summary>
    void Run(int part);
}

/// <summary>
/// One persistent background thread that runs the second half of a split computation while the caller runs the first.
/// After each job the thread spins for a short while before sleeping, so back-to-back jobs (one per LSTM time step)
/// start within microseconds without creating tasks. The second half goes to whichever thread claims it first: a
/// caller that finishes its half before the worker has started (the worker was asleep, or descheduled on a busy
/// machine) runs it too, so a split is never much slower than no split. If the worker is busy (another caller, or a
/// nested split inside a half), or the machine has one core, both halves run on the calling thread. The thread ends
/// when the library's <see cref="AssemblyLoadContext"/> unloads (so that a collectible context can), after which both
/// halves run on the caller.
/// </summary>
internal static class Worker
{
    private const long SpinMicroseconds = 200; // how long the idle worker spins before blocking

    private static readonly SemaphoreSlim s_wake = new(0);
    private static int s_owned;                 // 1 while a caller owns the worker (not reentrant)
    private static IPairWork? s_work;           // the latest job's work, read only by the thread that claims it
    private static long s_posted;               // the latest job's number (jobs are numbered 1, 2, ... by their callers)
    private static long s_claimed;              // the latest job whose second half has been claimed (s_posted or one less)
    private static long s_done;                 // the latest job whose second half the worker has finished
    private static Exception? s_error;          // the worker's failure in job s_done, or null
    private static volatile int s_sleeping;     // 1 while the worker is (about to be) blocked on s_wake
    private static volatile bool s_stopping;    // asks the worker thread to end (Stop)
    private static bool s_unloading;            // the library's load context is unloading: no new thread
    private static Thread? s_thread;

    /// <summary>Whether splitting across two threads can help here (more than one core, not disabled by LSTMSHARP_THREADS=1).</summary>
    public static bool Enabled { get; set; } =
        Environment.ProcessorCount > 1 && Environment.GetEnvironmentVariable("LSTMSHARP_THREADS") != "1";

    /// <summary>
    /// Runs <c>work.Run(0)</c> here and <c>work.Run(1)</c> on the worker (or here); returns when both have finished.
    /// Allocates nothing: a job is a number, and its second half is claimed by moving <c>s_claimed</c> from the number
    /// before it to its own, which exactly one thread can do.
    /// </summary>
    public static void RunPair(IPairWork work)
    {
        if (!Enabled || Interlocked.CompareExchange(ref s_owned, 1, 0) != 0)
        {
            work.Run(0);
            work.Run(1);
            return;
        }
        try
        {
            EnsureStarted();
            long job = s_posted + 1;               // only the owner writes s_posted
            s_work = work;
            try
            {
                Volatile.Write(ref s_posted, job);     // publishes s_work with it
                Interlocked.MemoryBarrier();
                if (s_sleeping != 0) s_wake.Release();
                work.Run(0);
            }
            catch
            {
                // The worker may be running the other half over the same memory (pinned or pooled by the caller):
                // take the half back if it has not started, else let it finish, before the caller unwinds. The caller's
                // exception is the one thrown; a failure of the worker's half is dropped (not kept until the next job).
                if (Interlocked.CompareExchange(ref s_claimed, job, job - 1) != job - 1)
                {
                    WaitFor(job);
                    s_error = null;
                }
                throw;
            }
            if (Interlocked.CompareExchange(ref s_claimed, job, job - 1) == job - 1)
            {
                work.Run(1);  // the worker has not started it: do it here rather than wait
                return;
            }
            WaitFor(job);
            if (s_error is { } error)
            {
                s_error = null;  // not kept alive until the next job
                throw new AggregateException("The worker thread failed.", error);
            }
        }
        finally
        {
            s_work = null;
            Volatile.Write(ref s_owned, 0);
        }
    }

    /// <summary>Spins until the worker has finished job <paramref name="job"/>'s second half (checking often: halves take microseconds).</summary>
    private static void WaitFor(long job)
    {
        for (int i = 0; i < 4096; i++)
        {
            if (Volatile.Read(ref s_done) == job) return;
            Thread.SpinWait(1);
        }
        var spin = new SpinWait();
        while (Volatile.Read(ref s_done) != job) spin.SpinOnce(sleep1Threshold: -1);
    }

    /// <summary>Runs <c>body(0)</c> here and <c>body(1)</c> on the worker (for coarse work: allocates a small wrapper).</summary>
    public static void RunPair(Action<int> body) => RunPair(new ActionPair(body));

    private sealed class ActionPair(Action<int> body) : IPairWork
    {
        public void Run(int part) => body(part);
    }

    private static void EnsureStarted()
    {
        if (s_thread is not null) return;
        if (s_unloading) throw new InvalidOperationException("LstmSharp's load context is unloading.");  // not reached: RunPair checks Enabled
        if (!s_subscribed)
        {
            s_subscribed = true;
            if (AssemblyLoadContext.GetLoadContext(typeof(Worker).Assembly) is { } context)
                context.Unloading += _ =>
                {
                    // Also raised for the default context at process exit: ask the thread to end, wait for nothing (a
                    // split in flight finishes; its owner runs the half itself if the worker has not claimed it).
                    s_unloading = true;
                    Enabled = false;
                    s_stopping = true;
                    s_wake.Release();
                };
        }
        s_thread = new Thread(Loop) { IsBackground = true, Name = "LstmSharp worker" };
        s_thread.Start();
    }

    private static bool s_subscribed;  // to the load context's Unloading event

    /// <summary>
    /// Ends the worker thread and waits for it (a half it has claimed is finished first); the next split starts a new
    /// one, unless the load context is unloading. Takes the worker as a caller does, so no split is in flight meanwhile.
    /// </summary>
    internal static void Stop()
    {
        var spin = new SpinWait();
        while (Interlocked.CompareExchange(ref s_owned, 1, 0) != 0) spin.SpinOnce(sleep1Threshold: -1);
        try
        {
            if (s_thread is not { } thread) return;
            s_stopping = true;
            s_wake.Release();
            thread.Join();
            s_thread = null;
            s_stopping = false;
            while (s_wake.CurrentCount > 0) s_wake.Wait(0);  // a wake-up the old thread did not take
        }
        finally
        {
            Volatile.Write(ref s_owned, 0);
        }
    }

    private static void Loop()
    {
        long spinTicks = Stopwatch.Frequency * SpinMicroseconds / 1_000_000;
        long last = Volatile.Read(ref s_posted);  // a thread started after Stop begins at the current job
        while (!s_stopping)
        {
            // Spin briefly, checking often: the next job of a time-step loop usually arrives within microseconds.
            long start = Stopwatch.GetTimestamp();
            while (Volatile.Read(ref s_posted) == last)
            {
                for (int i = 0; i < 64 && Volatile.Read(ref s_posted) == last; i++) Thread.SpinWait(1);
                if (Stopwatch.GetTimestamp() - start >= spinTicks) break;
            }
            long job = Volatile.Read(ref s_posted);
            if (job == last)
            {
                s_sleeping = 1;
                Interlocked.MemoryBarrier();
                if (Volatile.Read(ref s_posted) == last && !s_stopping) s_wake.Wait();  // a caller that posts after this check sees s_sleeping and wakes us
                s_sleeping = 0;
                continue;
            }
            last = job;
            if (Interlocked.CompareExchange(ref s_claimed, job, job - 1) != job - 1) continue;  // the caller took it
            // Claimed: the caller now waits for s_done == job, so s_work is this job's until then.
            Exception? error = null;
            try
            {
                s_work!.Run(1);
            }
            catch (Exception e)
            {
                error = e;
            }
            s_error = error;
            Volatile.Write(ref s_done, job);  // publishes s_error with it
        }
    }
}
