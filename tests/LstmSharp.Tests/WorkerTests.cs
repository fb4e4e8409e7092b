using LstmSharp.Kernels;
using Xunit;

namespace LstmSharp.Tests;

/// <summary>Runs alone, so that no other test's halves run on the worker thread while these count its allocations.</summary>
[CollectionDefinition("Worker alone", DisableParallelization = true)]
public class WorkerAloneCollection;

/// <summary>The two-thread helper: each half runs exactly once per job, nested and failing jobs behave.</summary>
[Collection("Worker alone")]
public class WorkerTests
{
    private sealed class Counting : IPairWork
    {
        public int Part0, Part1;

        public void Run(int part)
        {
            if (part == 0) Interlocked.Increment(ref Part0);
            else Interlocked.Increment(ref Part1);
        }
    }

    [Fact]
    public void EachHalfRunsExactlyOnce()
    {
        var work = new Counting();
        for (int i = 0; i < 20000; i++) Worker.RunPair(work);
        Assert.Equal(20000, work.Part0);
        Assert.Equal(20000, work.Part1);
    }

    /// <summary>Records the allocation counter of the thread that runs half 1 each time the worker thread runs it.</summary>
    private sealed class Recording : IPairWork
    {
        public int OnWorker;
        public long First = -1, Last = -1;

        public void Run(int part)
        {
            if (part == 0) Thread.SpinWait(200);  // a few microseconds: time for the worker to claim half 1
            if (part == 0 || Thread.CurrentThread.Name != "LstmSharp worker") return;
            long now = GC.GetAllocatedBytesForCurrentThread();
            if (First < 0) First = now;
            Last = now;
            OnWorker++;
        }
    }

