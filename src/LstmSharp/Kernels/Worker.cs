using System.Diagnostics;

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
/// nested split inside a half), or the machine has one core, both halves run on the calling thread.
/// </summary>
internal static class Worker
{
    private const long SpinMicroseconds = 200; // how long the idle worker spins before blocking

    private static readonly SemaphoreSlim s_wake = new(0);
    private static int s_owned;                 // 1 while a caller owns the worker (not reentrant)
    private static volatile Ticket? s_ticket;   // the latest job
    private static volatile int s_sleeping;     // 1 while the worker is (about to be) blocked on s_wake
    private static Thread? s_thread;

    /// <summary>Whether splitting across two threads can help here (more than one core, not disabled by LSTMSHARP_THREADS=1).</summary>
    public static bool Enabled { get; set; } =
        Environment.ProcessorCount > 1 && Environment.GetEnvironmentVariable("LSTMSHARP_THREADS") != "1";

    /// <summary>Runs <c>work.Run(0)</c> here and <c>work.Run(1)</c> on the worker (or here); returns when both have finished.</summary>
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
            var ticket = new Ticket(work);
            s_ticket = ticket;
            Interlocked.MemoryBarrier();
            if (s_sleeping != 0) s_wake.Release();
            try
            {
                work.Run(0);
            }
            catch
            {
                // The worker may be running the other half over the same memory (pinned or pooled by the caller):
                // take the half back if it has not started, else let it finish, before the caller unwinds.
                if (Interlocked.Exchange(ref ticket.Claimed, 1) != 0)
                {
                    var wait = new SpinWait();
                    while (ticket.Done == 0) wait.SpinOnce(sleep1Threshold: -1);
                }
                throw;
            }
            if (Interlocked.Exchange(ref ticket.Claimed, 1) == 0)
            {
                work.Run(1);  // the worker has not started it: do it here rather than wait
                return;
            }
            var spin = new SpinWait();
            while (ticket.Done == 0) spin.SpinOnce(sleep1Threshold: -1);
            if (ticket.Error is not null) throw new AggregateException("The worker thread failed.", ticket.Error);
        }
        finally
        {
            Volatile.Write(ref s_owned, 0);
        }
    }

    /// <summary>Runs <c>body(0)</c> here and <c>body(1)</c> on the worker (for coarse work: allocates a small wrapper).</summary>
    public static void RunPair(Action<int> body) => RunPair(new ActionPair(body));

    private sealed class ActionPair(Action<int> body) : IPairWork
    {
        public void Run(int part) => body(part);
    }

    /// <summary>One posted job: its second half is claimed by exactly one thread.</summary>
    private sealed class Ticket(IPairWork work)
    {
        public readonly IPairWork Work = work;
        public int Claimed;
        public volatile int Done;
        public Exception? Error;
    }

    private static void EnsureStarted()
    {
        if (s_thread is not null) return;
        s_thread = new Thread(Loop) { IsBackground = true, Name = "LstmSharp worker" };
        s_thread.Start();
    }

    private static void Loop()
    {
        long spinTicks = Stopwatch.Frequency * SpinMicroseconds / 1_000_000;
        Ticket? last = null;
        while (true)
        {
            // Spin briefly: the next job of a time-step loop usually arrives within microseconds.
            long start = Stopwatch.GetTimestamp();
            while (s_ticket == last && Stopwatch.GetTimestamp() - start < spinTicks) Thread.SpinWait(20);
            if (s_ticket == last)
            {
                s_sleeping = 1;
                Interlocked.MemoryBarrier();
                if (s_ticket == last) s_wake.Wait();  // a caller that posts after this check sees s_sleeping and wakes us
                s_sleeping = 0;
                continue;
            }
            var ticket = s_ticket!;
            last = ticket;
            if (Interlocked.Exchange(ref ticket.Claimed, 1) != 0) continue;  // the caller took it
            try
            {
                ticket.Work.Run(1);
            }
            catch (Exception e)
            {
                ticket.Error = e;
            }
            ticket.Done = 1;
        }
    }
}
