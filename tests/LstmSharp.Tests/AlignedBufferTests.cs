using System.Runtime.CompilerServices;
using LstmSharp.Kernels;
using Xunit;

namespace LstmSharp.Tests;

/// <summary>The buffers that kernels stream whole vectors from (the streamer's weights, packed GEMM operands): the first element on a 64-byte boundary, at the length asked for, small (pinned) and large (on the large object heap) alike, and still there after a collection.</summary>
public class AlignedBufferTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(1000)]
    [InlineData(82_000)]  // the large object heap's size class: the GC's own arrays there start 24 bytes past a line
    public void TheFirstElementIsOnA64ByteBoundaryForFloatAndDouble(int length)
    {
        Check(new AlignedBuffer<float>(length), length);
        Check(new AlignedBuffer<double>(length), length);
    }

    [Fact]
    public void WritesThroughTheSpanAreReadBackFromTheReference()
    {
        var buffer = new AlignedBuffer<float>(37);
        for (int i = 0; i < 37; i++) buffer.Span[i] = i + 0.5f;
        Assert.Equal(36.5f, Unsafe.Add(ref buffer.Reference, 36));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AlignedBuffer<float>(-1));
    }

    [Fact]
    public void APackedMatrixStartsOnA64ByteBoundaryAsItGrows()
    {
        PackedMatrix<float>? packed = null;
        foreach (var (k, n) in new[] { (3, 5), (128, 512), (7, 9), (300, 700) })
        {
            var b = new float[k * n];
            packed = Gemm.Pack<float>(Gemm.Best, false, k, n, b, n, packed);
            Assert.Equal(packed.Length, packed.Data.Length);
            Assert.True(packed.Length >= k * n);
            Assert.Equal(0L, Address(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(packed.Data)) % 64);
        }
    }

    private static unsafe long Address<T>(ref T x) => (long)Unsafe.AsPointer(ref x);

    private static unsafe void Check<T>(AlignedBuffer<T> buffer, int length) where T : unmanaged
    {
        Assert.Equal(length, buffer.Length);
        Assert.Equal(length, buffer.Span.Length);
        for (int round = 0; round < 3; round++)
        {
            Assert.Equal(0L, (long)Unsafe.AsPointer(ref buffer.Reference) % AlignedBuffer<T>.Alignment);
            Assert.True(Unsafe.AreSame(ref buffer.Reference, ref System.Runtime.InteropServices.MemoryMarshal.GetReference(buffer.Span)));
            GC.Collect();  // pinned, or on the large object heap: a collection does not move it off the boundary
        }
    }
}
