namespace LstmSharp.Training;

/// <summary>Progress after one batch (one optimizer step, or one per chunk with truncated BPTT).</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Batch">1-based batch within the epoch.</param>
/// <param name="BatchesPerEpoch">Batches in an epoch.</param>
/// <param name="Step">Optimizer steps taken so far in the whole run.</param>
/// <param name="Loss">This batch's mean loss.</param>
/// <param name="EpochLoss">The epoch's mean loss so far.</param>
/// <param name="SamplesPerSecond">Sequences per second in this epoch so far.</param>
/// <param name="LearningRate">The rate of this step.</param>
public sealed record BatchReport(int Epoch, int Batch, int BatchesPerEpoch, long Step, double Loss, double EpochLoss,
    double SamplesPerSecond, double LearningRate);

/// <summary>The summary of one epoch.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="TrainLoss">Mean training loss per prediction over the epoch.</param>
/// <param name="TrainAccuracy">Training accuracy (categorical kinds), else null.</param>
/// <param name="ValidationLoss">Mean validation loss, or null without a validation set.</param>
/// <param name="ValidationAccuracy">Validation accuracy (categorical kinds), else null.</param>
/// <param name="LearningRate">The rate of the epoch's last optimizer step (a plateau's cut at the epoch's end shows in the next epoch's).</param>
/// <param name="Seconds">Wall time of the epoch, evaluation included.</param>
/// <param name="SamplesPerSecond">Training sequences per second.</param>
/// <param name="IsBest">Whether this epoch is the best so far (by validation loss, else training loss).</param>
public sealed record EpochReport(int Epoch, double TrainLoss, double? TrainAccuracy, double? ValidationLoss, double? ValidationAccuracy,
    double LearningRate, double Seconds, double SamplesPerSecond, bool IsBest);

/// <summary>A data set's mean loss per prediction and accuracy.</summary>
/// <param name="Loss">Mean loss per prediction (per sequence, or per valid step for per-step kinds).</param>
/// <param name="Accuracy">Fraction of correct argmax predictions (categorical kinds), else null.</param>
/// <param name="Count">Predictions evaluated.</param>
public sealed record EvaluationResult(double Loss, double? Accuracy, long Count);

/// <summary>Why <see cref="Trainer{T}.Fit"/> returned.</summary>
public enum StopReason
{
    /// <summary>All epochs ran.</summary>
    Completed,

    /// <summary>The monitored loss stopped improving.</summary>
    EarlyStopped,

    /// <summary>The cancellation token fired; a checkpoint was written if a path is set.</summary>
    Cancelled,

    /// <summary><see cref="TrainerOptions.MaxDuration"/> passed; a checkpoint was written if a path is set.</summary>
    TimeLimit,
}

/// <summary>What a call to <see cref="Trainer{T}.Fit"/> did.</summary>
/// <param name="Reason">Why it stopped.</param>
/// <param name="History">Every epoch so far, resumed runs included.</param>
/// <param name="BestEpoch">The best epoch (1-based), or 0.</param>
/// <param name="BestLoss">Its monitored loss.</param>
public sealed record TrainingResult(StopReason Reason, IReadOnlyList<EpochReport> History, int BestEpoch, double BestLoss);

/// <summary>Receives progress; every method has an empty default.</summary>
public interface ITrainingObserver
{
    /// <summary>After each batch.</summary>
    void OnBatchEnd(BatchReport report)
    {
    }

    /// <summary>After each epoch (and its evaluation).</summary>
    void OnEpochEnd(EpochReport report)
    {
    }
}
