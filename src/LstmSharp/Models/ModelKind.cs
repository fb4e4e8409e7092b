namespace LstmSharp.Models;

/// <summary>What a <see cref="SequenceModel{T}"/> predicts from a sequence.</summary>
public enum ModelKind
{
    /// <summary>Sequence-to-one regression (many-to-one): features [B, T, I] → values [B, O], read at each sequence's last valid step.</summary>
    Regression,

    /// <summary>Per-step regression (many-to-many): features [B, T, I] → values [B, T, O] at every step.</summary>
    SequenceRegression,

    /// <summary>Sequence classification: features [B, T, I] → class logits [B, C], read at each sequence's last valid step.</summary>
    Classification,

    /// <summary>Next-token language model: token ids [B, T] → logits [B, T, V] over the vocabulary at every step.</summary>
    LanguageModel,
}
