using LstmSharp.Schedules;

namespace LstmSharp.Training;

/// <summary>How <see cref="Trainer{T}"/> trains. Everything that affects the result is here or in the checkpoint.</summary>
public sealed record TrainerOptions
{
    /// <summary>Epochs to train in all (a resumed run continues up to this count).</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>The loss trained on and reported (MSE or cross-entropy by default).</summary>
    public Models.LossOptions Loss { get; init; } = new();

    /// <summary>Sequences per mini-batch; the last batch of an epoch may be smaller.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Seed of the shuffling generator.</summary>
    public ulong Seed { get; init; }

    /// <summary>Whether each epoch visits the training set in a fresh random order.</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>Clip the gradients' global L2 norm to this (PyTorch's <c>clip_grad_norm_</c>); null for none.</summary>
    public double? ClipNorm { get; init; }

    /// <summary>Clamp every gradient element to ± this (<c>clip_grad_value_</c>); null for none.</summary>
    public double? ClipValue { get; init; }

    /// <summary>A schedule of the rate by optimizer step (0-based), applied to the base rate; null keeps it constant.</summary>
    public LearningRateSchedule? Schedule { get; init; }

    /// <summary>
    /// Reduce the base rate when the validation loss (else the training loss) stops improving; checked each epoch. Its
    /// settings are read: each trainer keeps the state (best loss, bad epochs, cooldown) in a copy of its own, so one
    /// object can serve several trainers and is not changed.
    /// </summary>
    public ReduceOnPlateau? Plateau { get; init; }

    /// <summary>Stop after this many epochs without improvement of the validation loss (else training loss); null never stops early.</summary>
    public int? EarlyStoppingPatience { get; init; }

    /// <summary>The improvement that counts for early stopping: a loss below best - this.</summary>
    public double EarlyStoppingMinDelta { get; init; }

    /// <summary>With early stopping, end with the weights of the best epoch (kept in memory and in checkpoints) (after a time limit, <see cref="Trainer{T}.UseBestWeights"/> does the same on request).</summary>
    public bool RestoreBest { get; init; } = true;

    /// <summary>
    /// Truncated BPTT: split each batch's sequences into chunks of this many steps, carrying the LSTM state from one
    /// chunk to the next without backpropagating through it, with one optimizer step per chunk. 0 backpropagates
    /// through whole sequences. Only for per-step kinds (per-step regression, language model).
    /// </summary>
    public int TbpttSteps { get; init; }

    /// <summary>Where to write checkpoints (atomically); null writes none.</summary>
    public string? CheckpointPath { get; init; }

    /// <summary>Write a checkpoint every this many epochs (and always when cancelled or out of time).</summary>
    public int CheckpointEveryEpochs { get; init; } = 1;

    /// <summary>Stop (with a checkpoint) once training has run this long; null for no limit.</summary>
    public TimeSpan? MaxDuration { get; init; }

    /// <summary>Sequences per batch when evaluating.</summary>
    public int EvaluationBatchSize { get; init; } = 256;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (Loss is null) throw new ArgumentException("Loss: expected loss options (new LossOptions() for the defaults), got null.", nameof(Loss));
        if (Epochs < 0) throw new ArgumentException($"Epochs: expected a non-negative count, got {Epochs}.", nameof(Epochs));
        if (BatchSize <= 0) throw new ArgumentException($"BatchSize: expected a positive size, got {BatchSize}.", nameof(BatchSize));
        if (EvaluationBatchSize <= 0) throw new ArgumentException($"EvaluationBatchSize: expected a positive size, got {EvaluationBatchSize}.", nameof(EvaluationBatchSize));
        if (ClipNorm is { } n && !(n > 0)) throw new ArgumentException($"ClipNorm: expected a positive norm, got {n}.", nameof(ClipNorm));
        if (ClipValue is { } v && !(v > 0)) throw new ArgumentException($"ClipValue: expected a positive value, got {v}.", nameof(ClipValue));
        if (EarlyStoppingPatience is { } p && p < 1) throw new ArgumentException($"EarlyStoppingPatience: expected at least 1 epoch, got {p}.", nameof(EarlyStoppingPatience));
        if (!(EarlyStoppingMinDelta >= 0) || double.IsInfinity(EarlyStoppingMinDelta))
            throw new ArgumentException($"EarlyStoppingMinDelta: expected a finite value >= 0, got {EarlyStoppingMinDelta}.", nameof(EarlyStoppingMinDelta));
        if (MaxDuration is { } d && d < TimeSpan.Zero) throw new ArgumentException($"MaxDuration: expected a non-negative duration, got {d}.", nameof(MaxDuration));
        if (TbpttSteps < 0) throw new ArgumentException($"TbpttSteps: expected 0 (off) or a positive chunk length, got {TbpttSteps}.", nameof(TbpttSteps));
        if (CheckpointEveryEpochs < 1) throw new ArgumentException($"CheckpointEveryEpochs: expected at least 1, got {CheckpointEveryEpochs}.", nameof(CheckpointEveryEpochs));
        if (CheckpointPath is { } path && string.IsNullOrWhiteSpace(path))
            throw new ArgumentException($"CheckpointPath: expected a file path, or null for no checkpoints, got '{path}'.", nameof(CheckpointPath));
        if (CheckpointPath is { } folder && Directory.Exists(folder))
            throw new ArgumentException($"CheckpointPath: '{folder}' is a folder; expected the path of a file (e.g. '{Path.Combine(folder, "checkpoint.safetensors")}').", nameof(CheckpointPath));
    }
}
