using System.Numerics;
using LstmSharp.Layers;

namespace LstmSharp.Kernels;

/// <summary>
/// One LSTM step for one sequence, written as the equations read. This is the oracle every faster path is
/// checked against. For input x, previous state (h, c) and gate rows in PyTorch's order i, f, g, o:
/// <code>
///   i = σ(W_ii x + b_ii + W_hi h + b_hi)     input gate
///   f = σ(W_if x + b_if + W_hf h + b_hf)     forget gate
///   g = tanh(W_ig x + b_ig + W_hg h + b_hg)  candidate
///   o = σ(W_io x + b_io + W_ho h + b_ho)     output gate
///   c' = f * c + i * g
///   m  = o * tanh(c')
///   h' = m, or W_hr m with a projection
/// </code>
/// </summary>
internal static class ReferenceCell<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Runs one step. Writes the activated gates i, f, g, o, the new cell state, m = o * tanh(c') and h'.</summary>
    public static void Forward(LstmDirectionParameters<T> p,
        ReadOnlySpan<T> x,      // [I]
        ReadOnlySpan<T> hPrev,  // [P]
        ReadOnlySpan<T> cPrev,  // [H]
        Span<T> gates,          // [4H] out: i, f, g, o after their nonlinearities
        Span<T> c,              // [H] out: c'
        Span<T> m,              // [H] out: o * tanh(c')
        Span<T> h)              // [P] out: h' (may be the same memory as m when there is no projection)
    {
        int inSize = p.InputSize, hidden = p.HiddenSize, outSize = p.OutputSize;
        var wIh = p.WeightIh.Value.Data;  // [4H, I]
        var wHh = p.WeightHh.Value.Data;  // [4H, P]

        // Pre-activations: z = W_ih x + b_ih + W_hh h + b_hh, one row per gate unit.
        for (int r = 0; r < 4 * hidden; r++)
        {
            T z = Dot(wIh.AsSpan(r * inSize, inSize), x) + Dot(wHh.AsSpan(r * outSize, outSize), hPrev);
            if (p.BiasIh is not null) z += p.BiasIh.Value.Data[r] + p.BiasHh!.Value.Data[r];
            gates[r] = z;
        }

        for (int j = 0; j < hidden; j++)
        {
            T i = Sigmoid(gates[j]);
            T f = Sigmoid(gates[hidden + j]);
            T g = T.Tanh(gates[2 * hidden + j]);
            T o = Sigmoid(gates[3 * hidden + j]);
            gates[j] = i;
            gates[hidden + j] = f;
            gates[2 * hidden + j] = g;
            gates[3 * hidden + j] = o;
            c[j] = f * cPrev[j] + i * g;
            m[j] = o * T.Tanh(c[j]);
        }

        if (p.WeightHr is null)
        {
            m.CopyTo(h);
        }
        else
        {
            var wHr = p.WeightHr.Value.Data; // [P, H]
            for (int k = 0; k < outSize; k++) h[k] = Dot(wHr.AsSpan(k * hidden, hidden), m);
        }
    }

    /// <summary>
    /// Backward of one step. Given dL/dh' (all of it: from the output and from the next step) and dL/dc' from the
    /// next step, adds the parameter gradients into the parameters' <c>Grad</c>, adds dL/dx into <paramref name="dx"/>,
    /// and writes dL/dh and dL/dc of the previous state.
    /// </summary>
    public static void Backward(LstmDirectionParameters<T> p,
        ReadOnlySpan<T> x,      // [I]
        ReadOnlySpan<T> hPrev,  // [P]
        ReadOnlySpan<T> cPrev,  // [H]
        ReadOnlySpan<T> gates,  // [4H] i, f, g, o from Forward
        ReadOnlySpan<T> c,      // [H] c' from Forward
        ReadOnlySpan<T> m,      // [H] o * tanh(c') from Forward
        ReadOnlySpan<T> dh,     // [P] dL/dh'
        ReadOnlySpan<T> dcNext, // [H] dL/dc' from the next step (may be the same memory as dcPrev)
        Span<T> dx,             // [I] += dL/dx
        Span<T> dhPrev,         // [P] out: dL/dh (must not overlap dh)
        Span<T> dcPrev,         // [H] out: dL/dc
        Span<T> dGates,         // [4H] scratch: dL/dz, the gradient of the pre-activations
        Span<T> dm)             // [H] scratch: dL/dm
    {
        int inSize = p.InputSize, hidden = p.HiddenSize, outSize = p.OutputSize;
        T one = T.One;

        // h' = W_hr m  =>  dm = W_hr^T dh,  dW_hr += dh m^T
        if (p.WeightHr is null)
        {
            dh.CopyTo(dm);
        }
        else
        {
            var wHr = p.WeightHr.Value.Data;  // [P, H]
            var dWHr = p.WeightHr.Grad.Data;  // [P, H]
            dm.Clear();
            for (int k = 0; k < outSize; k++)
            {
                Axpy(dh[k], wHr.AsSpan(k * hidden, hidden), dm);
                Axpy(dh[k], m, dWHr.AsSpan(k * hidden, hidden));
            }
        }

        for (int j = 0; j < hidden; j++)
        {
            T i = gates[j], f = gates[hidden + j], g = gates[2 * hidden + j], o = gates[3 * hidden + j];
            T tanhC = T.Tanh(c[j]);
            // m = o * tanh(c')
            T dO = dm[j] * tanhC;
            T dC = dcNext[j] + dm[j] * o * (one - tanhC * tanhC);
            // c' = f * c + i * g
            T dI = dC * g;
            T dF = dC * cPrev[j];
            T dG = dC * i;
            dcPrev[j] = dC * f;
            // Through the nonlinearities: σ' = σ(1 - σ), tanh' = 1 - tanh².
            dGates[j] = dI * i * (one - i);
            dGates[hidden + j] = dF * f * (one - f);
            dGates[2 * hidden + j] = dG * (one - g * g);
            dGates[3 * hidden + j] = dO * o * (one - o);
        }

        // z = W_ih x + b_ih + W_hh h + b_hh
        var wIh = p.WeightIh.Value.Data; var dWIh = p.WeightIh.Grad.Data;  // [4H, I]
        var wHh = p.WeightHh.Value.Data; var dWHh = p.WeightHh.Grad.Data;  // [4H, P]
        dhPrev.Clear();
        for (int r = 0; r < 4 * hidden; r++)
        {
            T dz = dGates[r];
            Axpy(dz, x, dWIh.AsSpan(r * inSize, inSize));
            Axpy(dz, hPrev, dWHh.AsSpan(r * outSize, outSize));
            Axpy(dz, wIh.AsSpan(r * inSize, inSize), dx);
            Axpy(dz, wHh.AsSpan(r * outSize, outSize), dhPrev);
        }
        if (p.BiasIh is not null)
        {
            Axpy(one, dGates, p.BiasIh.Grad.Data);
            Axpy(one, dGates, p.BiasHh!.Grad.Data);
        }
    }

    /// <summary>σ(z) = 1 / (1 + e^-z).</summary>
    public static T Sigmoid(T z) => T.One / (T.One + T.Exp(-z));

    private static T Dot(ReadOnlySpan<T> a, ReadOnlySpan<T> b)
    {
        T sum = T.Zero;
        for (int k = 0; k < a.Length; k++) sum += a[k] * b[k];
        return sum;
    }

    /// <summary>y += alpha * x</summary>
    private static void Axpy(T alpha, ReadOnlySpan<T> x, Span<T> y)
    {
        for (int k = 0; k < x.Length; k++) y[k] += alpha * x[k];
    }
}
