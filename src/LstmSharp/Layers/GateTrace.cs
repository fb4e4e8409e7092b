using System.Numerics;
using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>
/// Records what every gate of an <see cref="Lstm{T}"/> does over one sequence, for inspection and plotting. It steps
/// through the LSTM equations with the public per-layer weights (<see cref="Lstm{T}.Layer"/>; PyTorch's layout, gate
/// rows i, f, g, o), independently of the kernels, in evaluation mode (no dropout). The last layer's h equals
/// <see cref="Lstm{T}.Forward"/>'s output for the same sequence.
/// </summary>
public static class GateTrace
{
    /// <summary>
    /// Runs <paramref name="input"/> [T, I] (one unbatched sequence) through <paramref name="lstm"/> from the zero
    /// state, or from <paramref name="h0"/> [L·D, P] and <paramref name="c0"/> [L·D, H] (both or neither), and
    /// returns the activations of every layer and direction, in the order layer · D + direction.
    /// </summary>
    public static IReadOnlyList<GateActivations<T>> Record<T>(Lstm<T> lstm, Tensor<T> input, Tensor<T>? h0 = null, Tensor<T>? c0 = null)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(lstm);
        ArgumentNullException.ThrowIfNull(input);
        var o = lstm.Options;
        int d = o.NumDirections, layers = o.NumLayers, hidden = o.HiddenSize, p = o.OutputHiddenSize;
        if (input.Rank != 2 || input.Dim(1) != o.InputSize || input.Dim(0) == 0)
            throw new ArgumentException($"input: expected one sequence [T, I = {o.InputSize}] with T >= 1, got {input.ShapeString}.", nameof(input));
        if ((h0 is null) != (c0 is null))
            throw new ArgumentException("h0: h0 and c0 must be given together or not at all.", h0 is null ? nameof(h0) : nameof(c0));
        if (h0 is not null && !h0.HasShape(layers * d, p))
            throw new ArgumentException($"h0: expected [L·D, P] = [{layers * d}, {p}], got {h0.ShapeString}.", nameof(h0));
        if (c0 is not null && !c0.HasShape(layers * d, hidden))
            throw new ArgumentException($"c0: expected [L·D, H] = [{layers * d}, {hidden}], got {c0.ShapeString}.", nameof(c0));

        int steps = input.Dim(0);
        var result = new List<GateActivations<T>>(layers * d);
        var x = input.Data;                                                      // [T, I_layer]
        for (int layer = 0; layer < layers; layer++)
        {
            var next = new T[steps * d * p];                                     // [T, D·P]
            for (int dir = 0; dir < d; dir++)
            {
                int k = layer * d + dir;
                var trace = Direction(lstm.Layer(layer, dir), x, steps, reverse: dir == 1,
                    h0 is null ? default : h0.Data.AsSpan(k * p, p), c0 is null ? default : c0.Data.AsSpan(k * hidden, hidden), layer, dir);
                for (int t = 0; t < steps; t++)
                    trace.Hidden.Data.AsSpan(t * p, p).CopyTo(next.AsSpan((t * d + dir) * p));
                result.Add(trace);
            }
            x = next;
        }
        return result;
    }

    private static GateActivations<T> Direction<T>(LstmDirectionParameters<T> w, T[] x, int steps, bool reverse,
        ReadOnlySpan<T> h0, ReadOnlySpan<T> c0, int layer, int dir) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int inSize = w.InputSize, hidden = w.HiddenSize, p = w.OutputSize;
        var wIh = w.WeightIh.Value.Data;                                         // [4H, I]
        var wHh = w.WeightHh.Value.Data;                                         // [4H, P]
        var bIh = w.BiasIh?.Value.Data;                                          // [4H]
        var bHh = w.BiasHh?.Value.Data;                                          // [4H]
        var wHr = w.WeightHr?.Value.Data;                                        // [P, H]
        T[] i = new T[steps * hidden], f = new T[steps * hidden], g = new T[steps * hidden], o = new T[steps * hidden];
        T[] cAll = new T[steps * hidden], hAll = new T[steps * p];               // [T, H], [T, P]
        var h = h0.IsEmpty ? new T[p] : h0.ToArray();                            // [P]
        var c = c0.IsEmpty ? new T[hidden] : c0.ToArray();                       // [H]
        var z = new T[4 * hidden];                                               // [4H] pre-activations
        var m = new T[hidden];                                                   // [H] o * tanh(c)
        for (int s = 0; s < steps; s++)
        {
            int t = reverse ? steps - 1 - s : s;
            var xt = x.AsSpan(t * inSize, inSize);
            for (int r = 0; r < 4 * hidden; r++)
            {
                T sum = T.Zero;
                for (int j = 0; j < inSize; j++) sum += wIh[r * inSize + j] * xt[j];
                for (int j = 0; j < p; j++) sum += wHh[r * p + j] * h[j];
                if (bIh is not null) sum += bIh[r] + bHh![r];
                z[r] = sum;
            }
            for (int u = 0; u < hidden; u++)
            {
                int at = t * hidden + u;
                i[at] = Sigmoid(z[u]);
                f[at] = Sigmoid(z[hidden + u]);
                g[at] = T.Tanh(z[2 * hidden + u]);
                o[at] = Sigmoid(z[3 * hidden + u]);
                c[u] = f[at] * c[u] + i[at] * g[at];
                cAll[at] = c[u];
                m[u] = o[at] * T.Tanh(c[u]);
            }
            if (wHr is null)
            {
                m.CopyTo(h, 0);
            }
            else
            {
                for (int r = 0; r < p; r++)
                {
                    T sum = T.Zero;
                    for (int u = 0; u < hidden; u++) sum += wHr[r * hidden + u] * m[u];
                    h[r] = sum;
                }
            }
            h.CopyTo(hAll, t * p);
        }
        Tensor<T> Th(T[] a) => new(a, steps, hidden);
        return new GateActivations<T>(layer, dir, Th(i), Th(f), Th(g), Th(o), Th(cAll), new Tensor<T>(hAll, steps, p));
    }

    private static T Sigmoid<T>(T v) where T : unmanaged, IFloatingPointIeee754<T> => T.One / (T.One + T.Exp(-v));
}
