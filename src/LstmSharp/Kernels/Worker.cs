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
/// start in well under a microsecond without creating tasks. If the worker is busy (another caller, or a nested split
/// inside a half), or the machine has one core, both halves run on the calling thread.
/// </summary>
internal static class Worker
{
    private const long SpinTicksMicroseconds = 200; // how long the idle worker spins before blocking

    private static int s_owned;                                        // 1 while a caller owns the worker (not reentrant)
    private static readonly SemaphoreSlim s_wake = new(0);
    private static IPairWork? s_job;
    private static Exception? s_error;
    private static volatile int s_posted;                              // 1 while a job is posted and not finished
    private static Thread? s_thread;

    /// <summary>Whether splitting across two threads can help here (more than one core, not disabled by LSTMSHARP_THREADS=1).</summary>
    public static bool Enabled { get; set; } =
        Environment.ProcessorCount > 1 && Environment.GetEnvironmentVariable("LSTMSHARP_THREADS") != "1";

    /// <summary>Runs <c>work.Run(0)</c> here and <c>work.Run(1)</c> on the worker; returns when both have finished.</summary>
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
            s_job = work;
            s_error = null;
            s_posted = 1;
            s_wake.Release();
            work.Run(0);
            var spin = new SpinWait();
            while (s_posted != 0) spin.SpinOnce(sleep1Threshold: -1);
            if (s_error is not null) throw new AggregateException("The GEMM worker thread failed.", s_error);
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

    private static void EnsureStarted()
    {
        if (s_thread is not null) return;
        s_thread = new Thread(Loop) { IsBackground = true, Name = "LstmSharp worker" };
        s_thread.Start();
    }

    private static void Loop()
    {
        long spinTicks = Stopwatch.Frequency * SpinTicksMicroseconds / 1_000_000;
        while (true)
        {
            // Spin briefly: the next job of a time-step loop usually arrives within microseconds.
            long start = Stopwatch.GetTimestamp();
            while (s_posted == 0 && Stopwatch.GetTimestamp() - start < spinTicks) Thread.SpinWait(20);
            s_wake.Wait();
            try
            {
                s_job!.Run(1);
            }
            catch (Exception e)
            {
                s_error = e;
            }
            s_job = null;
            s_posted = 0;
        }
    }
}
