using System.Numerics;
using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>
/// The gate activations of one layer in one direction over one sequence, recorded by <see cref="GateTrace.Record"/>.
/// Every tensor is indexed by the input's time step (a reverse direction's step t is the one that read input t).
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
/// <param name="Layer">0-based layer.</param>
/// <param name="Direction">0 forward, 1 reverse.</param>
/// <param name="InputGate">i = σ(W_ii x + b_ii + W_hi h + b_hi), [T, H].</param>
/// <param name="ForgetGate">f = σ(W_if x + b_if + W_hf h + b_hf), [T, H].</param>
/// <param name="CellCandidate">g = tanh(W_ig x + b_ig + W_hg h + b_hg), [T, H].</param>
/// <param name="OutputGate">o = σ(W_io x + b_io + W_ho h + b_ho), [T, H].</param>
/// <param name="Cell">c' = f * c + i * g, [T, H].</param>
/// <param name="Hidden">h' = o * tanh(c'), projected by W_hr when the LSTM has one, [T, P].</param>
public sealed record GateActivations<T>(int Layer, int Direction, Tensor<T> InputGate, Tensor<T> ForgetGate, Tensor<T> CellCandidate,
    Tensor<T> OutputGate, Tensor<T> Cell, Tensor<T> Hidden) where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The six traces by their one-letter names i, f, g, o, c, h, in that order.</summary>
    public IReadOnlyList<(string Name, Tensor<T> Values)> Named =>
        [("i", InputGate), ("f", ForgetGate), ("g", CellCandidate), ("o", OutputGate), ("c", Cell), ("h", Hidden)];
}
