using LstmSharp.Kernels;
using Xunit;

namespace LstmSharp.Tests;

/// <summary>The kernels' scratch arrays: exact lengths, reused within 25%, a bounded number kept.</summary>
public class ScratchTests
{
    [Fact]
    public void ARentedArrayHasTheLengthAskedForAndIsReusedWithinAQuarter()
    {
        Scratch<float>.Clear();  // free arrays that other tests' kernels left on this thread
        var a = Scratch<float>.Rent(1000);
        Assert.Equal(1000, a.Length);                      // not rounded up to a power of two
        Scratch<float>.Return(a);
        var b = Scratch<float>.Rent(801);                  // 1000 is at most 25% more than 801: reused
        Assert.Same(a, b);
        Scratch<float>.Return(b);
        var c = Scratch<float>.Rent(799);                  // 1000 would be more than 25% over: a new one
        Assert.NotSame(a, c);
        Assert.Equal(799, c.Length);
        var d = Scratch<float>.Rent(1001);                 // longer than any free array: a new one
        Assert.NotSame(a, d);
        Scratch<float>.Return(c);
        Scratch<float>.Return(d);
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
        var first = Scratch<double>.Rent(300);
        Scratch<double>.Return(first);
        for (int i = 0; i < Scratch<double>.Kept; i++) Scratch<double>.Return(new double[300]);
        Assert.NotSame(first, Scratch<double>.Rent(300));  // pushed out by Kept newer ones
    }
}