    /// <summary>A job allocates nothing on the calling thread, nor on the worker thread between two of its halves.</summary>
    [Fact]
    public void AJobAllocatesNothingOnEitherThread()
    {
        var work = new Recording();
        for (int i = 0; i < 1000; i++) Worker.RunPair(work);  // starts the worker; compiles everything
        // Three rounds; on each thread all but one must allocate nothing (see TestUtil.AllocatedInAllButOneRound).
        var onCallerRounds = new long[3];  // [rounds]
        var onWorkerRounds = new long[3];  // [rounds]
        int jobsOnWorker = 0;
        for (int round = 0; round < 3; round++)
        {
            work.First = work.Last = -1;
            work.OnWorker = 0;
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 20000; i++) Worker.RunPair(work);
            onCallerRounds[round] = GC.GetAllocatedBytesForCurrentThread() - before;
            onWorkerRounds[round] = work.OnWorker >= 2 ? work.Last - work.First : 0;
            jobsOnWorker = Math.Max(jobsOnWorker, work.OnWorker);
        }
        Array.Sort(onCallerRounds);
        Array.Sort(onWorkerRounds);
        long onCaller = onCallerRounds[^2], onWorker = onWorkerRounds[^2];
        Assert.Equal(0, onCaller);
        if (Worker.Enabled)
        {
            Assert.True(jobsOnWorker >= 2, $"the worker ran half 1 of at most {jobsOnWorker} jobs out of 20000");
            Assert.Equal(0, onWorker);
        }
    }

    [Fact]
    public void NestedSplitsRunInline()
    {
        int inner = 0;
        Worker.RunPair(part => Worker.RunPair(_ => Interlocked.Increment(ref inner)));
        Assert.Equal(4, inner);
    }

    [Fact]
    public void AFailingHalfThrowsToTheCaller()
    {
        for (int i = 0; i < 50; i++)
        {
            var e = Assert.ThrowsAny<Exception>(() => Worker.RunPair(part =>
            {
                if (part == 1) throw new InvalidOperationException("half 1");
                Thread.SpinWait(i * 100);  // sometimes the worker gets half 1, sometimes the caller does
            }));
            Assert.Contains("half 1", e is AggregateException a ? a.InnerException!.Message : e.Message);
        }
        var work = new Counting();
        Worker.RunPair(work);  // still usable
        Assert.Equal(1, work.Part1);
    }

    /// <summary>When the caller's half throws, RunPair returns only after the other half has finished (it may use the caller's memory).</summary>
    [Fact]
    public void AFailingFirstHalfWaitsForTheSecond()
    {
        for (int i = 0; i < 20; i++)
        {
            int finished = 0;
            Assert.Throws<InvalidOperationException>(() => Worker.RunPair(part =>
            {
                if (part == 0)
                {
                    Thread.SpinWait(i * 200);  // sometimes the worker has started half 1 by now
                    throw new InvalidOperationException("half 0");
                }
                Thread.Sleep(20);
                Volatile.Write(ref finished, 1);
            }));
            int seen = Volatile.Read(ref finished);
            Thread.Sleep(40);
            Assert.Equal(Volatile.Read(ref finished), seen);  // nothing still running after the throw
        }
    }

    /// <summary>When both halves throw, the caller's exception is thrown and the worker's is not kept afterwards.</summary>
    [Fact]
    public void WhenBothHalvesThrowNoFailureIsKept()
    {
        var error = typeof(Worker).GetField("s_error", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
        bool workerTook = false;
        for (int i = 0; i < 20 && !workerTook; i++)
        {
            var e = Assert.Throws<InvalidOperationException>(() => Worker.RunPair(part =>
            {
                if (part == 0)
                {
                    Thread.Sleep(30);  // the worker takes half 1 meanwhile (unless descheduled)
                    throw new InvalidOperationException("half 0");
                }
                workerTook = Thread.CurrentThread.Name == "LstmSharp worker";
                throw new InvalidOperationException("half 1");
            }));
            Assert.Equal("half 0", e.Message);
            Assert.Null(error.GetValue(null));
        }
        Assert.True(workerTook || !Worker.Enabled, "the worker never took a half");
    }

    /// <summary>Stop ends the worker thread (waiting for it); the next split starts another, and every half still runs once.</summary>
    [Fact]
    public void StopEndsTheThreadAndTheNextSplitStartsAnother()
    {
        bool wasEnabled = Worker.Enabled;
        Worker.Enabled = true;  // the thread runs on one core too (time-sliced): the test does not depend on the machine
        try
        {
            var work = new Counting();
            for (int i = 0; i < 100; i++) Worker.RunPair(work);
            var field = typeof(Worker).GetField("s_thread", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
            var before = (Thread?)field.GetValue(null);
            Worker.Stop();
            Assert.Null(field.GetValue(null));
            Assert.NotNull(before);
            Assert.False(before.IsAlive);
            for (int i = 0; i < 1000; i++) Worker.RunPair(work);
            Assert.Equal(1100, work.Part0);
            Assert.Equal(1100, work.Part1);
            Assert.True(((Thread?)field.GetValue(null))?.IsAlive, "no new worker thread");
        }
        finally
        {
            Worker.Enabled = wasEnabled;
        }
    }

    /// <summary>
    /// The library loaded into a collectible load context, a split run there (its worker thread started), then the
    /// context unloaded: the worker ends with it, so the context is collected (the thread looping forever kept it alive).
    /// </summary>
    [Fact]
    public void ACollectibleLoadContextUnloadsAfterASplit()
    {
        var context = LoadSplitAndUnload(out int halves);
        Assert.Equal(200, halves);
        for (int i = 0; i < 50 && context.IsAlive; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            Thread.Sleep(10);
        }
        Assert.False(context.IsAlive, "the load context was never collected");
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static WeakReference LoadSplitAndUnload(out int halves)
    {
        var context = new System.Runtime.Loader.AssemblyLoadContext("lstmsharp-unload-test", isCollectible: true);
        var library = context.LoadFromAssemblyPath(typeof(Worker).Assembly.Location);
        var runPair = library.GetType("LstmSharp.Kernels.Worker")!.GetMethod("RunPair", [typeof(Action<int>)])!;
        library.GetType("LstmSharp.Kernels.Worker")!.GetProperty("Enabled")!.SetValue(null, true);  // a thread to end, on any machine
        int count = 0;
        Action<int> half = _ => Interlocked.Increment(ref count);
        for (int i = 0; i < 100; i++) runPair.Invoke(null, [half]);
        halves = count;
        var worker = library.GetType("LstmSharp.Kernels.Worker")!;
        bool enabled = (bool)worker.GetProperty("Enabled")!.GetValue(null)!;
        var thread = (Thread?)worker.GetField("s_thread", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.GetValue(null);
        Assert.True(enabled && thread is { IsAlive: true }, "the loaded copy's worker thread never started: the test would test nothing");
        context.Unload();
        return new WeakReference(context);
    }
}
