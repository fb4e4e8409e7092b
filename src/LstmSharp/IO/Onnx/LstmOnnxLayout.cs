namespace LstmSharp.IO.Onnx;

/// <summary>
/// The gate order of ONNX's LSTM (i, o, f, c) against PyTorch's (i, f, g, o), for weights and biases whose rows
/// are four stacked gate blocks of H rows each.
/// </summary>
internal static class LstmOnnxLayout
{
    /// <summary>For ONNX gate block k (i, o, f, c), the PyTorch block (i, f, g, o) it comes from.</summary>
    private static readonly int[] TorchBlockOfOnnx = [0, 3, 1, 2];

    /// <summary>Copies PyTorch rows [4H, cols] into ONNX order at <paramref name="destination"/> (also [4H, cols]).</summary>
    public static void TorchToOnnx<T>(ReadOnlySpan<T> torch, int hidden, int cols, Span<T> destination)
    {
        int block = hidden * cols;
        for (int k = 0; k < 4; k++)
            torch.Slice(TorchBlockOfOnnx[k] * block, block).CopyTo(destination.Slice(k * block, block));
    }

    /// <summary>Copies ONNX rows [4H, cols] into PyTorch order at <paramref name="destination"/> (also [4H, cols]).</summary>
    public static void OnnxToTorch<T>(ReadOnlySpan<T> onnx, int hidden, int cols, Span<T> destination)
    {
        int block = hidden * cols;
        for (int k = 0; k < 4; k++)
            onnx.Slice(k * block, block).CopyTo(destination.Slice(TorchBlockOfOnnx[k] * block, block));
    }
}
