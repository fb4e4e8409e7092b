using LstmSharp.Kernels;
using Xunit;

namespace LstmSharp.Tests;

/// <summary>The two-thread helper: each half runs exactly once per job, nested and failing jobs behave.</summary>
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
}
