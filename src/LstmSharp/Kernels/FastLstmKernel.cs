using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using LstmSharp.Layers;

namespace LstmSharp.Kernels;

/// <summary>Creates the fast kernel for a GEMM variant.</summary>
internal static class FastLstmKernel
{
    /// <summary>The fast kernel compiled for <paramref name="variant"/>'s vector width.</summary>
    public static ILstmKernel<T> Create<T>(GemmVariant variant) where T : unmanaged, IFloatingPointIeee754<T> => variant switch
    {
        GemmVariant.Avx512 => new FastLstmKernel<T, Vector512<T>, Simd512<T>>(variant),
        GemmVariant.Avx2 => new FastLstmKernel<T, Vector256<T>, Simd256<T>>(variant),
        _ => new FastLstmKernel<T, Vector128<T>, Simd128<T>>(variant),
    };

    /// <summary>The kernel's name for a variant: fast-avx512, fast-avx2, fast-vector128.</summary>
    public static string NameOf(GemmVariant variant) => "fast-" + variant.ToString().ToLowerInvariant();
}

/// <summary>
/// The fast path: the same results as <see cref="ReferenceLstmKernel{T}"/>, with the work reorganised around GEMMs.
/// <list type="bullet">
/// <item>Forward: the input projection of all T steps is one GEMM, X [T·B, I] · W_ih^T → Gates [T·B, 4H]; each step
/// then adds h · W_hh^T with W_hh packed once per call, and one pass per row adds the biases, applies the
/// nonlinearities and updates c and m; a projection is one more GEMM per step with W_hr packed once.</item>
/// <item>Backward: each step computes dL/dz of the gates (fused pass) and dL/dh of the previous step (GEMM with
/// W_hh); the weight gradients, the bias gradients and dL/dx are then computed over all steps at once:
/// dW_ih += dZ^T X, dW_hh += dZ^T H_prev, dW_hr += dH^T M, dX += dZ W_ih.</item>
/// </list>
/// Padded steps (t ≥ length) are computed along with the rest and then overwritten by the carried state, exactly as
/// the reference kernel leaves them; their gradients are zero rows, so they add nothing to the big GEMMs.
/// </summary>
internal sealed class FastLstmKernel<T, TVec, TOps> : ILstmKernel<T>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TVec : struct
    where TOps : struct, ISimd<TVec, T>
{
    private readonly GemmVariant _variant;

    // Packed weights, reused from call to call on each thread (the storage grows to the largest layer seen).
    [ThreadStatic] private static PackedMatrix<T>? t_packedHh;
    [ThreadStatic] private static PackedMatrix<T>? t_packedHr;

    public FastLstmKernel(GemmVariant variant)
    {
        _variant = variant;
        Name = FastLstmKernel.NameOf(variant);
    }

    public string Name { get; }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Forward(LstmDirectionParameters<T> p, int steps, int batch, ReadOnlySpan<int> lengths, bool reverse,
        in LstmDirectionCache<T> cache)
    {
        int inSize = p.InputSize, hidden = p.HiddenSize, outSize = p.OutputSize, g4 = 4 * hidden, rows = steps * batch;
        bool allValid = AllValid(lengths, steps);
        var gates = cache.Gates;  // [T, B, 4H]
        var cs = cache.C;         // [T, B, H]
        var ms = cache.M;         // [T, B, H] (the same array as Hs without a projection)
        var hs = cache.Hs;        // [T, B, P]

        // Gates = X · W_ih^T for all steps at once; the biases are added in the gate pass.
        Gemm.Multiply<T>(_variant, false, true, rows, g4, inSize, T.One, cache.X, inSize, p.WeightIh.Value.Data, inSize, T.Zero, gates, g4);
        var biasArray = ArrayPool<T>.Shared.Rent(g4);
        var bias = biasArray.AsSpan(0, g4);  // [4H] b_ih + b_hh, or zeros
        if (p.BiasIh is not null) FastCellMath<T, TVec, TOps>.Add(p.BiasIh.Value.Data, p.BiasHh!.Value.Data, bias);
        else bias.Clear();

        var wHh = t_packedHh = Gemm.Pack<T>(_variant, true, outSize, g4, p.WeightHh.Value.Data, outSize, t_packedHh);  // W_hh^T [P, 4H]
        var wHr = p.WeightHr is null ? null
            : t_packedHr = Gemm.Pack<T>(_variant, true, hidden, outSize, p.WeightHr.Value.Data, hidden, t_packedHr);     // W_hr^T [H, P]

        for (int s = 0; s < steps; s++)
        {
            int t = reverse ? steps - 1 - s : s;  // the step processed now
            int tp = reverse ? t + 1 : t - 1;     // the step processed before it
            ReadOnlySpan<T> hPrev = s == 0 ? cache.H0 : hs.AsSpan(tp * batch * outSize, batch * outSize);  // [B, P]
            ReadOnlySpan<T> cPrev = s == 0 ? cache.C0 : cs.AsSpan(tp * batch * hidden, batch * hidden);    // [B, H]
            var gt = gates.AsSpan(t * batch * g4, batch * g4);      // [B, 4H]
            var ct = cs.AsSpan(t * batch * hidden, batch * hidden); // [B, H]
            var mt = ms.AsSpan(t * batch * hidden, batch * hidden); // [B, H]
            var ht = hs.AsSpan(t * batch * outSize, batch * outSize); // [B, P]

            Gemm.Multiply(false, batch, T.One, hPrev, outSize, wHh, T.One, gt, g4);  // += h · W_hh^T
            for (int b = 0; b < batch; b++)
            {
                if (allValid || t < lengths[b])
                {
                    FastCellMath<T, TVec, TOps>.Forward(hidden, bias, gt.Slice(b * g4, g4), cPrev.Slice(b * hidden, hidden),
                        ct.Slice(b * hidden, hidden), mt.Slice(b * hidden, hidden));
                }
                else
                {
                    gt.Slice(b * g4, g4).Clear();  // no gates at a padded step (recycled buffers may hold old values)
                    if (wHr is not null) mt.Slice(b * hidden, hidden).Clear();
                    cPrev.Slice(b * hidden, hidden).CopyTo(ct.Slice(b * hidden, hidden));
                }
            }
            if (wHr is not null) Gemm.Multiply(false, batch, T.One, mt, hidden, wHr, T.Zero, ht, outSize);  // h = m · W_hr^T
            if (!allValid)
            {
                // A padded step: the state passes through unchanged.
                for (int b = 0; b < batch; b++)
                    if (t >= lengths[b]) hPrev.Slice(b * outSize, outSize).CopyTo(ht.Slice(b * outSize, outSize));
            }
        }
        ArrayPool<T>.Shared.Return(biasArray);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Backward(LstmDirectionParameters<T> p, int steps, int batch, ReadOnlySpan<int> lengths, bool reverse,
        in LstmDirectionCache<T> cache, ReadOnlySpan<T> dHs, ReadOnlySpan<T> dHN, ReadOnlySpan<T> dCN,
        Span<T> dX, Span<T> dH0, Span<T> dC0)
    {
        int inSize = p.InputSize, hidden = p.HiddenSize, outSize = p.OutputSize, g4 = 4 * hidden, rows = steps * batch;
        bool allValid = AllValid(lengths, steps);
        bool projected = p.WeightHr is not null;
        var pool = ArrayPool<T>.Shared;
        var dGates = pool.Rent(rows * g4);                                  // [T, B, 4H] dL/dz, zero at padded steps
        var dHTotal = pool.Rent(projected ? rows * outSize : batch * outSize); // [T, B, P] with a projection (for dW_hr), else [B, P]
        var dM = projected ? pool.Rent(batch * hidden) : null;                // [B, H]
        var dHNew = pool.Rent(batch * outSize);                                // [B, P]
        try
        {
            var wHh = t_packedHh = Gemm.Pack<T>(_variant, false, g4, outSize, p.WeightHh.Value.Data, outSize, t_packedHh);  // W_hh [4H, P]
            var wHr = !projected ? null
                : t_packedHr = Gemm.Pack<T>(_variant, false, outSize, hidden, p.WeightHr!.Value.Data, hidden, t_packedHr);    // W_hr [P, H]
            dHN.CopyTo(dH0);  // dH0 [B, P] carries dL/dh backwards through time, ending as dL/dh0
            dCN.CopyTo(dC0);  // dC0 [B, H] likewise for c
            for (int s = steps - 1; s >= 0; s--)
            {
                int t = reverse ? steps - 1 - s : s;
                int tp = reverse ? t + 1 : t - 1;
                ReadOnlySpan<T> cPrev = s == 0 ? cache.C0 : cache.C.AsSpan(tp * batch * hidden, batch * hidden);  // [B, H]
                var gt = cache.Gates.AsSpan(t * batch * g4, batch * g4);          // [B, 4H]
                var ct = cache.C.AsSpan(t * batch * hidden, batch * hidden);      // [B, H]
                var dGt = dGates.AsSpan(t * batch * g4, batch * g4);              // [B, 4H]
                var dHt = dHTotal.AsSpan(projected ? t * batch * outSize : 0, batch * outSize); // [B, P]

                // dh = carried dL/dh + this step's output gradient (zero at padded steps, which take no part).
                for (int b = 0; b < batch; b++)
                {
                    var dh = dHt.Slice(b * outSize, outSize);
                    if (allValid || t < lengths[b])
                        FastCellMath<T, TVec, TOps>.Add(dH0.Slice(b * outSize, outSize), dHs.Slice((t * batch + b) * outSize, outSize), dh);
                    else
                        dh.Clear();
                }
                // h = m · W_hr^T  =>  dm = dh · W_hr
                ReadOnlySpan<T> dMt = dHt;  // [B, H]
                if (wHr is not null)
                {
                    Gemm.Multiply(false, batch, T.One, dHt, outSize, wHr, T.Zero, dM, hidden);
                    dMt = dM.AsSpan(0, batch * hidden);
                }
                for (int b = 0; b < batch; b++)
                {
                    if (allValid || t < lengths[b])
                    {
                        FastCellMath<T, TVec, TOps>.Backward(hidden, gt.Slice(b * g4, g4), ct.Slice(b * hidden, hidden),
                            cPrev.Slice(b * hidden, hidden), dMt.Slice(b * hidden, hidden), dC0.Slice(b * hidden, hidden), dGt.Slice(b * g4, g4));
                    }
                    else
                    {
                        dGt.Slice(b * g4, g4).Clear();  // the carried dL/dc passes through unchanged
                    }
                }
                // z = ... + W_hh h  =>  dL/dh of the previous step = dz · W_hh, where the sequence is still running.
                if (allValid)
                {
                    Gemm.Multiply(false, batch, T.One, dGt, g4, wHh, T.Zero, dH0, outSize);
                }
                else
                {
                    Gemm.Multiply(false, batch, T.One, dGt, g4, wHh, T.Zero, dHNew, outSize);
                    for (int b = 0; b < batch; b++)
                        if (t < lengths[b]) dHNew.AsSpan(b * outSize, outSize).CopyTo(dH0.Slice(b * outSize, outSize));
                }
            }

            var dZ = dGates.AsSpan(0, rows * g4);  // [T·B, 4H]
            // dW_ih [4H, I] += dZ^T · X
            Gemm.Multiply<T>(_variant, true, false, g4, inSize, rows, T.One, dZ, g4, cache.X, inSize, T.One, p.WeightIh.Grad.Data, inSize);
            // dW_hh [4H, P] += Σ_t dZ_t^T · h_prev(t): h_prev is H0 at the first step processed, else Hs of the step before.
            var dWHh = p.WeightHh.Grad.Data;
            int firstT = reverse ? steps - 1 : 0;
            Gemm.Multiply<T>(_variant, true, false, g4, outSize, batch, T.One, dZ.Slice(firstT * batch * g4), g4, cache.H0, outSize, T.One, dWHh, outSize);
            if (steps > 1)
            {
                int zFrom = reverse ? 0 : 1, hFrom = reverse ? 1 : 0;  // steps of dZ paired with steps of Hs
                Gemm.Multiply<T>(_variant, true, false, g4, outSize, (steps - 1) * batch, T.One, dZ.Slice(zFrom * batch * g4), g4,
                    cache.Hs.AsSpan(hFrom * batch * outSize), outSize, T.One, dWHh, outSize);
            }
            if (p.BiasIh is not null)
            {
                var dBias = p.BiasIh.Grad.Data;  // [4H]: column sums of dZ, into both biases
                var sum = pool.Rent(g4);         // [4H]
                sum.AsSpan(0, g4).Clear();
                for (int r = 0; r < rows; r++) FastCellMath<T, TVec, TOps>.AddTo(dZ.Slice(r * g4, g4), sum);
                FastCellMath<T, TVec, TOps>.AddTo(sum.AsSpan(0, g4), dBias);
                FastCellMath<T, TVec, TOps>.AddTo(sum.AsSpan(0, g4), p.BiasHh!.Grad.Data);
                pool.Return(sum);
            }
            // dW_hr [P, H] += dH^T · M
            if (projected)
                Gemm.Multiply<T>(_variant, true, false, outSize, hidden, rows, T.One, dHTotal.AsSpan(0, rows * outSize), outSize,
                    cache.M, hidden, T.One, p.WeightHr!.Grad.Data, hidden);
            // dX [T·B, I] += dZ · W_ih
            Gemm.Multiply<T>(_variant, false, false, rows, inSize, g4, T.One, dZ, g4, p.WeightIh.Value.Data, inSize, T.One, dX, inSize);
        }
        finally
        {
            pool.Return(dGates);
            pool.Return(dHTotal);
            if (dM is not null) pool.Return(dM);
            pool.Return(dHNew);
        }
    }

    private static bool AllValid(ReadOnlySpan<int> lengths, int steps)
    {
        foreach (int length in lengths)
            if (length < steps) return false;
        return true;
    }
}
