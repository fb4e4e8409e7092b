using LstmSharp.Kernels;
using LstmSharp.Layers;
using LstmSharp.Tensors;
using Xunit;

namespace LstmSharp.Tests;

/// <summary>
/// Lstm reuses the buffers of caches that can no longer be differentiated. Reuse never changes a result, and a cache
/// whose buffers were reused is refused rather than silently read.
/// </summary>
public class BufferReuseTests
{
    public static TheoryData<string> KernelNames() => new(LstmKernels.All<double>().Select(k => k.Name));

    private static readonly LstmOptions Options = new()
    {
        InputSize = 3, HiddenSize = 5, ProjSize = 4, NumLayers = 2, Bidirectional = true, Dropout = 0.3, BatchFirst = true,
    };

    /// <summary>Forward and backward on a model that has run other batches (with other paddings) equal a fresh model's.</summary>
    [Theory]
    [MemberData(nameof(KernelNames))]
    public void ReusedBuffersGiveTheResultsOfFreshOnes(string kernel)
    {
        var k = LstmKernels.ByName<double>(kernel);
        var rng = new Rng(12);
        var used = new Lstm<double>(Options, seed: 4) { Kernel = k };
        for (int i = 0; i < 3; i++)
        {
            // Other data, other lengths, in training and evaluation mode: leaves old values in every buffer.
            used.Training = i != 1;
            var xi = TestUtil.Random<double>(rng, 3, 6, 3);
            var ri = used.Forward(xi, lengths: i == 0 ? null : [6, 2 + i, 1]);
            used.Backward(ri.Cache, TestUtil.Random<double>(rng, 3, 6, 8));
        }
        used.Training = true;
        used.ZeroGrad();
        var fresh = new Lstm<double>(Options, seed: 4) { Kernel = k };
        fresh.Random.SetState(used.Random.GetState());  // the same dropout masks

        var x = TestUtil.Random<double>(rng, 3, 6, 3);
        var dOut = TestUtil.Random<double>(rng, 3, 6, 8);
        int[] lengths = [4, 6, 3];
        var a = used.Forward(x, lengths: lengths);
        var b = fresh.Forward(x, lengths: lengths);
        Assert.Equal(b.Output.Data, a.Output.Data);
        Assert.Equal(b.HN.Data, a.HN.Data);
        Assert.Equal(b.CN.Data, a.CN.Data);
        var ga = used.Backward(a.Cache, dOut);
        var gb = fresh.Backward(b.Cache, dOut);
        Assert.Equal(gb.Input.Data, ga.Input.Data);
        Assert.Equal(gb.H0.Data, ga.H0.Data);
        for (int i = 0; i < used.Parameters.Count; i++) Assert.Equal(fresh.Parameters[i].Grad.Data, used.Parameters[i].Grad.Data);
    }

    /// <summary>Buffers of two batch sizes used in turn (training and evaluation) are both kept.</summary>
    [Fact]
    public void TheBuffersOfTwoSizesUsedInTurnAreBothKept()
    {
        var recycler = new BufferRecycler<float>();
        var trainLease = new CacheLease<float>();
        var train = recycler.Rent(1000, trainLease);
        recycler.Retire(trainLease);
        var evalLease = new CacheLease<float>();
        var eval = recycler.Rent(3000, evalLease);
        recycler.Retire(evalLease);
        for (int round = 0; round < 3; round++)
        {
            var t = new CacheLease<float>();
            Assert.Same(train, recycler.Rent(1000, t));
            recycler.Retire(t);
            var e = new CacheLease<float>();
            Assert.Same(eval, recycler.Rent(3000, e));
            recycler.Retire(e);
        }
    }

    /// <summary>Past the floor, free arrays beyond twice the largest retired cache are dropped, least recently used first.</summary>
    [Fact]
    public void FreeArraysAreBounded()
    {
        var recycler = new BufferRecycler<float>(floorBytes: 0);
        var arrays = new Dictionary<int, float[]>();
        foreach (int length in new[] { 100, 150, 120 })
        {
            var lease = new CacheLease<float>();
            arrays[length] = recycler.Rent(length, lease);
            recycler.Retire(lease);  // after 120: 370 free elements > 2 · 150, so the 100 (least recently used) go
        }
        var next = new CacheLease<float>();
        Assert.NotSame(arrays[100], recycler.Rent(100, next));
        Assert.Same(arrays[150], recycler.Rent(150, next));
        Assert.Same(arrays[120], recycler.Rent(120, next));
    }

