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
/// <item>Forward: with the batch in two halves (enough work, two sequences at least; rows never mix in the recurrence,
/// so the halves run on two threads), each step is one product per half, [x | h_prev] · [W_ih | W_hh]^T → z, the
/// gates staying in cache. Otherwise the input projection of all T steps is one GEMM, X [T·B, I] · W_ih^T →
/// Gates [T·B, 4H], and each step adds h · W_hh^T. The weights are packed once per call; one pass per row adds the
/// biases, applies the nonlinearities and updates c and m; a projection is one more
/// GEMM per step with W_hr packed once.</item>
/// <item>Backward: each step computes dL/dz of the gates (fused pass), then dL/dh of the previous step, dz · W_hh (with
/// the batch in two halves, [dL/dx | dL/dh] = dz · [W_ih | W_hh] in one product; packed once per call), and gathers the
/// rows [x | h_prev | 1]. The weight and bias gradients
/// are products over many steps at once, [dW_ih | dW_hh | db]^T += [X | H_prev | 1]^T dZ: with the batch in two halves
/// (rows never mix in the recurrence, so the step loops run the halves on two threads) each half multiplies every
/// chunk of steps (about <see cref="ChunkRows"/> rows) into its own sum while the chunk is in cache, and the two sums are
/// added at the end; with one part, all steps are kept and multiplied once after the loop (with dX += dZ W_ih).
/// dW_hr += dH^T M, with a projection, after the loop.</item>
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

        bool split = SplitRows(batch, steps, g4, outSize);
        int wide = inSize + outSize;                                      // columns of [x | h_prev]
        var pool = ArrayPool<T>.Shared;
        var bias = pool.Rent(g4);                                         // [4H] b_ih + b_hh (added by the gate pass), or zeros
        if (p.BiasIh is not null) FastCellMath<T, TVec, TOps>.Add(p.BiasIh.Value.Data, p.BiasHh!.Value.Data, bias.AsSpan(0, g4));
        else bias.AsSpan(0, g4).Clear();
        T[]? wCat = null, xh = null, allGates = null;
        // Where the gates go: the cache's (an inference cache holds one step's), or, when an inference cache meets the
        // input projection of all steps at once, a buffer of every step's.
        var gates = cache.Gates;                                          // [T, B, 4H], or [B, 4H] (split, inference)
        if (!split && !cache.KeepsSteps) gates = allGates = pool.Rent(rows * g4);
        PackedMatrix<T> wStep;
        if (split)
        {
            // Two halves: each step computes z = [x | h_prev] · [W_ih | W_hh]^T in one product, its gates staying in
            // cache (the input projection of all steps at once would write them out and read them back).
            wCat = pool.Rent(g4 * wide);  // [4H, I + P]
            p.CopyWeightsSideBySide(wCat, wide);
            wStep = t_packedHh = Gemm.Pack<T>(_variant, true, wide, g4, wCat, wide, t_packedHh);  // [I + P, 4H]
            xh = pool.Rent(batch * wide);  // [B, I + P] the current step's rows, per half
        }
        else
        {
            // Gates = X · W_ih^T for all steps at once; each step adds h · W_hh^T.
            Gemm.Multiply<T>(_variant, false, true, rows, g4, inSize, T.One, cache.X, inSize, p.WeightIh.Value.Data, inSize, T.Zero, gates, g4);
            wStep = t_packedHh = Gemm.Pack<T>(_variant, true, outSize, g4, p.WeightHh.Value.Data, outSize, t_packedHh);  // W_hh^T [P, 4H]
        }
        var wHr = p.WeightHr is null ? null
            : t_packedHr = Gemm.Pack<T>(_variant, true, hidden, outSize, p.WeightHr.Value.Data, hidden, t_packedHr);     // W_hr^T [H, P]

        var job = t_job ??= new RowsJob();
        job.Set(steps, batch, lengths, reverse, in cache, wStep, wHr, bias);
        job.SetForward(xh, inSize, outSize, wide, gates, gatesEveryStep: cache.KeepsSteps || !split);
        try
        {
            if (split) Worker.RunPair(job);
            else ForwardRows(job, 0, batch);
        }
        finally
        {
            job.Clear();
            pool.Return(bias);
            if (wCat is not null) pool.Return(wCat);
            if (xh is not null) pool.Return(xh);
            if (allGates is not null) pool.Return(allGates);
        }
    }

    /// <summary>
    /// The recurrence over all steps for sequences [b0, b1): rows of the batch never mix, so the two halves of a batch
    /// run on two threads without meeting until the end.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardRows(RowsJob job, int b0, int b1)
    {
        var cache = job.Cache;
        var wStep = job.WHh;  // [W_ih | W_hh]^T [I + P, 4H] with Xh, else W_hh^T [P, 4H]
        var wHr = job.WHr;
        int steps = job.Steps, batch = job.Batch, n = b1 - b0, outSize = job.OutSize, g4 = wStep.Columns, hidden = g4 / 4;
        int inSize = job.InSize, wide = job.Wide;
        var xh = job.Xh is null ? default : job.Xh.AsSpan(b0 * wide, n * wide);  // [n, I + P]
        ReadOnlySpan<int> lengths = job.Lengths.AsSpan(0, batch);
        ReadOnlySpan<T> bias = job.Bias.AsSpan(0, g4);
        bool allValid = AllValid(lengths.Slice(b0, n), steps);
        for (int s = 0; s < steps; s++)
        {
            int t = job.Reverse ? steps - 1 - s : s;  // the step processed now
            int tp = job.Reverse ? t + 1 : t - 1;     // the step processed before it
            ReadOnlySpan<T> hPrev = s == 0 ? cache.H0.AsSpan(b0 * outSize, n * outSize) : cache.Hs.AsSpan((tp * batch + b0) * outSize, n * outSize);  // [n, P]
            ReadOnlySpan<T> cPrev = s == 0 ? cache.C0.AsSpan(b0 * hidden, n * hidden) : cache.C.AsSpan((cache.CStep(tp) * batch + b0) * hidden, n * hidden);  // [n, H]
            var gt = job.Gates.AsSpan(((job.GatesEveryStep ? t : 0) * batch + b0) * g4, n * g4);  // [n, 4H]
            var ct = cache.C.AsSpan((cache.CStep(t) * batch + b0) * hidden, n * hidden);          // [n, H]
            var mt = cache.M.AsSpan((cache.MStep(t) * batch + b0) * hidden, n * hidden);          // [n, H]
            var ht = cache.Hs.AsSpan((t * batch + b0) * outSize, n * outSize); // [n, P]

            if (job.Xh is not null)
            {
                // z = [x | h_prev] · [W_ih | W_hh]^T
                GatherInputs(cache.X, hPrev, (t * batch + b0) * inSize, n, inSize, outSize, xh, wide);
                MultiplyPacked(n, xh, wStep, T.Zero, gt);
            }
            else
            {
                // z += h_prev · W_hh^T
                MultiplyPacked(n, hPrev, wStep, T.One, gt);
            }
            for (int r = 0; r < n; r++)
            {
                if (allValid || t < lengths[b0 + r])
                {
                    FastCellMath<T, TVec, TOps>.Forward(hidden, bias, gt.Slice(r * g4, g4), cPrev.Slice(r * hidden, hidden),
                        ct.Slice(r * hidden, hidden), mt.Slice(r * hidden, hidden));
                }
                else
                {
                    gt.Slice(r * g4, g4).Clear();  // no gates at a padded step (recycled buffers may hold old values)
                    if (wHr is not null) mt.Slice(r * hidden, hidden).Clear();
                    cPrev.Slice(r * hidden, hidden).CopyTo(ct.Slice(r * hidden, hidden));
                }
            }
            if (wHr is not null)  // h = m · W_hr^T
                MultiplyPacked(n, mt, wHr, T.Zero, ht);
            if (!allValid)
            {
                // A padded step: the state passes through unchanged.
                for (int r = 0; r < n; r++)
                    if (t >= lengths[b0 + r]) hPrev.Slice(r * outSize, outSize).CopyTo(ht.Slice(r * outSize, outSize));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public unsafe void Backward(LstmDirectionParameters<T> p, int steps, int batch, ReadOnlySpan<int> lengths, bool reverse,
        in LstmDirectionCache<T> cache, ReadOnlySpan<T> dHs, ReadOnlySpan<T> dHN, ReadOnlySpan<T> dCN,
        Span<T> dX, Span<T> dH0, Span<T> dC0)
    {
        if (!cache.KeepsSteps) throw new InvalidOperationException("cache: an inference cache keeps one step's activations and cannot be differentiated.");
        int inSize = p.InputSize, hidden = p.HiddenSize, outSize = p.OutputSize, g4 = 4 * hidden, rows = steps * batch;
        bool projected = p.WeightHr is not null;
        bool split = SplitRows(batch, steps, g4, outSize);
        bool wantDX = !dX.IsEmpty && split;  // dL/dx in the step loop, with dL/dh; one part keeps dZ whole and multiplies after
        int wide = inSize + outSize + (p.BiasIh is not null ? 1 : 0);          // columns of [x | h_prev | 1]
        int back = (wantDX ? inSize : 0) + outSize;                            // columns of dz · [W_ih | W_hh] (or dz · W_hh)
        var dHTotal = Scratch<T>.Rent(projected ? rows * outSize : batch * outSize); // [T, B, P] with a projection (for dW_hr), else [B, P]
        var dM = projected ? Scratch<T>.Rent(batch * hidden) : null;                // [B, H]
        // Steps whose dz and [x | h_prev | 1] rows are kept for one weight-gradient product: with two parts, enough for a
        // product of ChunkRows rows per part, made by each part into its own dW while the rows are still in cache; with
        // one, all of them, for one product after the loop (split over the threads).
        int chunkRows = ChunkRows(wide, g4), chunk = split ? Math.Clamp((chunkRows + (batch + 1) / 2 - 1) / ((batch + 1) / 2), 1, steps) : steps;
        var dZ = Scratch<T>.Rent(chunk * batch * g4);                                // [S, B, 4H] dL/dz of the chunk's steps (each part: [S, n, 4H])
        var xh = Scratch<T>.Rent(chunk * batch * wide);                              // [S, B, I + P (+ 1)] [x | h_prev | 1] of the chunk's steps
        var dBack = Scratch<T>.Rent(batch * back);                                   // [B, (I +) P] dz · [W_ih |] W_hh of the current step
        var dWide = Scratch<T>.Rent((split ? 2 : 1) * wide * g4);                    // [parts][I + P (+ 1), 4H] weight and bias gradients
        T[]? wBack = null;                                                     // [4H, I + P] W_ih and W_hh side by side
        var job = t_job ??= new RowsJob();
        try
        {
            ReadOnlySpan<T> wHhOrBoth = p.WeightHh.Value.Data;
            if (wantDX)
            {
                wBack = Scratch<T>.Rent(g4 * back);
                p.CopyWeightsSideBySide(wBack, back);
                wHhOrBoth = wBack.AsSpan(0, g4 * back);
            }
            var wBackPacked = t_packedHh = Gemm.Pack<T>(_variant, false, g4, back, wHhOrBoth, back, t_packedHh);  // [W_ih |] W_hh: [4H, (I +) P]
            var wHr = !projected ? null
                : t_packedHr = Gemm.Pack<T>(_variant, false, outSize, hidden, p.WeightHr!.Value.Data, hidden, t_packedHr);    // W_hr [P, H]
            dHN.CopyTo(dH0);  // dH0 [B, P] carries dL/dh backwards through time, ending as dL/dh0
            dCN.CopyTo(dC0);  // dC0 [B, H] likewise for c
            fixed (T* pdHs = dHs, pdH0 = dH0, pdC0 = dC0, pdX = wantDX ? dX : [])
            {
                // The caller waits for both halves, so the pinned spans outlive the job.
                job.Set(steps, batch, lengths, reverse, in cache, wBackPacked, wHr, bias: null);
                job.SetBackward(pdHs, dHs.Length, pdH0, dH0.Length, pdC0, dC0.Length, pdX, wantDX ? dX.Length : 0,
                    dZ, dHTotal, dM, xh, dBack, dWide, inSize, wide, chunk, split);
                if (split) Worker.RunPair(job);
                else BackwardRows(job, 0, batch, 0);
            }
            // One part: [dW_ih | dW_hh | db]^T = [X | H_prev | 1]^T · dZ over all steps at once (4H columns wide, the
            // faster orientation).
            if (!split)
            {
                Gemm.Multiply<T>(_variant, true, false, wide, g4, rows, T.One, xh, wide, dZ, g4, T.Zero, dWide, g4);
                // dX [T·B, I] += dZ · W_ih
                if (!dX.IsEmpty)
                    Gemm.Multiply<T>(_variant, false, false, rows, inSize, g4, T.One, dZ, g4, p.WeightIh.Value.Data, inSize, T.One, dX, inSize);
            }

            // The two parts' weight and bias gradients [dW_ih | dW_hh | db]^T [I + P (+ 1), 4H], summed into part 0.
            var dW = dWide.AsSpan(0, wide * g4);
            if (split) FastCellMath<T, TVec, TOps>.AddTo(dWide.AsSpan(wide * g4, wide * g4), dW);
            var dWIh = p.WeightIh.Grad.Data;  // [4H, I]
            var dWHh = p.WeightHh.Grad.Data;  // [4H, P]
            AddTransposed(dW, g4, 0, inSize, dWIh);        // dW_ih [4H, I] += rows [0, I) of dW, transposed
            AddTransposed(dW, g4, inSize, outSize, dWHh);  // dW_hh [4H, P] += rows [I, I + P)
            if (p.BiasIh is not null)
            {
                var db = dW.Slice((inSize + outSize) * g4, g4);  // column sums of dZ, into both biases
                FastCellMath<T, TVec, TOps>.AddTo(db, p.BiasIh.Grad.Data);
                FastCellMath<T, TVec, TOps>.AddTo(db, p.BiasHh!.Grad.Data);
            }
            // dW_hr [P, H] += dH^T · M
            if (projected)
                Gemm.Multiply<T>(_variant, true, false, outSize, hidden, rows, T.One, dHTotal.AsSpan(0, rows * outSize), outSize,
                    cache.M, hidden, T.One, p.WeightHr!.Grad.Data, hidden);
        }
        finally
        {
            job.Clear();
            Scratch<T>.Return(dHTotal);
            if (dM is not null) Scratch<T>.Return(dM);
            Scratch<T>.Return(dZ);
            Scratch<T>.Return(xh);
            Scratch<T>.Return(dBack);
            Scratch<T>.Return(dWide);
            if (wBack is not null) Scratch<T>.Return(wBack);
        }
    }

    /// <summary>
    /// grad [N, count] += rows [first, first + count) of dW [*, N], transposed: sixteen columns of dW at a time, so that
    /// each row of dW read gives a whole cache line and the sixteen rows of grad are written in order.
    /// </summary>
    private static void AddTransposed(ReadOnlySpan<T> dW, int n, int first, int count, Span<T> grad)
    {
        for (int r0 = 0; r0 < n; r0 += 16)
        {
            int r1 = Math.Min(n, r0 + 16);
            for (int j = 0; j < count; j++)
            {
                var row = dW.Slice((first + j) * n, n);
                for (int r = r0; r < r1; r++) grad[r * count + j] += row[r];
            }
        }
    }

    /// <summary>
    /// Backward through all steps for sequences [b0, b1), as part <paramref name="part"/> of the batch: dL/dz of every
    /// step, and from it, while it is still in cache, dL/dh of the step before (and dL/dx) and this part's weight and bias
    /// gradients [X | H_prev | 1]^T dZ; dL/dh, dL/dc carried to step 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void BackwardRows(RowsJob job, int b0, int b1, int part)
    {
        var cache = job.Cache;
        var wBack = job.WHh;  // [W_ih |] W_hh: [4H, (I +) P]
        var wHr = job.WHr;    // W_hr [P, H] or null
        int steps = job.Steps, batch = job.Batch, n = b1 - b0, g4 = wBack.Rows, hidden = g4 / 4;
        bool projected = wHr is not null, wantDX = job.DXLength > 0;
        int inSize = job.InSize, wide = job.Wide, back = wBack.Columns, outSize = wantDX ? back - inSize : back;
        ReadOnlySpan<int> lengths = job.Lengths.AsSpan(0, batch);
        bool allValid = AllValid(lengths.Slice(b0, n), steps);
        var dHs = new ReadOnlySpan<T>(job.DHs, job.DHsLength);                              // [T, B, P]
        var dX = new Span<T>(job.DX, job.DXLength);                                        // [T, B, I] or empty
        var dH0 = new Span<T>(job.DH0, job.DH0Length).Slice(b0 * outSize, n * outSize);    // [n, P]
        var dC0 = new Span<T>(job.DC0, job.DC0Length).Slice(b0 * hidden, n * hidden);      // [n, H]
        int chunk = job.Chunk;
        var dZ = job.DZ!.AsSpan(chunk * b0 * g4, chunk * n * g4);                          // [S, n, 4H] (one part: [T, B, 4H])
        var xh = job.Xh!.AsSpan(chunk * b0 * wide, chunk * n * wide);                      // [S, n, I + P (+ 1)]
        bool flushes = job.Split;                                                          // else the caller multiplies after the loop
        var dBack = job.DBack!.AsSpan(b0 * back, n * back);                                // [n, (I +) P]
        var dWide = job.DWide!.AsSpan(part * wide * g4, wide * g4);                        // [I + P (+ 1), 4H]
        for (int s = steps - 1; s >= 0; s--)
        {
            int t = job.Reverse ? steps - 1 - s : s;
            int tp = job.Reverse ? t + 1 : t - 1;
            ReadOnlySpan<T> cPrev = s == 0 ? cache.C0.AsSpan(b0 * hidden, n * hidden) : cache.C.AsSpan((tp * batch + b0) * hidden, n * hidden);  // [n, H]
            ReadOnlySpan<T> hPrev = s == 0 ? cache.H0.AsSpan(b0 * outSize, n * outSize) : cache.Hs.AsSpan((tp * batch + b0) * outSize, n * outSize);  // [n, P]
            var gt = cache.Gates.AsSpan((t * batch + b0) * g4, n * g4);          // [n, 4H]
            var ct = cache.C.AsSpan((t * batch + b0) * hidden, n * hidden);      // [n, H]
            var dHt = job.DHTotal!.AsSpan(((projected ? t * batch : 0) + b0) * outSize, n * outSize); // [n, P]
            int j = flushes ? (steps - 1 - s) % chunk : t;                        // this step's slot in the chunk
            var dGt = dZ.Slice(j * n * g4, n * g4);                                 // [n, 4H]

            // dh = carried dL/dh + this step's output gradient (zero at padded steps, which take no part).
            for (int r = 0; r < n; r++)
            {
                var dh = dHt.Slice(r * outSize, outSize);
                if (allValid || t < lengths[b0 + r])
                    FastCellMath<T, TVec, TOps>.Add(dH0.Slice(r * outSize, outSize), dHs.Slice((t * batch + b0 + r) * outSize, outSize), dh);
                else
                    dh.Clear();
            }
            // h = m · W_hr^T  =>  dm = dh · W_hr
            ReadOnlySpan<T> dMt = dHt;  // [n, H]
            if (wHr is not null)
            {
                var dM = job.DM!.AsSpan(b0 * hidden, n * hidden);
                MultiplyPacked(n, dHt, wHr, T.Zero, dM);
                dMt = dM;
            }
            for (int r = 0; r < n; r++)
            {
                if (allValid || t < lengths[b0 + r])
                {
                    FastCellMath<T, TVec, TOps>.Backward(hidden, gt.Slice(r * g4, g4), ct.Slice(r * hidden, hidden),
                        cPrev.Slice(r * hidden, hidden), dMt.Slice(r * hidden, hidden), dC0.Slice(r * hidden, hidden), dGt.Slice(r * g4, g4));
                }
                else
                {
                    dGt.Slice(r * g4, g4).Clear();  // the carried dL/dc passes through unchanged
                }
            }

            // This step's rows of [x | h_prev | 1] for the weight gradients (padded rows too: their dz is zero). With two
            // parts, a full chunk (or the last step) is multiplied now, while its rows are in cache: dW += [X | H_prev | 1]^T dZ.
            GatherInputs(cache.X, hPrev, (t * batch + b0) * inSize, n, inSize, outSize, xh.Slice(j * n * wide, n * wide), wide);
            if (flushes && (j == chunk - 1 || s == 0))
            {
                int k = (j + 1) * n;
                GemmCore<T, TVec, TOps>.Run(true, false, wide, g4, k, T.One, xh, wide, dZ, g4, [],
                    steps - 1 - s < chunk ? T.Zero : T.One, dWide, g4, 0, g4);
            }

            // z = W_ih x + W_hh h + b  =>  [dx | dh_prev] = dz · [W_ih | W_hh]; dh_prev where the sequence is still running.
            MultiplyPacked(n, dGt, wBack, T.Zero, dBack);
            int hCol = wantDX ? inSize : 0;
            for (int r = 0; r < n; r++)
            {
                var row = dBack.Slice(r * back, back);
                if (wantDX) FastCellMath<T, TVec, TOps>.AddTo(row.Slice(0, inSize), dX.Slice((t * batch + b0 + r) * inSize, inSize));
                if (allValid || t < lengths[b0 + r]) row.Slice(hCol, outSize).CopyTo(dH0.Slice(r * outSize, outSize));
            }
        }
    }

    /// <summary>
    /// C [m, N] = A [m, K] · B + beta · C on this thread, for B [K, N] packed by <see cref="Gemm.Pack{T}"/>: A's rows K
    /// apart, C's N apart (a step's product against the weights).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MultiplyPacked(int m, ReadOnlySpan<T> a, PackedMatrix<T> b, T beta, Span<T> c) =>
        GemmCore<T, TVec, TOps>.Run(false, false, m, b.Columns, b.Rows, T.One, a, b.Rows, [], 0, b.Data, beta, c, b.Columns, 0, b.Columns);

    /// <summary>
    /// The rows [x | h_prev | 1] of <paramref name="n"/> sequences at one step into <paramref name="xh"/> [n, wide]: x from
    /// <paramref name="x"/> at <paramref name="xOffset"/> ([n, I] contiguous), h_prev [n, P], and a 1 when wide = I + P + 1.
    /// </summary>
    private static void GatherInputs(ReadOnlySpan<T> x, ReadOnlySpan<T> hPrev, int xOffset, int n, int inSize, int outSize, Span<T> xh, int wide)
    {
        for (int r = 0; r < n; r++)
        {
            var dst = xh.Slice(r * wide, wide);
            x.Slice(xOffset + r * inSize, inSize).CopyTo(dst);
            hPrev.Slice(r * outSize, outSize).CopyTo(dst.Slice(inSize));
            if (wide > inSize + outSize) dst[inSize + outSize] = T.One;
        }
    }

    /// <summary>
    /// Whether the step loops run the batch as two halves, which <see cref="Worker.RunPair(IPairWork)"/> gives two threads
    /// when it can: at least two sequences and enough work in the recurrence (m·n·k summed over the steps) to outweigh the
    /// hand-over. It does not depend on the threads available, so that backward sums the two halves' weight gradients the
    /// same way on one thread or two: results are the same bit for bit.
    /// </summary>
    private static bool SplitRows(int batch, int steps, int g4, int outSize) =>
        batch >= 2 && (long)batch * steps * g4 * outSize >= RowSplitThreshold;

    /// <summary>
    /// Rows of [X | H_prev | 1] and dZ (steps × a part's sequences) per weight-gradient product of a part: 256, or 128
    /// where a part's sum [I + P (+ 1), 4H] takes at most 256 KiB. A sum that small stays in L2, so adding into it twice
    /// as often costs nothing, and the chunk's buffers are halved; a larger one is read and written once per product
    /// from further away, and a shallower product would be slower (3-7% on the bench's larger training steps).
    /// </summary>
    private static int ChunkRows(int wide, int g4) => (long)wide * g4 * Unsafe.SizeOf<T>() <= 256 * 1024 ? 128 : 256;

    /// <summary>Multiply-adds of the recurrent products in one call above which its batch is split across threads.</summary>
    private const long RowSplitThreshold = 1L << 20;

    [ThreadStatic] private static RowsJob? t_job;

    /// <summary>What the per-step loop needs, for one call; the two halves of the batch run as parts 0 and 1.</summary>
    private sealed unsafe class RowsJob : IPairWork
    {
        public int Steps, Batch;
        public bool Reverse;
        public int[] Lengths = [];
        public LstmDirectionCache<T> Cache;
        public PackedMatrix<T> WHh = null!;
        public PackedMatrix<T>? WHr;
        public T[] Bias = [];
        // Forward only: where the gates go ([T, B, 4H], or one step's [B, 4H] when not every step's are kept).
        public T[] Gates = [];
        public bool GatesEveryStep;
        // Backward only:
        public T* DHs, DH0, DC0, DX;
        public int DHsLength, DH0Length, DC0Length, DXLength;
        public T[]? DZ, DHTotal, DM, Xh, DBack, DWide;
        public int InSize, OutSize, Wide, Chunk;
        public bool Split;
        private bool _backward;

        public void Set(int steps, int batch, ReadOnlySpan<int> lengths, bool reverse, in LstmDirectionCache<T> cache,
            PackedMatrix<T> wHh, PackedMatrix<T>? wHr, T[]? bias)
        {
            (Steps, Batch, Reverse, Cache, WHh, WHr, Bias, _backward) = (steps, batch, reverse, cache, wHh, wHr, bias ?? [], false);
            if (Lengths.Length < batch) Lengths = new int[batch];
            lengths.Slice(0, batch).CopyTo(Lengths);
        }

        /// <summary>Forward's extras: the rows [x | h_prev] of the current step when z is one product per step, else null.</summary>
        public void SetForward(T[]? xh, int inSize, int outSize, int wide, T[] gates, bool gatesEveryStep) =>
            (Xh, InSize, OutSize, Wide, Gates, GatesEveryStep) = (xh, inSize, outSize, wide, gates, gatesEveryStep);

        public void SetBackward(T* dHs, int dHsLength, T* dH0, int dH0Length, T* dC0, int dC0Length, T* dX, int dXLength,
            T[] dZ, T[] dHTotal, T[]? dM, T[] xh, T[] dBack, T[] dWide, int inSize, int wide, int chunk, bool split)
        {
            (Xh, DBack, DWide, InSize, Wide, Chunk, Split) = (xh, dBack, dWide, inSize, wide, chunk, split);
            DHs = dHs; DH0 = dH0; DC0 = dC0; DX = dX;
            (DHsLength, DH0Length, DC0Length, DXLength) = (dHsLength, dH0Length, dC0Length, dXLength);
            (DZ, DHTotal, DM, _backward) = (dZ, dHTotal, dM, true);
        }

        /// <summary>Drops the references, so that a finished call keeps nothing alive.</summary>
        public void Clear()
        {
            (Cache, WHh, WHr, Bias, Gates, DZ, DHTotal, DM, Xh, DBack, DWide) = (default, null!, null, [], [], null, null, null, null, null, null);
            DHs = DH0 = DC0 = DX = null;
        }

        public void Run(int part)
        {
            int cut = (Batch + 1) / 2;
            int b0 = part == 0 ? 0 : cut, b1 = part == 0 ? cut : Batch;
            if (b0 >= b1) return;
            if (_backward) BackwardRows(this, b0, b1, part);
            else ForwardRows(this, b0, b1);
        }
    }

    private static bool AllValid(ReadOnlySpan<int> lengths, int steps)
    {
        foreach (int length in lengths)
            if (length < steps) return false;
        return true;
    }
}
