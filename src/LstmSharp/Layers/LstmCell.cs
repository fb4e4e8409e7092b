using System.Numerics;
using LstmSharp.Kernels;
using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>
/// One LSTM step, as PyTorch's <c>nn.LSTMCell</c>: parameters <c>weight_ih</c> [4H, I], <c>weight_hh</c> [4H, H],
/// <c>bias_ih</c>, <c>bias_hh</c> [4H], gate rows in the order i, f, g, o.
/// <code>
///   i, f, g, o = σ, σ, tanh, σ of (W_ih x + b_ih + W_hh h + b_hh)
///   c' = f * c + i * g
///   h' = o * tanh(c')
/// </code>
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class LstmCell<T> : Module<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly LstmDirectionParameters<T> _p;
    private readonly Parameter<T>[] _parameters;

    /// <summary>A cell with weights uniform in ±1/sqrt(H) drawn from <paramref name="seed"/>, as PyTorch initialises them.</summary>
    /// <param name="inputSize">I, features of x.</param>
    /// <param name="hiddenSize">H, size of h and c.</param>
    /// <param name="bias">Whether the cell has <c>bias_ih</c> and <c>bias_hh</c>.</param>
    /// <param name="seed">Initialisation seed.</param>
    public LstmCell(int inputSize, int hiddenSize, bool bias = true, ulong seed = 0)
    {
        if (inputSize <= 0) throw new ArgumentException($"inputSize: expected a positive size, got {inputSize}.", nameof(inputSize));
        if (hiddenSize <= 0) throw new ArgumentException($"hiddenSize: expected a positive size, got {hiddenSize}.", nameof(hiddenSize));
        LstmOptions.CheckWeightsFit(hiddenSize, inputSize, hiddenSize, "hiddenSize, inputSize", "the input", nameof(hiddenSize));
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        _p = LstmDirectionParameters<T>.Create(inputSize, hiddenSize, 0, bias, "");
        _parameters = _p.All().ToArray();
        Kernel = LstmKernels.Best<T>();
        var rng = new Rng(seed);
        T bound = T.One / T.Sqrt(T.CreateChecked(hiddenSize));
        foreach (var p in _parameters) rng.FillUniform(-bound, bound, p.Value.Data);
    }

    /// <summary>The kernel that runs the step (tests swap it to compare kernels).</summary>
    internal ILstmKernel<T> Kernel { get; set; }

    /// <summary>I.</summary>
    public int InputSize { get; }

    /// <summary>H.</summary>
    public int HiddenSize { get; }

    /// <summary>The weights.</summary>
    public LstmDirectionParameters<T> Weights => _p;

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters => _parameters;

    /// <summary>One step: <paramref name="input"/> [B, I] or [I]; <paramref name="h0"/>, <paramref name="c0"/> [B, H] or [H], both or neither (zeros).</summary>
    public LstmCellResult<T> Forward(Tensor<T> input, Tensor<T>? h0 = null, Tensor<T>? c0 = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        bool unbatched = input.Rank == 1;
        if (input.Rank is not (1 or 2))
            throw new ArgumentException($"input: expected rank 2 ([B, I]) or 1 ([I]), got rank {input.Rank} with shape {input.ShapeString}.", nameof(input));
        if (input.Dim(-1) != InputSize)
            throw new ArgumentException($"input: expected input size I = {InputSize} in the last dimension, got {input.Dim(-1)} (shape {input.ShapeString}).", nameof(input));
        int batch = unbatched ? 1 : input.Dim(0);
        if (batch == 0) throw new ArgumentException($"input: expected at least one row, got B = 0 (shape {input.ShapeString}).", nameof(input));
        ShapeUtil.CheckFits(nameof(input), "the gate buffer B·4H", batch, 4L * HiddenSize);
        int[] stateShape = unbatched ? [HiddenSize] : [batch, HiddenSize];
        if ((h0 is null) != (c0 is null))
            throw new ArgumentException($"{(h0 is null ? "h0" : "c0")}: h0 and c0 must be given together or not at all.", h0 is null ? nameof(h0) : nameof(c0));
        foreach (var (t, name) in new[] { (h0, nameof(h0)), (c0, nameof(c0)) })
            if (t is not null && !t.HasShape(stateShape))
                throw new ArgumentException($"{name}: expected shape {(unbatched ? "[H]" : "[B, H]")} = {ShapeUtil.Format(stateShape)}, got {t.ShapeString}.", name);

        var cache = new LstmDirectionCache<T>((T[])input.Data.Clone(),
            (T[]?)h0?.Data.Clone() ?? new T[batch * HiddenSize], (T[]?)c0?.Data.Clone() ?? new T[batch * HiddenSize],
            1, batch, HiddenSize, HiddenSize, projected: false);
        Kernel.Forward(_p, 1, batch, Ones(batch), false, cache);
        // The state returned is the caller's (a copy): editing it, e.g. resetting a finished sequence, must not change Backward.
        return new LstmCellResult<T>(new Tensor<T>((T[])cache.Hs.Clone(), stateShape), new Tensor<T>((T[])cache.C.Clone(), stateShape),
            new LstmCellCache<T>(this, batch, unbatched, cache));
    }

    /// <summary>Backward of one step: adds parameter gradients into <c>Grad</c> and returns dL/d input, h0 and c0.</summary>
    /// <param name="cache">From <see cref="Forward"/>.</param>
    /// <param name="dH">dL/dh', [B, H] or [H]; null means zeros.</param>
    /// <param name="dC">dL/dc', [B, H] or [H]; null means zeros.</param>
    public LstmCellGradients<T> Backward(in LstmCellCache<T> cache, Tensor<T>? dH, Tensor<T>? dC = null)
    {
        if (!ReferenceEquals(cache.Owner, this))
            throw new ArgumentException("cache: expected the cache returned by this cell's Forward.", nameof(cache));
        int batch = cache.Batch;
        int[] stateShape = cache.Unbatched ? [HiddenSize] : [batch, HiddenSize];
        foreach (var (t, name) in new[] { (dH, nameof(dH)), (dC, nameof(dC)) })
            if (t is not null && !t.HasShape(stateShape))
                throw new ArgumentException($"{name}: expected shape {ShapeUtil.Format(stateShape)}, got {t.ShapeString}.", name);
        var dX = new T[batch * InputSize];
        var dH0 = new T[batch * HiddenSize];
        var dC0 = new T[batch * HiddenSize];
        Kernel.Backward(_p, 1, batch, Ones(batch), false, cache.Step, new T[batch * HiddenSize],
            dH?.Data ?? new T[batch * HiddenSize], dC?.Data ?? new T[batch * HiddenSize], dX, dH0, dC0);
        return new LstmCellGradients<T>(
            new Tensor<T>(dX, cache.Unbatched ? [InputSize] : [batch, InputSize]),
            new Tensor<T>(dH0, stateShape), new Tensor<T>(dC0, stateShape));
    }

    private static int[] Ones(int n)
    {
        var a = new int[n];
        Array.Fill(a, 1);
        return a;
    }
}

