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
/// the state of every layer between calls, with no allocation per step. Each step gives the same h as
/// <see cref="Lstm{T}.Forward"/> over the sequence so far (evaluation mode: no dropout). The weights are packed
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

    /// <summary>A streamer over <paramref name="lstm"/>, starting from zero state.</summary>
    public LstmStreamer(Lstm<T> lstm)
    {
        ArgumentNullException.ThrowIfNull(lstm);
        if (lstm.Options.Bidirectional)
            throw new ArgumentException("lstm: a bidirectional LSTM reads each sequence backwards from its end and cannot stream step by step; expected Bidirectional = false.", nameof(lstm));
        _lstm = lstm;
        var o = lstm.Options;
        int h = o.HiddenSize, p = o.OutputHiddenSize;
        _layers = new LayerWeights[o.NumLayers];
        for (int l = 0; l < o.NumLayers; l++)
            _layers[l] = new LayerWeights(new T[o.LayerInputSize(l) * 4 * h], new T[p * 4 * h], new T[4 * h], o.ProjSize > 0 ? new T[h * p] : null);
        _h = Enumerable.Range(0, o.NumLayers).Select(_ => new T[p]).ToArray();
        _c = Enumerable.Range(0, o.NumLayers).Select(_ => new T[h]).ToArray();
        _gates = new T[4 * h];
        _scratch = new T[h];
        Refresh();
    }

    /// <summary>I, the values each step reads.</summary>
    public int InputSize => _lstm.Options.InputSize;

    /// <summary>P (or H), the size of the output h.</summary>
    public int OutputSize => _lstm.Options.OutputHiddenSize;

    /// <summary>The top layer's h after the last step, [P].</summary>
    public ReadOnlySpan<T> Output => _h[^1];

    /// <summary>Re-packs the weights from the LSTM (after training or loading).</summary>
    public void Refresh()
    {
        var o = _lstm.Options;
        int fourH = 4 * o.HiddenSize;
        for (int l = 0; l < _layers.Length; l++)
        {
            var p = _lstm.Layer(l);
            var w = _layers[l];
            Transpose(p.WeightIh.Value.Data, fourH, o.LayerInputSize(l), w.InputT);          // [4H, I] → [I, 4H]
            Transpose(p.WeightHh.Value.Data, fourH, o.OutputHiddenSize, w.HiddenT);          // [4H, P] → [P, 4H]
            w.Bias.AsSpan().Clear();
            if (p.BiasIh is not null) TensorPrimitives.Add(p.BiasIh.Value.Data, p.BiasHh!.Value.Data, w.Bias);
            if (p.WeightHr is not null) Transpose(p.WeightHr.Value.Data, o.OutputHiddenSize, o.HiddenSize, w.ProjT!); // [P, H] → [H, P]
        }
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
            // gates = b + x W_ihᵀ + h W_hhᵀ, then i, f, o through σ and g through tanh.
            GemvAccumulate(w.Bias, x, w.InputT, h, w.HiddenT, gates);
            var i = gates[..hidden];
            var f = gates.Slice(hidden, hidden);
            var g = gates.Slice(2 * hidden, hidden);
            var o = gates.Slice(3 * hidden, hidden);
            TensorPrimitives.Sigmoid(gates[..(2 * hidden)], gates[..(2 * hidden)]);
            TensorPrimitives.Tanh(g, g);
            TensorPrimitives.Sigmoid(o, o);
            TensorPrimitives.Multiply(i, g, g);                  // i * g
            TensorPrimitives.FusedMultiplyAdd(f, c, g, c);        // c' = f * c + i * g
            var m = _scratch.AsSpan();
            TensorPrimitives.Tanh(c, m);
            TensorPrimitives.Multiply(o, m, m);                  // m = o * tanh(c')
            if (w.ProjT is null) m.CopyTo(h);
            else GemvAccumulate(default, m, w.ProjT, default, default, h[..p]); // h' = W_hr m
            x = h;
        }
        return _h[^1];
    }

    /// <summary>y = bias + a A + b B, with A [len(a), n] and B [len(b), n] row-major (n = len(y)); bias may be empty (zeros).</summary>
    private static void GemvAccumulate(ReadOnlySpan<T> bias, ReadOnlySpan<T> a, ReadOnlySpan<T> matA, ReadOnlySpan<T> b, ReadOnlySpan<T> matB, Span<T> y)
    {
        if (bias.IsEmpty) y.Clear();
        else bias.CopyTo(y);
        Accumulate(a, matA, y);
        Accumulate(b, matB, y);
    }

    /// <summary>y += Σ_k v[k] M[k, :] in the widest vectors the CPU has (the kernels' <see cref="ISimd{TVec, T}"/>).</summary>
    private static void Accumulate(ReadOnlySpan<T> v, ReadOnlySpan<T> m, Span<T> y)
    {
        if (v.IsEmpty) return;
        if (Vector512.IsHardwareAccelerated) Accumulate<Vector512<T>, Simd512<T>>(v, m, y);
        else if (Vector256.IsHardwareAccelerated) Accumulate<Vector256<T>, Simd256<T>>(v, m, y);
        else Accumulate<Vector128<T>, Simd128<T>>(v, m, y);
    }

    /// <summary>
    /// y += Σ_k v[k] M[k, :]: four vectors of y at a time held in registers over all k, then one at a time, then a
    /// scalar tail (accumulation is not idempotent, so the tail cannot overlap the last vector).
    /// </summary>
    private static void Accumulate<TVec, TSimd>(ReadOnlySpan<T> v, ReadOnlySpan<T> m, Span<T> y)
        where TVec : struct where TSimd : ISimd<TVec, T>
    {
        int n = y.Length, w = TSimd.Count, j = 0;
        ref T my = ref MemoryMarshal.GetReference(y);
        ref T mm = ref MemoryMarshal.GetReference(m);
        for (; j + 4 * w <= n; j += 4 * w)
        {
            TVec y0 = TSimd.Load(ref Unsafe.Add(ref my, j)), y1 = TSimd.Load(ref Unsafe.Add(ref my, j + w));
            TVec y2 = TSimd.Load(ref Unsafe.Add(ref my, j + 2 * w)), y3 = TSimd.Load(ref Unsafe.Add(ref my, j + 3 * w));
            for (int k = 0; k < v.Length; k++)
            {
                var s = TSimd.Splat(v[k]);
                ref T row = ref Unsafe.Add(ref mm, k * n + j);
                y0 = TSimd.MultiplyAdd(s, TSimd.Load(ref row), y0);
                y1 = TSimd.MultiplyAdd(s, TSimd.Load(ref Unsafe.Add(ref row, w)), y1);
                y2 = TSimd.MultiplyAdd(s, TSimd.Load(ref Unsafe.Add(ref row, 2 * w)), y2);
                y3 = TSimd.MultiplyAdd(s, TSimd.Load(ref Unsafe.Add(ref row, 3 * w)), y3);
            }
            TSimd.Store(y0, ref Unsafe.Add(ref my, j));
            TSimd.Store(y1, ref Unsafe.Add(ref my, j + w));
            TSimd.Store(y2, ref Unsafe.Add(ref my, j + 2 * w));
            TSimd.Store(y3, ref Unsafe.Add(ref my, j + 3 * w));
        }
        for (; j + w <= n; j += w)
        {
            TVec acc = TSimd.Load(ref Unsafe.Add(ref my, j));
            for (int k = 0; k < v.Length; k++) acc = TSimd.MultiplyAdd(TSimd.Splat(v[k]), TSimd.Load(ref Unsafe.Add(ref mm, k * n + j)), acc);
            TSimd.Store(acc, ref Unsafe.Add(ref my, j));
        }
        for (; j < n; j++)
        {
            T sum = y[j];
            for (int k = 0; k < v.Length; k++) sum += v[k] * m[k * n + j];
            y[j] = sum;
        }
    }

    private static void Transpose(ReadOnlySpan<T> source, int rows, int cols, Span<T> destination)
    {
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) destination[c * rows + r] = source[r * cols + c];
    }

    private sealed record LayerWeights(T[] InputT, T[] HiddenT, T[] Bias, T[]? ProjT); // [I, 4H], [P, 4H], [4H], [H, P]
}
