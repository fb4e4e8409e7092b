namespace LstmSharp.Tensors;

/// <summary>Shape helpers: element counts and the text used in error messages.</summary>
public static class ShapeUtil
{
    /// <summary>Formats a shape as <c>[2, 3, 4]</c>.</summary>
    public static string Format(IReadOnlyList<int> shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>Formats a shape as <c>[2, 3, 4]</c>.</summary>
    public static string Format(IReadOnlyList<long> shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>
    /// The product of the dimensions; throws when <paramref name="shape"/> is null, a dimension is negative or the count
    /// exceeds <see cref="Array.MaxLength"/> (a shape with a zero dimension holds 0 elements, whatever the others).
    /// </summary>
    /// <param name="shape">The dimensions.</param>
    /// <param name="paramName">The argument named in the exception.</param>
    public static long Count(IReadOnlyList<int> shape, string paramName)
    {
        ArgumentNullException.ThrowIfNull(shape, paramName);
        bool empty = false;
        foreach (int d in shape)
        {
            if (d < 0) throw new ArgumentException($"{paramName}: dimensions must be non-negative, got {Format(shape)}.", paramName);
            empty |= d == 0;
        }
        if (empty) return 0;
        long count = 1;
        foreach (int d in shape)
        {
            count *= d;
            if (count > Array.MaxLength)
                throw new ArgumentException($"{paramName}: shape {Format(shape)} holds more than {Array.MaxLength} elements.", paramName);
        }
        return count;
    }

    /// <summary>
    /// Throws an <see cref="ArgumentException"/> naming <paramref name="paramName"/> when a buffer of
    /// <paramref name="a"/>·<paramref name="b"/>·<paramref name="c"/> elements (<paramref name="what"/>, e.g. "T·B·4H")
    /// would not fit in one array: a clear refusal up front instead of an int overflow deep inside.
    /// </summary>
    internal static void CheckFits(string paramName, string what, long a, long b, long c = 1)
    {
        Int128 count = (Int128)a * b * c;
        if (count > Array.MaxLength)
            throw new ArgumentException(
                $"{paramName}: {what} = {a} × {b}{(c == 1 ? "" : $" × {c}")} = {count} elements, more than one array holds ({Array.MaxLength}).",
                paramName);
    }
}
