namespace LstmSharp.Training;

/// <summary>
/// Thrown when the loss or a gradient becomes NaN or infinite. Training stops before the optimizer applies the bad
/// step, and no checkpoint is written, so the last good checkpoint stays as it was.
/// </summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>An exception for step <paramref name="step"/> naming the tensor (<c>loss</c> or a parameter's gradient).</summary>
    public TrainingDivergedException(long step, int epoch, int batch, string tensor, string message)
        : base(message)
    {
        Step = step;
        Epoch = epoch;
        Batch = batch;
        Tensor = tensor;
    }

    /// <summary>The 1-based optimizer step that diverged.</summary>
    public long Step { get; }

    /// <summary>1-based epoch.</summary>
    public int Epoch { get; }

    /// <summary>1-based batch within the epoch.</summary>
    public int Batch { get; }

    /// <summary><c>loss</c>, or <c>grad of</c> a parameter's name.</summary>
    public string Tensor { get; }
}
