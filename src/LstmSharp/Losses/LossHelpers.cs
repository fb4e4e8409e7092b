using System.Numerics;
using LstmSharp.Tensors;

namespace LstmSharp.Losses;

/// <summary>Collects per-element losses and turns them into a <see cref="LossResult{T}"/> for a reduction.</summary>
internal sealed class LossAccumulator<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Reduction _reduction;
    private readonly double _divisor;
    private readonly int[] _gradientShape, _elementwiseShape;
    private readonly T[]? _elementwise;
    private double _sum;

    /// <param name="reduction">The reduction, already checked.</param>
    /// <param name="divisor">The divisor of <see cref="Reduction.Mean"/>; 0 (nothing counts) gives a loss of 0 and a zero gradient.</param>
    /// <param name="gradientShape">The prediction's shape.</param>
    /// <param name="elementwiseShape">The shape of the per-element losses.</param>
    public LossAccumulator(Reduction reduction, double divisor, int[] gradientShape, int[] elementwiseShape)
    {
        _reduction = reduction;
        _divisor = divisor;
        _gradientShape = gradientShape;
        _elementwiseShape = elementwiseShape;
        Gradient = new T[checked((int)ShapeUtil.Count(gradientShape, nameof(gradientShape)))];
        if (reduction == Reduction.None)
            _elementwise = new T[checked((int)ShapeUtil.Count(elementwiseShape, nameof(elementwiseShape)))];
        Scale = reduction != Reduction.Mean ? 1 : divisor == 0 ? 0 : 1 / divisor;
    }

    /// <summary>The gradient, zeros until the loss writes each counted element's <c>Scale · dl/dx</c>.</summary>
    public T[] Gradient { get; }

    /// <summary>The factor on each element's gradient: 1 / divisor for <see cref="Reduction.Mean"/> (0 when the divisor is 0), else 1.</summary>
    public double Scale { get; }

    /// <summary>Adds the loss of element <paramref name="index"/> of the per-element losses.</summary>
    public void Add(int index, double loss)
    {
        _sum += loss;
        if (_elementwise is not null) _elementwise[index] = T.CreateChecked(loss);
    }

    public LossResult<T> Result()
    {
        double value = _reduction == Reduction.Mean ? (_divisor == 0 ? 0 : _sum / _divisor) : _sum;
        return new LossResult<T>(value, new Tensor<T>(Gradient, _gradientShape))
        {
            Elementwise = _elementwise is null ? null : new Tensor<T>(_elementwise, _elementwiseShape),
        };
    }
}

/// <summary>Argument checks and small helpers shared by the losses.</summary>
internal static class LossHelpers
{
    public static void CheckReduction(Reduction reduction)
    {
        if (!Enum.IsDefined(reduction))
            throw new ArgumentOutOfRangeException(nameof(reduction), reduction, "reduction: expected Mean, Sum or None.");
    }

    public static void CheckSameShape<T>(Tensor<T> prediction, Tensor<T> target, string predictionName, string targetName)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!prediction.HasShape([.. target.Shape]))
            throw new ArgumentException(
                $"{targetName}: expected the shape of {predictionName}, {prediction.ShapeString}, got {target.ShapeString}.", targetName);
    }

    /// <summary>
    /// One flag per element of <paramref name="prediction"/> from <paramref name="mask"/>, which holds one flag per element
    /// or one per position of all axes but the last (broadcast over the last axis); null when the mask is empty.
    /// </summary>
    public static bool[]? ExpandMask<T>(ReadOnlySpan<bool> mask, Tensor<T> prediction, string predictionName)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (mask.IsEmpty) return null;
        int n = prediction.Length;
        if (mask.Length == n) return mask.ToArray();
        int[] leading = prediction.Rank > 0 ? [.. prediction.Shape.Take(prediction.Rank - 1)] : [];
        long rows = ShapeUtil.Count(leading, nameof(prediction));
        if (prediction.Rank > 0 && mask.Length == rows)
        {
            int features = prediction.Dim(-1);
            var keep = new bool[n];
            for (int i = 0; i < n; i++) keep[i] = mask[i / features];
            return keep;
        }
        string perRow = prediction.Rank > 0
            ? $" or {rows} (one per position of {ShapeUtil.Format(leading)}, broadcast over the last axis)"
            : "";
        throw new ArgumentException(
            $"mask: expected {n} flags (one per element of {predictionName} {prediction.ShapeString}){perRow}, got {mask.Length}.", "mask");
    }

    /// <summary>How many flags are true; <paramref name="length"/> when <paramref name="keep"/> is null.</summary>
    public static int CountKept(bool[]? keep, int length)
    {
        if (keep is null) return length;
        int count = 0;
        foreach (bool k in keep) if (k) count++;
        return count;
    }

    /// <summary>
    /// <paramref name="source"/> expanded to the shape of <paramref name="like"/> by PyTorch's broadcasting rule (shapes
    /// aligned on the right, each dimension equal or 1, no more axes than <paramref name="like"/>); null when source is null.
    /// </summary>
    public static T[]? BroadcastTo<T>(Tensor<T>? source, Tensor<T> like, string name, string likeName)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (source is null) return null;
        int r = like.Rank, s = source.Rank;
        bool fits = s <= r;
        for (int k = 0; fits && k < s; k++)
        {
            int d = source.Dim(s - 1 - k);
            fits = d == 1 || d == like.Dim(r - 1 - k);
        }
        if (!fits)
            throw new ArgumentException(
                $"{name}: expected a shape that broadcasts to the shape of {likeName}, {like.ShapeString} (aligned on the right, each dimension equal or 1), got {source.ShapeString}.", name);

        var strides = new int[r]; // source's stride along each axis of like, 0 where it repeats
        int stride = 1;
        for (int k = 0; k < s; k++)
        {
            int d = source.Dim(s - 1 - k);
            strides[r - 1 - k] = d == 1 ? 0 : stride;
            stride *= d;
        }
        var result = new T[like.Length];
        var index = new int[r];
        int offset = 0;
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = source.Data[offset];
            for (int axis = r - 1; axis >= 0; axis--)
            {
                offset += strides[axis];
                if (++index[axis] < like.Dim(axis)) break;
                offset -= strides[axis] * index[axis];
                index[axis] = 0;
            }
        }
        return result;
    }

    /// <summary>log(1 + x), accurate for small x (Goldberg's method; .NET's LogP1 is log(1 + x) as written).</summary>
    public static T Log1P<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T u = T.One + x;
        return u == T.One ? x : T.Log(u) * x / (u - T.One);
    }

    /// <summary>The logistic sigmoid 1 / (1 + exp(-x)), without overflow for either sign.</summary>
    public static T Sigmoid<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (x >= T.Zero) return T.One / (T.One + T.Exp(-x));
        T e = T.Exp(x);
        return e / (T.One + e);
    }
}
