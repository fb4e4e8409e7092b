using System.Numerics;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using LstmSharp.Kernels;
using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>
/// y = x Wᵀ + b, as PyTorch's <c>nn.Linear</c>: <c>weight</c> [out, in], <c>bias</c> [out], initialised
/// uniformly in ±1/sqrt(in) (PyTorch's default).
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class Linear<T> : Module<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T>[] _parameters;

    /// <summary>A layer from <paramref name="inFeatures"/> to <paramref name="outFeatures"/>.</summary>
    public Linear(int inFeatures, int outFeatures, bool bias = true, ulong seed = 0)
    {
        if (inFeatures <= 0) throw new ArgumentException($"inFeatures: expected a positive size, got {inFeatures}.", nameof(inFeatures));
        if (outFeatures <= 0) throw new ArgumentException($"outFeatures: expected a positive size, got {outFeatures}.", nameof(outFeatures));
        ShapeUtil.CheckFits(nameof(outFeatures), "the weight out·in", outFeatures, inFeatures);
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = new Parameter<T>("weight", Tensor<T>.Zeros(outFeatures, inFeatures));
        Bias = bias ? new Parameter<T>("bias", Tensor<T>.Zeros(outFeatures)) : null;
        _parameters = Bias is null ? [Weight] : [Weight, Bias];
        var rng = new Rng(seed);
        T bound = T.One / T.Sqrt(T.CreateChecked(inFeatures));
        foreach (var p in _parameters) rng.FillUniform(-bound, bound, p.Value.Data);
    }

    /// <summary>in.</summary>
    public int InFeatures { get; }

    /// <summary>out.</summary>
    public int OutFeatures { get; }

    /// <summary>[out, in]</summary>
    public Parameter<T> Weight { get; }

    /// <summary>[out], or null.</summary>
    public Parameter<T>? Bias { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters => _parameters;

    /// <summary>x [..., in] → y [..., out]. Nothing is kept: pass the same input to <see cref="Backward"/>.</summary>
    public Tensor<T> Forward(Tensor<T> input)
    {
        CheckInput(input);
        ShapeUtil.CheckFits(nameof(input), "the output N·out", input.Length / InFeatures, OutFeatures);
        var y = new T[input.Length / InFeatures * OutFeatures];  // [N, out]
        Forward(input.Data.AsSpan(0, input.Length), y);
        int[] shape = [.. input.Shape];
        shape[^1] = OutFeatures;
        return new Tensor<T>(y, shape);
    }

    /// <summary>
    /// y [N, out] = x [N, in] Wᵀ + b into <paramref name="output"/>, allocating nothing (a streamed step's head); nothing
    /// is kept for backward. The same sums as <see cref="Forward(Tensor{T})"/>.
    /// </summary>
    public void Forward(ReadOnlySpan<T> input, Span<T> output)
    {
        int rows = input.Length / InFeatures;
        if (input.Length != rows * InFeatures)
            throw new ArgumentException($"input: expected rows of in = {InFeatures} values, got {input.Length} values.", nameof(input));
        if (output.Length != (long)rows * OutFeatures)
            throw new ArgumentException($"output: expected [N, out] = [{rows}, {OutFeatures}] = {(long)rows * OutFeatures} values, got {output.Length}.", nameof(output));
        if (Bias is not null)
            for (int n = 0; n < rows; n++) Bias.Value.Data.CopyTo(output.Slice(n * OutFeatures));
        if (rows > 0)
        {
            // y [N, out] (+)= x [N, in] · W^T, W [out, in]
            Gemm.Multiply<T>(false, true, rows, OutFeatures, InFeatures, T.One, input, InFeatures,
                Weight.Value.Data, InFeatures, Bias is null ? T.Zero : T.One, output, OutFeatures);
        }
    }

    /// <summary>
    /// From the forward <paramref name="input"/> [..., in] and <paramref name="dOutput"/> = dL/dy [..., out]: adds dL/dW
    /// [out, in] and dL/db [out] into the gradients and returns dL/dx, shaped as the input.
    /// </summary>
    public Tensor<T> Backward(Tensor<T> input, Tensor<T> dOutput)
    {
        CheckInput(input);
        ArgumentNullException.ThrowIfNull(dOutput);
        int rows = input.Length / InFeatures;
        if (dOutput.Rank == 0 || dOutput.Length != rows * OutFeatures || dOutput.Dim(-1) != OutFeatures)
            throw new ArgumentException($"dOutput: expected {rows} rows of out = {OutFeatures}, got shape {dOutput.ShapeString}.", nameof(dOutput));
        var dx = new T[input.Length];                           // [N, in]
        if (rows > 0)
        {
            var x = input.Data.AsSpan(0, input.Length);         // [N, in]
            var dy = dOutput.Data.AsSpan(0, dOutput.Length);    // [N, out]
            // dx [N, in] = dy · W, W [out, in]
            Gemm.Multiply<T>(false, false, rows, InFeatures, OutFeatures, T.One, dy, OutFeatures, Weight.Value.Data, InFeatures, T.Zero, dx, InFeatures);
            // dW [out, in] += dy^T · x
            Gemm.Multiply<T>(true, false, OutFeatures, InFeatures, rows, T.One, dy, OutFeatures, x, InFeatures, T.One, Weight.Grad.Data, InFeatures);
            if (Bias is not null)
            {
                var dB = Bias.Grad.Data;                        // [out] += column sums of dy
                for (int n = 0; n < rows; n++) TensorPrimitives.Add(dB, dy.Slice(n * OutFeatures, OutFeatures), dB);
            }
        }
        return new Tensor<T>(dx, [.. input.Shape]);
    }

    private void CheckInput(Tensor<T> input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank == 0 || input.Dim(-1) != InFeatures)
            throw new ArgumentException($"input: expected last dimension in = {InFeatures}, got shape {input.ShapeString}.", nameof(input));
    }
}