/// <summary>What <see cref="LstmCell{T}.Backward"/> needs from one step; pass it back unchanged.</summary>
public readonly struct LstmCellCache<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    internal LstmCellCache(LstmCell<T> owner, int batch, bool unbatched, LstmDirectionCache<T> step)
    {
        Owner = owner;
        Batch = batch;
        Unbatched = unbatched;
        Step = step;
    }

    internal LstmCell<T>? Owner { get; }

    internal int Batch { get; }

    internal bool Unbatched { get; }

    internal LstmDirectionCache<T> Step { get; }
}

/// <summary>The new state of one <see cref="LstmCell{T}"/> step.</summary>
/// <param name="H">h', [B, H] or [H].</param>
/// <param name="C">c', [B, H] or [H].</param>
/// <param name="Cache">What backward needs.</param>
public readonly record struct LstmCellResult<T>(Tensor<T> H, Tensor<T> C, LstmCellCache<T> Cache)
    where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>The gradients of one <see cref="LstmCell{T}"/> step's inputs.</summary>
/// <param name="Input">dL/dx, the input's shape.</param>
/// <param name="H0">dL/dh, the state's shape.</param>
/// <param name="C0">dL/dc, the state's shape.</param>
public readonly record struct LstmCellGradients<T>(Tensor<T> Input, Tensor<T> H0, Tensor<T> C0)
    where T : unmanaged, IFloatingPointIeee754<T>;
