using System.Numerics;
using LstmSharp.Layers;

namespace LstmSharp.Kernels;

/// <summary>The simple, exact implementation: one <see cref="ReferenceCell{T}"/> step per sequence per time step.</summary>
internal sealed class ReferenceLstmKernel<T> : ILstmKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public static readonly ReferenceLstmKernel<T> Instance = new();

    public string Name => "reference";

    public void Forward(LstmDirectionParameters<T> p, int steps, int batch, ReadOnlySpan<int> lengths, bool reverse,
        in LstmDirectionCache<T> cache)
    {
        int inSize = p.InputSize, hidden = p.HiddenSize, outSize = p.OutputSize;
        for (int s = 0; s < steps; s++)
        {
            int t = reverse ? steps - 1 - s : s;     // the step processed now
            int tp = reverse ? t + 1 : t - 1;        // the step processed before it
            for (int b = 0; b < batch; b++)
            {
                ReadOnlySpan<T> hPrev = s == 0 ? cache.H0.AsSpan(b * outSize, outSize) : cache.Hs.AsSpan((tp * batch + b) * outSize, outSize);
                ReadOnlySpan<T> cPrev = s == 0 ? cache.C0.AsSpan(b * hidden, hidden) : cache.C.AsSpan((cache.CStep(tp) * batch + b) * hidden, hidden);
                int row = t * batch + b;
                var h = cache.Hs.AsSpan(row * outSize, outSize);
                var c = cache.C.AsSpan((cache.CStep(t) * batch + b) * hidden, hidden);
                if (t < lengths[b])
                {
                    ReferenceCell<T>.Forward(p, cache.X.AsSpan(row * inSize, inSize), hPrev, cPrev,
                        cache.Gates.AsSpan((cache.GatesStep(t) * batch + b) * 4 * hidden, 4 * hidden), c,
                        cache.M.AsSpan((cache.MStep(t) * batch + b) * hidden, hidden), h);
                }
                else
                {
                    // A padded step: the state passes through unchanged.
                    hPrev.CopyTo(h);
                    cPrev.CopyTo(c);
                }
            }
        }
    }

    public void Backward(LstmDirectionParameters<T> p, int steps, int batch, ReadOnlySpan<int> lengths, bool reverse,
        in LstmDirectionCache<T> cache, ReadOnlySpan<T> dHs, ReadOnlySpan<T> dHN, ReadOnlySpan<T> dCN,
        Span<T> dX, Span<T> dH0, Span<T> dC0)
    {
        if (!cache.KeepsSteps) throw new InvalidOperationException("cache: an inference cache keeps one step's activations and cannot be differentiated.");
        int inSize = p.InputSize, hidden = p.HiddenSize, outSize = p.OutputSize;
        dHN.CopyTo(dH0);  // dH0 [B, P] carries dL/dh backwards through time, ending as dL/dh0
        dCN.CopyTo(dC0);  // dC0 [B, H] likewise for c
        var dhTotal = new T[outSize];      // [P]
        var dGates = new T[4 * hidden];    // [4H]
        var dm = new T[hidden];            // [H]
        var dxDiscarded = dX.IsEmpty ? new T[inSize] : null;  // [I] where dL/dx is not wanted
        for (int s = steps - 1; s >= 0; s--)
        {
            int t = reverse ? steps - 1 - s : s;
            int tp = reverse ? t + 1 : t - 1;
            for (int b = 0; b < batch; b++)
            {
                if (t >= lengths[b]) continue; // padded: the gradient passes through unchanged
                int row = t * batch + b;
                var dh = dH0.Slice(b * outSize, outSize);
                var dc = dC0.Slice(b * hidden, hidden);
                for (int k = 0; k < outSize; k++) dhTotal[k] = dh[k] + dHs[row * outSize + k];
                ReadOnlySpan<T> hPrev = s == 0 ? cache.H0.AsSpan(b * outSize, outSize) : cache.Hs.AsSpan((tp * batch + b) * outSize, outSize);
                ReadOnlySpan<T> cPrev = s == 0 ? cache.C0.AsSpan(b * hidden, hidden) : cache.C.AsSpan((tp * batch + b) * hidden, hidden);
                ReferenceCell<T>.Backward(p, cache.X.AsSpan(row * inSize, inSize), hPrev, cPrev,
                    cache.Gates.AsSpan(row * 4 * hidden, 4 * hidden), cache.C.AsSpan(row * hidden, hidden),
                    cache.M.AsSpan(row * hidden, hidden), dhTotal, dc,
                    dxDiscarded is not null ? dxDiscarded : dX.Slice(row * inSize, inSize), dh, dc, dGates, dm);
            }
        }
    }
}