    /// <summary>
    /// Arrays a call gives back early (an inference layer's cache, a consumed input) count toward what is worth keeping:
    /// with no floor, the next call still finds all of them.
    /// </summary>
    [Fact]
    public void ArraysGivenBackEarlyAreKeptForTheNextCall()
    {
        var recycler = new BufferRecycler<float>(floorBytes: 0);
        var call = new CacheLease<float>();
        var layer = new CacheLease<float>();
        var cache = recycler.Rent(100, layer);
        var output = recycler.Rent(300, call);
        recycler.Release(layer, call);
        var nextLayer = new CacheLease<float>();
        Assert.Same(cache, recycler.Rent(100, nextLayer));  // the next layer reuses it
        recycler.Release(nextLayer, call);
        recycler.Return(output, call);
        recycler.Retire(call);
        var next = new CacheLease<float>();
        Assert.Same(cache, recycler.Rent(100, next));
        Assert.Same(output, recycler.Rent(300, next));
        Assert.Throws<ArgumentException>(() => recycler.Return(new float[5], next));
    }

    [Fact]
    public void ACacheLivesUntilTheForwardAfterItsBackward()
    {
        var lstm = new Lstm<double>(new LstmOptions { InputSize = 2, HiddenSize = 3 }, seed: 1);
        var rng = new Rng(2);
        var x = TestUtil.Random<double>(rng, 4, 2, 2);
        var first = lstm.Forward(x);
        var second = lstm.Forward(x);            // training mode, no Backward yet: both caches stay valid
        lstm.Backward(second.Cache, second.Output);
        lstm.Backward(first.Cache, first.Output);
        lstm.Backward(first.Cache, first.Output); // again, before any Forward: still valid
        var third = lstm.Forward(x);              // reuses first's buffers
        var e = Assert.Throws<InvalidOperationException>(() => lstm.Backward(first.Cache, first.Output));
        Assert.Contains("reused", e.Message);
        lstm.Backward(third.Cache, third.Output);
    }

    [Fact]
    public void AnEvaluationCacheLivesUntilTheNextForward()
    {
        var lstm = new Lstm<double>(new LstmOptions { InputSize = 2, HiddenSize = 3 }, seed: 1) { Training = false };
        var x = TestUtil.Random<double>(new Rng(3), 4, 2, 2);
        var a = lstm.Forward(x);
        lstm.Backward(a.Cache, a.Output);         // allowed before the next Forward
        var expected = a.Output.Data.ToArray();
        var b = lstm.Forward(x);                  // reuses a's buffers; a's output belongs to the caller and is untouched
        Assert.Equal(expected, a.Output.Data);
        Assert.Throws<InvalidOperationException>(() => lstm.Backward(a.Cache, a.Output));
        lstm.Backward(b.Cache, b.Output);
    }

    /// <summary>
    /// Inference gives each layer's buffers back once the next layer no longer needs them: six layers take the memory
    /// of three (one layer's cache, two outputs), in either layout and in both directions, and give the same results
    /// as the reference kernel.
    /// </summary>
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void InferenceOnADeepStackTakesTheMemoryOfThreeLayers(bool batchFirst, bool bidirectional)
    {
        var field = typeof(Lstm<float>).GetField("_recycler", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!;
        var x = TestUtil.Random<float>(new Rng(6), 4, 5, 3);
        long Footprint(int layers)
        {
            var options = new LstmOptions { InputSize = 3, HiddenSize = 8, NumLayers = layers, BatchFirst = batchFirst, Bidirectional = bidirectional };
            var lstm = new Lstm<float>(options, seed: 2);
            var recycler = new BufferRecycler<float>(floorBytes: 0);  // no floor: the call's own footprint must keep its buffers
            field.SetValue(lstm, recycler);
            var reference = new Lstm<float>(options, seed: 2) { Kernel = ReferenceLstmKernel<float>.Instance };
            var result = lstm.Infer(x);
            TestUtil.AssertClose($"{layers} layers", reference.Infer(x).Output, result.Output, 1e-5);
            long first = recycler.AllocatedElements;
            lstm.Infer(x);
            Assert.Equal(first, recycler.AllocatedElements);  // the next call finds every buffer it needs
            return first;
        }
        long three = Footprint(3);
        Assert.True(three > 0);
        Assert.Equal(three, Footprint(6));
    }
}
