using System.Numerics;
using LstmSharp.Layers;

namespace LstmSharp.Kernels;

/// <summary>
/// Runs one layer in one direction over a whole (time-major) sequence, forward and backward. The reference
/// implementation is the oracle; faster ones are chosen by <see cref="LstmKernels"/> and must agree with it.
/// </summary>
internal interface ILstmKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>A short name for test listings and benchmarks.</summary>
    string Name { get; }

    /// <summary>
    /// Fills the cache's Gates, C, M and Hs from its X, H0 and C0. Sequence b is valid for t &lt; lengths[b];
    /// <paramref name="reverse"/> runs t from T-1 down to 0, so each sequence starts at its own end.
    /// </summary>
    void Forward(LstmDirectionParameters<T> p, int steps, int batch, ReadOnlySpan<int> lengths, bool reverse,
        in LstmDirectionCache<T> cache);

    /// <summary>
    /// Backward through the sequence. Adds parameter gradients into the parameters' Grad and dL/dx into
    /// <paramref name="dX"/> (unless it is empty: dL/dx is then not wanted); writes <paramref name="dH0"/> and <paramref name="dC0"/>.
    /// </summary>
    void Backward(LstmDirectionParameters<T> p, int steps, int batch, ReadOnlySpan<int> lengths, bool reverse,
        in LstmDirectionCache<T> cache,
        ReadOnlySpan<T> dHs,  // [T, B, P] upstream gradient of this direction's output (padded steps ignored)
        ReadOnlySpan<T> dHN,  // [B, P] upstream gradient of the final h
        ReadOnlySpan<T> dCN,  // [B, H] upstream gradient of the final c
        Span<T> dX,           // [T, B, I] += dL/dx, or empty
        Span<T> dH0,          // [B, P] out
        Span<T> dC0);         // [B, H] out
}
