using System.Numerics;
using LstmSharp.Models;

namespace LstmSharp.IO.Onnx;

/// <summary>ONNX export of a whole <see cref="SequenceModel{T}"/>.</summary>
public static class SequenceModelOnnx
{
    /// <summary>
    /// Exports <paramref name="model"/> (embedding, LSTM, head) to <paramref name="path"/>, atomically. The head reads
    /// the final hidden state for sequence-to-one kinds and every step otherwise; the graph takes the input batch-first,
    /// as the model does, with a <c>lengths</c> [B] input for variable-length batches. <paramref name="softmax"/> adds
    /// a softmax over the classes (categorical kinds).
    /// </summary>
    public static void ExportOnnx<T>(this SequenceModel<T> model, string path, bool softmax = false, int opsetVersion = 17)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        OnnxExporter.Export(model.Embedding, model.Lstm, model.Head, Options(model, softmax, opsetVersion), path);

    /// <summary>The bytes <see cref="ExportOnnx"/> would write.</summary>
    public static byte[] ToOnnxBytes<T>(this SequenceModel<T> model, bool softmax = false, int opsetVersion = 17)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        OnnxExporter.ToBytes(model.Embedding, model.Lstm, model.Head, Options(model, softmax, opsetVersion));

    private static OnnxExportOptions Options<T>(SequenceModel<T> model, bool softmax, int opsetVersion)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(model);
        if (softmax && !model.Config.IsCategorical)
            throw new ArgumentException($"softmax: a {model.Config.Kind} model predicts values, not classes; expected false.", nameof(softmax));
        return new OnnxExportOptions
        {
            OpsetVersion = opsetVersion,
            SequenceLengths = true,
            HeadInput = model.Config.IsSequenceToOne ? OnnxHeadInput.FinalHidden : OnnxHeadInput.Sequence,
            Softmax = softmax,
        };
    }
}
