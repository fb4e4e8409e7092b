namespace LstmSharp.Kernels;

/// <summary>Memory layout helpers.</summary>
internal static class Layout
{
    /// <summary>Swaps the first two axes: source [A, B, F] to destination [B, A, F].</summary>
    public static void SwapFirstAxes<T>(ReadOnlySpan<T> source, int a, int b, int f, Span<T> destination)
    {
        for (int i = 0; i < a; i++)
            for (int j = 0; j < b; j++)
                source.Slice((i * b + j) * f, f).CopyTo(destination.Slice((j * a + i) * f, f));
    }

    /// <summary>Copies source [N, w] into columns [offset, offset + w) of destination [N, width].</summary>
    public static void CopyColumns<T>(ReadOnlySpan<T> source, int rows, int w, Span<T> destination, int width, int offset)
    {
        for (int r = 0; r < rows; r++) source.Slice(r * w, w).CopyTo(destination.Slice(r * width + offset, w));
    }

    /// <summary>Copies columns [offset, offset + w) of source [N, width] into destination [N, w].</summary>
    public static void ExtractColumns<T>(ReadOnlySpan<T> source, int rows, int width, int offset, int w, Span<T> destination)
    {
        for (int r = 0; r < rows; r++) source.Slice(r * width + offset, w).CopyTo(destination.Slice(r * w, w));
    }
}
