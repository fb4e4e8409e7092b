using LstmSharp.Tensors;
using Xunit;

namespace LstmSharp.Tests;

public class RngTests
{
    [Fact]
    public void NextIntIsInRangeAndRoughlyUniform()
    {
        var rng = new Rng(9);
        var counts = new int[7];
        for (int i = 0; i < 70_000; i++) counts[rng.NextInt(7)]++;
        Assert.All(counts, c => Assert.InRange(c, 9_500, 10_500));
        Assert.Throws<ArgumentOutOfRangeException>(() => rng.NextInt(0));
    }

    [Fact]
    public void StateRoundTripsExactly()
    {
        var a = new Rng(1);
        a.NextUInt64();
        var state = a.GetState();
        var expected = Enumerable.Range(0, 5).Select(_ => a.NextUInt64()).ToArray();
        var b = new Rng(999);
        b.SetState(state);
        Assert.Equal(expected, Enumerable.Range(0, 5).Select(_ => b.NextUInt64()));
        Assert.Throws<ArgumentException>(() => b.SetState([0, 0, 0, 0]));
    }
}
