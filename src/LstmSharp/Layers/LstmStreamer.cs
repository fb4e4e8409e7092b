using System.Numerics;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using LstmSharp.Kernels;
using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>
/// Streaming inference: feeds one sequence to a (unidirectional) <see cref="Lstm{T}"/> one step at a time, carrying
/// the state of every layer between calls, with no allocation per step. Each step gives the h of
/// <see cref="Lstm{T}.Forward"/> over the sequence so far (evaluation mode: no dropout), within rounding: a step sums
/// its products in another order. The weights are packed
/// when the streamer is made; call <see cref="Refresh"/> after changing them.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class LstmStreamer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Lstm<T> _lstm;
    private readonly LayerWeights[] _layers;
    private readonly T[][] _h;      // [L][P]
    private readonly T[][] _c;      // [L][H]
    private readonly T[] _gates;    // [4H]
    private readonly T[] _scratch;  // [H]
    private readonly T[] _xh;       // [max over layers of I_l + P] the inputs of a step's product, [x | h]
    private readonly GemmVariant _variant; // the vector width of the step's loops
    private readonly int _strip;    // columns of a strip: four vectors of that width
    private readonly bool _fused;   // whether a strip holds the four gates of one vector of hidden units (see Refresh)
    private bool _reverse;          // whether this step reads the weight strips last to first (see Multiply)

    /// <summary>A streamer over <paramref name="lstm"/>, starting from zero state.</summary>
    public LstmStreamer(Lstm<T> lstm) : this(lstm, Gemm.Best) { }

    /// <summary>A streamer whose loops use the vectors of <paramref name="variant"/> (tests run every variant the CPU has).</summary>
    internal LstmStreamer(Lstm<T> lstm, GemmVariant variant)
    {
        ArgumentNullException.ThrowIfNull(lstm);
        if (!Gemm.Variants.Contains(variant))
            throw new ArgumentException($"variant: this CPU runs {string.Join(", ", Gemm.Variants)}, not {variant}.", nameof(variant));
        _variant = variant;
        _strip = 4 * variant switch { GemmVariant.Avx512 => Vector512<T>.Count, GemmVariant.Avx2 => Vector256<T>.Count, _ => Vector128<T>.Count };
        if (lstm.Options.Bidirectional)
            throw new ArgumentException("lstm: a bidirectional LSTM reads each sequence backwards from its end and cannot stream step by step; expected Bidirectional = false.", nameof(lstm));
        _lstm = lstm;
        var o = lstm.Options;
        int h = o.HiddenSize, p = o.OutputHiddenSize;
        _layers = new LayerWeights[o.NumLayers];
        for (int l = 0; l < o.NumLayers; l++)
            _layers[l] = new LayerWeights(new AlignedBuffer<T>((o.LayerInputSize(l) + p) * 4 * h), new AlignedBuffer<T>(4 * h),
                o.ProjSize > 0 ? new AlignedBuffer<T>(h * p) : null);
        _h = Enumerable.Range(0, o.NumLayers).Select(_ => new T[p]).ToArray();
        _c = Enumerable.Range(0, o.NumLayers).Select(_ => new T[h]).ToArray();
        _gates = new T[4 * h];
        _scratch = new T[h];
        _xh = new T[Enumerable.Range(0, o.NumLayers).Max(l => o.LayerInputSize(l)) + p];
        _fused = h % (_strip / 4) == 0;
        Refresh();
    }

    /// <summary>I, the values each step reads.</summary>
    public int InputSize => _lstm.Options.InputSize;

    /// <summary>P (or H), the size of the output h.</summary>
    public int OutputSize => _lstm.Options.OutputHiddenSize;

    /// <summary>The top layer's h after the last step, [P].</summary>
    public ReadOnlySpan<T> Output => _h[^1];

    /// <summary>
    /// Re-packs the weights from the LSTM (after training or loading). When a vector's width divides H, the gate rows are
    /// first interleaved a vector of hidden units at a time, [i | f | g | o] of units [0, w), then of [w, 2w), ..., so
    /// that each strip of four vectors yields the four gates of w units and the cell update follows the strip at once,
    /// from its sums (no gate buffer written and read back; its math can overlap the next strip's loads). The bias is
    /// interleaved the same way.
    /// </summary>
    public void Refresh()
    {
        var o = _lstm.Options;
        int hidden = o.HiddenSize, fourH = 4 * hidden;
        for (int l = 0; l < _layers.Length; l++)
        {
            var p = _lstm.Layer(l);
            var w = _layers[l];
            int inSize = o.LayerInputSize(l), width = inSize + o.OutputHiddenSize;
            var both = new T[fourH * width];                                           // [4H, I + P] = [W_ih | W_hh]
            p.CopyWeightsSideBySide(both, width);
            var bias = new T[fourH];                                                   // [4H] b_ih + b_hh
            if (p.BiasIh is not null) TensorPrimitives.Add(p.BiasIh.Value.Data, p.BiasHh!.Value.Data, bias);
            if (_fused) (both, bias) = (Interleave(both, hidden, width, _strip / 4), Interleave(bias, hidden, 1, _strip / 4));
            Pack(both, fourH, width, _strip, w.InputHiddenT.Span);                    // → [W_ih | W_hh]^T [I + P, 4H] in strips
            bias.CopyTo(w.Bias.Span);
            if (p.WeightHr is not null) Pack(p.WeightHr.Value.Data, o.OutputHiddenSize, o.HiddenSize, _strip, w.ProjT!.Span); // [P, H] → W_hr^T [H, P] in strips
        }
    }

    /// <summary>Rows [4H, width] in gate order i, f, g, o → the four gates' rows of units [0, w), then [w, 2w), ... (w, a vector's width).</summary>
    private static T[] Interleave(T[] rows, int hidden, int width, int w)
    {
        var result = new T[rows.Length];
        for (int u = 0; u < hidden; u += w)
            for (int gate = 0; gate < 4; gate++)
                rows.AsSpan((gate * hidden + u) * width, w * width).CopyTo(result.AsSpan((4 * u + gate * w) * width));
        return result;
    }

    /// <summary>Sets every layer's state to zero, to start a new sequence.</summary>
    public void Reset()
    {
        foreach (var h in _h) Array.Clear(h);
        foreach (var c in _c) Array.Clear(c);
    }

    /// <summary>Sets the state from <paramref name="h0"/> [L, P] and <paramref name="c0"/> [L, H] (e.g. an unbatched Forward's HN, CN).</summary>
    public void SetState(Tensor<T> h0, Tensor<T> c0)
    {
        ArgumentNullException.ThrowIfNull(h0);
        ArgumentNullException.ThrowIfNull(c0);
        int l = _layers.Length, p = OutputSize, hidden = _lstm.Options.HiddenSize;
        if (!h0.HasShape(l, p)) throw new ArgumentException($"h0: expected shape [L, P] = [{l}, {p}], got {h0.ShapeString}.", nameof(h0));
        if (!c0.HasShape(l, hidden)) throw new ArgumentException($"c0: expected shape [L, H] = [{l}, {hidden}], got {c0.ShapeString}.", nameof(c0));
        for (int k = 0; k < l; k++)
        {
            h0.Data.AsSpan(k * p, p).CopyTo(_h[k]);
            c0.Data.AsSpan(k * hidden, hidden).CopyTo(_c[k]);
        }
    }

    /// <summary>The state: h [L, P] and c [L, H] (copies).</summary>
    public (Tensor<T> H, Tensor<T> C) GetState() =>
        (new Tensor<T>(_h.SelectMany(x => x).ToArray(), _h.Length, OutputSize), new Tensor<T>(_c.SelectMany(x => x).ToArray(), _c.Length, _lstm.Options.HiddenSize));

    /// <summary>Runs one step on <paramref name="input"/> [I] and returns the top layer's new h [P], valid until the next step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public ReadOnlySpan<T> Step(ReadOnlySpan<T> input)
    {
        if (input.Length != InputSize)
            throw new ArgumentException($"input: expected I = {InputSize} values, got {input.Length}.", nameof(input));
        int hidden = _lstm.Options.HiddenSize, p = OutputSize;
        ReadOnlySpan<T> x = input;
        var gates = _gates.AsSpan();
        for (int l = 0; l < _layers.Length; l++)
        {
            var w = _layers[l];
            var h = _h[l].AsSpan();
            var c = _c[l].AsSpan();
            // gates = [x | h] [W_ih | W_hh]ᵀ (one product); then, with the bias, i, f, o through σ and g through tanh,
            // c' = f * c + i * g (in place) and m = o * tanh(c'): strip by strip from the sums (fused), or by the fast
            // kernel's gate pass over the whole gate buffer.
            var xh = _xh.AsSpan(0, x.Length + p);
            x.CopyTo(xh);
            h.CopyTo(xh.Slice(x.Length));
            var m = w.ProjT is null ? h : _scratch.AsSpan();
            if (_fused) MultiplyCell(_variant, xh, w.InputHiddenT.Span, w.Bias.Span, _reverse, c, m);
            else
            {
                Multiply(_variant, xh, w.InputHiddenT.Span, _reverse, gates);
                CellForward(_variant, hidden, w.Bias.Span, gates, c, m);
            }
            if (w.ProjT is not null) Multiply(_variant, m, w.ProjT.Span, _reverse, h[..p]); // h' = W_hr m
            x = h;
        }
        _reverse = !_reverse;
        return _h[^1];
    }

    private static void CellForward(GemmVariant variant, int hidden, ReadOnlySpan<T> bias, Span<T> gates, Span<T> c, Span<T> m)
    {
        switch (variant)
        {
            case GemmVariant.Avx512: FastCellMath<T, Vector512<T>, Simd512<T>>.Forward(hidden, bias, gates, c, c, m); break;
            case GemmVariant.Avx2: FastCellMath<T, Vector256<T>, Simd256<T>>.Forward(hidden, bias, gates, c, c, m); break;
            default: FastCellMath<T, Vector128<T>, Simd128<T>>.Forward(hidden, bias, gates, c, c, m); break;
        }
    }

    /// <summary>y = v M, M [len(v), len(y)] packed by <see cref="Pack"/>, its strips in reverse order when <paramref name="reverse"/>.</summary>
    private static void Multiply(GemmVariant variant, ReadOnlySpan<T> v, ReadOnlySpan<T> m, bool reverse, Span<T> y)
    {
        switch (variant)
        {
            case GemmVariant.Avx512: Multiply<Vector512<T>, Simd512<T>>(v, m, reverse, y); break;
            case GemmVariant.Avx2: Multiply<Vector256<T>, Simd256<T>>(v, m, reverse, y); break;
            default: Multiply<Vector128<T>, Simd128<T>>(v, m, reverse, y); break;
        }
    }

    /// <summary>
    /// M = W^T [K, N] from W [N, K], in strips of <paramref name="strip"/> columns (four of the vectors
    /// <see cref="Multiply(GemmVariant, ReadOnlySpan{T}, ReadOnlySpan{T}, bool, Span{T})"/> uses), each strip [K][strip]
    /// contiguous (so that a step reads the weights as one sequential stream), then the last N mod strip columns as
    /// [K][N mod strip].
    /// </summary>
    private static void Pack(ReadOnlySpan<T> w, int n, int k, int strip, Span<T> packed)
    {
        int strips = n / strip, tail = n - strips * strip;
        for (int c = 0; c < n; c++)
        {
            int s = c / strip, width = s < strips ? strip : tail, col = c - s * strip;
            var block = packed.Slice(s * k * strip);  // [K][width]
            for (int r = 0; r < k; r++) block[r * width + col] = w[c * k + r];
        }
    }

    /// <summary>
    /// y = Σ_k v[k] M[k, :] for M packed by <see cref="Pack"/>: a strip of four vectors of y at a time by
    /// <see cref="StripSums"/>, then the tail one vector at a time, then scalars. A step's weights (330 KB at I = 32, H = 128) stream from L2,
    /// and the step is bound by that stream; every other step reads the strips last to first, so that with one layer, no
    /// projection and no tail columns it starts on the strip the step before ended with, which is still in L1 (with
    /// more, nothing is lost; the order of each column's sum is the same either way, so the results are too).
    /// Compiled fully optimised at once, as a step is over in microseconds.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Multiply<TVec, TSimd>(ReadOnlySpan<T> v, ReadOnlySpan<T> m, bool reverse, Span<T> y)
        where TVec : struct where TSimd : ISimd<TVec, T>
    {
        int n = y.Length, w = TSimd.Count, kn = v.Length, strip = 4 * w, j;
        ref T my = ref MemoryMarshal.GetReference(y);
        ref T mv = ref MemoryMarshal.GetReference(v);
        int strips = n / strip;
        for (int q = 0; q < strips; q++)
        {
            j = (reverse ? strips - 1 - q : q) * strip;
            StripSums<TVec, TSimd>(ref mv, kn, ref Unsafe.Add(ref MemoryMarshal.GetReference(m), j * kn), out var y0, out var y1, out var y2, out var y3);
            TSimd.Store(y0, ref Unsafe.Add(ref my, j));
            TSimd.Store(y1, ref Unsafe.Add(ref my, j + w));
            TSimd.Store(y2, ref Unsafe.Add(ref my, j + 2 * w));
            TSimd.Store(y3, ref Unsafe.Add(ref my, j + 3 * w));
        }
        // The tail [K][tw], tw = n mod 4w, row-major.
        j = strips * strip;
        int t0 = j, tw = n - t0;
        ref T tail = ref Unsafe.Add(ref MemoryMarshal.GetReference(m), t0 * kn);
        for (; j + w <= n; j += w)
        {
            TVec acc = TSimd.Splat(T.Zero);
            for (int k = 0; k < kn; k++) acc = TSimd.MultiplyAdd(TSimd.Splat(Unsafe.Add(ref mv, k)), TSimd.Load(ref Unsafe.Add(ref tail, k * tw + j - t0)), acc);
            TSimd.Store(acc, ref Unsafe.Add(ref my, j));
        }
        for (; j < n; j++)
        {
            T sum = T.Zero;
            for (int k = 0; k < kn; k++) sum += Unsafe.Add(ref mv, k) * Unsafe.Add(ref tail, k * tw + j - t0);
            Unsafe.Add(ref my, j) = sum;
        }
    }

    /// <summary>
    /// The fused step for weights and bias packed interleaved (see <see cref="Refresh"/>): per strip, the four gates of
    /// w hidden units from <see cref="StripSums"/>, then c ← f * c + i * g and m = o * tanh(c) for those units.
    /// </summary>
    private static void MultiplyCell(GemmVariant variant, ReadOnlySpan<T> v, ReadOnlySpan<T> m, ReadOnlySpan<T> bias, bool reverse, Span<T> c, Span<T> h)
    {
        switch (variant)
        {
            case GemmVariant.Avx512: MultiplyCell<Vector512<T>, Simd512<T>>(v, m, bias, reverse, c, h); break;
            case GemmVariant.Avx2: MultiplyCell<Vector256<T>, Simd256<T>>(v, m, bias, reverse, c, h); break;
            default: MultiplyCell<Vector128<T>, Simd128<T>>(v, m, bias, reverse, c, h); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MultiplyCell<TVec, TSimd>(ReadOnlySpan<T> v, ReadOnlySpan<T> m, ReadOnlySpan<T> bias, bool reverse, Span<T> c, Span<T> h)
        where TVec : struct where TSimd : struct, ISimd<TVec, T>
    {
        int hidden = c.Length, w = TSimd.Count, kn = v.Length, units = hidden / w;
        ref T mv = ref MemoryMarshal.GetReference(v);
        ref T b = ref MemoryMarshal.GetReference(bias.Slice(0, 4 * hidden));   // [H / w][4][w]
        ref T cr = ref MemoryMarshal.GetReference(c);
        ref T hr = ref MemoryMarshal.GetReference(h.Slice(0, hidden));
        for (int q = 0; q < units; q++)
        {
            int u = reverse ? units - 1 - q : q, j = u * w;  // units [j, j + w): strip u, gates i, f, g, o
            StripSums<TVec, TSimd>(ref mv, kn, ref Unsafe.Add(ref MemoryMarshal.GetReference(m), 4 * j * kn), out var zi, out var zf, out var zg, out var zo);
            ref T bu = ref Unsafe.Add(ref b, 4 * j);
            TSimd.Store(FastCellMath<T, TVec, TSimd>.Forward(TSimd.Add(zi, TSimd.Load(ref bu)), TSimd.Add(zf, TSimd.Load(ref Unsafe.Add(ref bu, w))),
                TSimd.Add(zg, TSimd.Load(ref Unsafe.Add(ref bu, 2 * w))), TSimd.Add(zo, TSimd.Load(ref Unsafe.Add(ref bu, 3 * w))), ref Unsafe.Add(ref cr, j)),
                ref Unsafe.Add(ref hr, j));
        }
    }

    /// <summary>
    /// The four vectors Σ_k v[k] S[k, :] of one strip S [K][4w], held in registers over all k: even and odd k in two
    /// sets of accumulators (eight independent FMA chains hide the FMA latency), added at the end.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StripSums<TVec, TSimd>(ref T mv, int kn, ref T row, out TVec s0, out TVec s1, out TVec s2, out TVec s3)
        where TVec : struct where TSimd : ISimd<TVec, T>
    {
        int w = TSimd.Count, strip = 4 * w, k = 0;
        TVec zero = TSimd.Splat(T.Zero), y0 = zero, y1 = zero, y2 = zero, y3 = zero, z0 = zero, z1 = zero, z2 = zero, z3 = zero;
        for (; k + 1 < kn; k += 2)
        {
            var s = TSimd.Splat(Unsafe.Add(ref mv, k));
            var u = TSimd.Splat(Unsafe.Add(ref mv, k + 1));
            ref T next = ref Unsafe.Add(ref row, strip);
            y0 = TSimd.MultiplyAdd(s, TSimd.Load(ref row), y0);
            y1 = TSimd.MultiplyAdd(s, TSimd.Load(ref Unsafe.Add(ref row, w)), y1);
            y2 = TSimd.MultiplyAdd(s, TSimd.Load(ref Unsafe.Add(ref row, 2 * w)), y2);
            y3 = TSimd.MultiplyAdd(s, TSimd.Load(ref Unsafe.Add(ref row, 3 * w)), y3);
            z0 = TSimd.MultiplyAdd(u, TSimd.Load(ref next), z0);
            z1 = TSimd.MultiplyAdd(u, TSimd.Load(ref Unsafe.Add(ref next, w)), z1);
            z2 = TSimd.MultiplyAdd(u, TSimd.Load(ref Unsafe.Add(ref next, 2 * w)), z2);
            z3 = TSimd.MultiplyAdd(u, TSimd.Load(ref Unsafe.Add(ref next, 3 * w)), z3);
            row = ref Unsafe.Add(ref row, 2 * strip);
        }
        if (k < kn)
        {
            var s = TSimd.Splat(Unsafe.Add(ref mv, k));
            y0 = TSimd.MultiplyAdd(s, TSimd.Load(ref row), y0);
            y1 = TSimd.MultiplyAdd(s, TSimd.Load(ref Unsafe.Add(ref row, w)), y1);
            y2 = TSimd.MultiplyAdd(s, TSimd.Load(ref Unsafe.Add(ref row, 2 * w)), y2);
            y3 = TSimd.MultiplyAdd(s, TSimd.Load(ref Unsafe.Add(ref row, 3 * w)), y3);
        }
        s0 = TSimd.Add(y0, z0);
        s1 = TSimd.Add(y1, z1);
        s2 = TSimd.Add(y2, z2);
        s3 = TSimd.Add(y3, z3);
    }

    /// <summary>A layer's packed weights, [I + P, 4H], [4H], [H, P], in strips from 64-byte boundaries (so that no vector load of them is split across two cache lines).</summary>
    private sealed record LayerWeights(AlignedBuffer<T> InputHiddenT, AlignedBuffer<T> Bias, AlignedBuffer<T>? ProjT);
}
