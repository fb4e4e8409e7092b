namespace LstmSharp.Training;

/// <summary>
/// Thrown when the loss, a gradient, a scheduled learning rate, a weight after an update or the validation loss becomes
/// NaN or infinite. A NaN loss, gradient or rate stops training before the optimizer applies the step; a weight or
/// validation loss is found after it (the model in memory holds the bad weights). Either way no checkpoint is written, so the last good checkpoint
/// stays as it was.
/// </summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>An exception for step <paramref name="step"/> naming the tensor (see <see cref="Tensor"/>).</summary>
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

    /// <summary><c>loss</c>, <c>grad of</c> a parameter's name, a parameter's name (its weights after the update), <c>learning rate</c> (a schedule's) or <c>validation loss</c>.</summary>
    public string Tensor { get; }
}
