using System.Numerics;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using System.Runtime.Intrinsics;
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
        int n = y.Length;
        if (bias.IsEmpty) y.Clear();
        else bias.CopyTo(y);
        if (Vector512.IsHardwareAccelerated && n >= 4 * Vector512<T>.Count)
        {
            AccumulateVector512(a, matA, n, y);
            AccumulateVector512(b, matB, n, y);
            return;
        }
        if (Vector256.IsHardwareAccelerated && n >= Vector256<T>.Count)
        {
            AccumulateVector(a, matA, n, y);
            AccumulateVector(b, matB, n, y);
            return;
        }
        for (int k = 0; k < a.Length; k++) TensorPrimitives.MultiplyAdd(matA.Slice(k * n, n), a[k], y, y);
        for (int k = 0; k < b.Length; k++) TensorPrimitives.MultiplyAdd(matB.Slice(k * n, n), b[k], y, y);
    }

    /// <summary>y += Σ_k v[k] M[k, :], four vectors of y at a time held in registers over all k.</summary>
    private static void AccumulateVector(ReadOnlySpan<T> v, ReadOnlySpan<T> m, int n, Span<T> y)
    {
        if (v.IsEmpty) return;
        int w = Vector256<T>.Count;
        int block = 4 * w;
        int j = 0;
        for (; j + block <= n; j += block)
        {
            var y0 = Vector256.Create<T>(y.Slice(j));
            var y1 = Vector256.Create<T>(y.Slice(j + w));
            var y2 = Vector256.Create<T>(y.Slice(j + 2 * w));
            var y3 = Vector256.Create<T>(y.Slice(j + 3 * w));
            for (int k = 0; k < v.Length; k++)
            {
                var s = Vector256.Create(v[k]);
                var row = m.Slice(k * n + j, block);
                y0 += s * Vector256.Create<T>(row);
                y1 += s * Vector256.Create<T>(row.Slice(w));
                y2 += s * Vector256.Create<T>(row.Slice(2 * w));
                y3 += s * Vector256.Create<T>(row.Slice(3 * w));
            }
            y0.CopyTo(y.Slice(j));
            y1.CopyTo(y.Slice(j + w));
            y2.CopyTo(y.Slice(j + 2 * w));
            y3.CopyTo(y.Slice(j + 3 * w));
        }
        for (; j + w <= n; j += w)
        {
            var acc = Vector256.Create<T>(y.Slice(j));
            for (int k = 0; k < v.Length; k++) acc += Vector256.Create(v[k]) * Vector256.Create<T>(m.Slice(k * n + j, w));
            acc.CopyTo(y.Slice(j));
        }
        AccumulateTail(v, m, n, j, y); // accumulation is not idempotent, so the tail is scalar rather than an overlapping vector
    }

    /// <summary>As <see cref="AccumulateVector"/>, 4 × 512 bits of y at a time; the rest by the 256-bit path.</summary>
    private static void AccumulateVector512(ReadOnlySpan<T> v, ReadOnlySpan<T> m, int n, Span<T> y)
    {
        if (v.IsEmpty) return;
        int w = Vector512<T>.Count, block = 4 * w, j = 0;
        for (; j + block <= n; j += block)
        {
            var y0 = Vector512.Create<T>(y.Slice(j));
            var y1 = Vector512.Create<T>(y.Slice(j + w));
            var y2 = Vector512.Create<T>(y.Slice(j + 2 * w));
            var y3 = Vector512.Create<T>(y.Slice(j + 3 * w));
            for (int k = 0; k < v.Length; k++)
            {
                var s = Vector512.Create(v[k]);
                var row = m.Slice(k * n + j, block);
                y0 += s * Vector512.Create<T>(row);
                y1 += s * Vector512.Create<T>(row.Slice(w));
                y2 += s * Vector512.Create<T>(row.Slice(2 * w));
                y3 += s * Vector512.Create<T>(row.Slice(3 * w));
            }
            y0.CopyTo(y.Slice(j));
            y1.CopyTo(y.Slice(j + w));
            y2.CopyTo(y.Slice(j + 2 * w));
            y3.CopyTo(y.Slice(j + 3 * w));
        }
        if (j < n) AccumulateTail(v, m, n, j, y);
    }

    /// <summary>Columns j.. of y += Σ_k v[k] M[k, :].</summary>
    private static void AccumulateTail(ReadOnlySpan<T> v, ReadOnlySpan<T> m, int n, int j, Span<T> y)
    {
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
