using LstmSharp.Kernels;
using Xunit;

namespace LstmSharp.Tests;

/// <summary>The kernels' scratch arrays: exact lengths, the shortest free array that fits reused, a bounded number kept.</summary>
public class ScratchTests
{
    [Fact]
    public void ARentedArrayHasTheLengthAskedForAndAFreeOneIsReusedForShorterRequests()
    {
        Scratch<float>.Clear();  // free arrays that other tests' kernels left on this thread
        var a = Scratch<float>.Rent(1000);
        Assert.Equal(1000, a.Length);                      // not rounded up to a power of two
        Scratch<float>.Return(a);
        var b = Scratch<float>.Rent(300);                  // fits in the free one: reused
        Assert.Same(a, b);
        var d = Scratch<float>.Rent(1000);                 // none free: a new one, of that length
        Assert.NotSame(a, d);
        Assert.Equal(1000, d.Length);
        Scratch<float>.Return(b);
        var e = Scratch<float>.Rent(1001);                 // longer than any free array: a new one
        Assert.NotSame(a, e);
        Scratch<float>.Return(d);
        Scratch<float>.Return(e);
    }

    [Fact]
    public void TheBestFittingFreeArrayIsTakenAndTheOldestDroppedBeyondTheLimit()
    {
        Scratch<double>.Clear();
        var big = Scratch<double>.Rent(5000);
        var small = Scratch<double>.Rent(4100);
        Scratch<double>.Return(big);
        Scratch<double>.Return(small);
        Assert.Same(small, Scratch<double>.Rent(4000));  // both fit; the shorter is taken
        Assert.Same(big, Scratch<double>.Rent(4000));
        Scratch<double>.Clear();
        var first = Scratch<double>.Rent(300);
        Scratch<double>.Return(first);
        Assert.Same(first, Scratch<double>.Rent(300));      // kept
        Scratch<double>.Return(first);
        for (int i = 0; i < Scratch<double>.Kept; i++) Scratch<double>.Return(new double[200]);  // too short for 300
        Assert.NotSame(first, Scratch<double>.Rent(300));  // pushed out by Kept newer ones
    }

    [Fact]
    public void NoMoreThanKeptBytesAreKept()
    {
        Scratch<double>.Clear();
        int half = (int)(Scratch<double>.KeptBytes / sizeof(double) / 2);
        var a = Scratch<double>.Rent(half);
        var b = Scratch<double>.Rent(half);
        Scratch<double>.Return(a);
        Scratch<double>.Return(b);                          // exactly KeptBytes: both kept
        Assert.Same(b, Scratch<double>.Rent(half));
        Assert.Same(a, Scratch<double>.Rent(half));
        Scratch<double>.Return(a);
        Scratch<double>.Return(b);
        Scratch<double>.Return(new double[10]);             // now over KeptBytes: the oldest, a, is dropped
        Assert.Same(b, Scratch<double>.Rent(half));
        Assert.NotSame(a, Scratch<double>.Rent(half));
        Scratch<double>.Clear();
        Scratch<double>.Return(a);
        Assert.Same(a, Scratch<double>.Rent(half));         // within KeptBytes: kept
        var small = Scratch<double>.Rent(10);
        Scratch<double>.Return(small);
        Scratch<double>.Return(new double[half * 2 + 1]);  // alone over KeptBytes: not kept, and the others stay
        Assert.Same(small, Scratch<double>.Rent(1));
        Assert.True(Scratch<double>.Rent(1).Length == 1, "an array over KeptBytes was kept");
        Scratch<double>.Clear();
    }
}
