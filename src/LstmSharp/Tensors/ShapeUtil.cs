namespace LstmSharp.Tensors;

/// <summary>Shape helpers: element counts and the text used in error messages.</summary>
public static class ShapeUtil
{
    /// <summary>Formats a shape as <c>[2, 3, 4]</c>.</summary>
    public static string Format(IReadOnlyList<int> shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>Formats a shape as <c>[2, 3, 4]</c>.</summary>
    public static string Format(IReadOnlyList<long> shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>The product of the dimensions; throws when one is negative or the count overflows.</summary>
    /// <param name="shape">The dimensions.</param>
    /// <param name="paramName">The argument named in the exception.</param>
    public static long Count(IReadOnlyList<int> shape, string paramName)
    {
        long count = 1;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"{paramName}: dimensions must be non-negative, got {Format(shape)}.", paramName);
            count *= d;
            if (count > Array.MaxLength)
                throw new ArgumentException($"{paramName}: shape {Format(shape)} holds more than {Array.MaxLength} elements.", paramName);
        }
        return count;
    }
}
