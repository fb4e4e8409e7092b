using LstmSharp.Layers;

namespace LstmSharp.IO.Onnx;

/// <summary>What the <see cref="Linear{T}"/> head of an exported or imported model reads.</summary>
public enum OnnxHeadInput
{
    /// <summary>
    /// Every step of the LSTM's output sequence, [B, T, D*H] (or [T, B, D*H]) → [B, T, out] (or [T, B, out]):
    /// sequence labelling, language models. Exported as MatMul + Add.
    /// </summary>
    Sequence,

    /// <summary>
    /// The last layer's final hidden state, directions concatenated (forward, then reverse), [B, D*H] → [B, out]:
    /// sequence classification. With sequence lengths, each sequence's state after its last valid step. Exported as Gemm.
    /// </summary>
    FinalHidden,
}

/// <summary>
/// How <see cref="OnnxExporter"/> writes a model, and, for an imported model, what the file was found to contain.
/// The graph's inputs and outputs are named as the constants of <see cref="OnnxExporter"/>:
/// <c>input</c> ([B, T, I] batch-first or [T, B, I], float or double as the model; int64 token ids [B, T] or [T, B] with an embedding),
/// optional <c>lengths</c> (int32 [B]), optional <c>h0</c> and <c>c0</c> ([L*D, B, H], PyTorch's layout), and
/// <c>output</c>, <c>h_n</c>, <c>c_n</c>. B and T are dynamic axes (<c>batch</c>, <c>sequence</c>).
/// </summary>
public sealed record OnnxExportOptions
{
    /// <summary>The lowest opset written or read: ONNX's LSTM-14 and Reshape-14.</summary>
    public const int MinOpsetVersion = 14;

    /// <summary>The highest opset written: every operator used has the same meaning from 14 to this version.</summary>
    public const int MaxOpsetVersion = 21;

    /// <summary>The opset of the default ONNX domain, 14..21; default 17.</summary>
    public int OpsetVersion { get; init; } = 17;

    /// <summary>
    /// Adds an int32 input <c>lengths</c> [B]: each sequence's valid steps (1..T), passed to every LSTM node's
    /// <c>sequence_lens</c>. Outputs past a sequence's length are zeros and h_n/c_n are taken at its last valid step,
    /// as with a packed sequence in PyTorch or <c>lengths</c> in <see cref="Lstm{T}.Forward"/>.
    /// </summary>
    public bool SequenceLengths { get; init; }

    /// <summary>
    /// Adds inputs <c>h0</c> and <c>c0</c> [L*D, B, H], laid out as PyTorch's (layer-major, then direction);
    /// the graph slices them per layer. Without them the initial state is zeros.
    /// </summary>
    public bool InitialState { get; init; }

    /// <summary>What the head reads (only with a head); default <see cref="OnnxHeadInput.Sequence"/>.</summary>
    public OnnxHeadInput HeadInput { get; init; } = OnnxHeadInput.Sequence;

    /// <summary>Applies a softmax over the last axis of <c>output</c> (the head's output, or the LSTM's without a head).</summary>
    public bool Softmax { get; init; }

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (OpsetVersion is < MinOpsetVersion or > MaxOpsetVersion)
            throw new ArgumentException(
                $"OpsetVersion: expected {MinOpsetVersion}..{MaxOpsetVersion}, got {OpsetVersion}.", nameof(OpsetVersion));
        if (!Enum.IsDefined(HeadInput))
            throw new ArgumentException($"HeadInput: unknown value {(int)HeadInput}.", nameof(HeadInput));
    }
}
