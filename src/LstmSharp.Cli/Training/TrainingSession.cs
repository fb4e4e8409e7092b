using System.Diagnostics;
using System.Globalization;
using LstmSharp.Cli.Output;
using LstmSharp.Models;
using LstmSharp.Optimizers;
using LstmSharp.Training;

namespace LstmSharp.Cli.Training;

/// <summary>What a training run did.</summary>
/// <param name="Result">The trainer's result.</param>
/// <param name="Trainer">The trainer (its model holds the final weights).</param>
/// <param name="TrainSeconds">Wall time of this invocation's training.</param>
/// <param name="SamplesPerSecond">Training throughput over this invocation's epochs: their sequences over their training time.</param>
/// <param name="EpochsRun">Epochs run by this invocation (a resumed run's earlier ones are in <see cref="TrainingResult.History"/> too).</param>
public sealed record TrainingOutcome(TrainingResult Result, Trainer<float> Trainer, double TrainSeconds, double SamplesPerSecond, int EpochsRun)
{
    /// <summary>"3 epochs", or "1 epoch (3 in all)" after a resume: what <see cref="TrainSeconds"/> timed.</summary>
    public string EpochsDescription => (EpochsRun == 1 ? "1 epoch" : $"{EpochsRun} epochs") +
        (Result.History.Count != EpochsRun ? $" ({Result.History.Count} in all)" : "");

    /// <summary>Whether Ctrl+C stopped it (a checkpoint was saved).</summary>
    public bool Interrupted => Result.Reason == StopReason.Cancelled;

    /// <summary>The best validation loss, or null without validation.</summary>
    public double? BestValidationLoss => Result.History.Any(r => r.ValidationLoss is not null)
        ? Result.History.Where(r => r.ValidationLoss is not null).Min(r => r.ValidationLoss!.Value) : null;
}

/// <summary>
/// Runs the library's <see cref="Trainer{T}"/> for a CLI command: builds the optimizer, resumes from the run's
/// checkpoint with <c>--resume</c>, shows progress, stops cleanly on Ctrl+C (the trainer writes a checkpoint), and
/// honours <c>--max-minutes</c>.
/// </summary>
public static class TrainingSession
{
    /// <summary>The optimizer named by <c>--optimizer</c>.</summary>
    public static Optimizer<float> CreateOptimizer(string name, SequenceModel<float> model, double learningRate) => name switch
    {
        "adam" => new Adam<float>(model.Parameters, learningRate),
        "adamw" => new AdamW<float>(model.Parameters, learningRate),
        "sgd" => new Sgd<float>(model.Parameters, learningRate, momentum: 0.9),
        "rmsprop" => new RmsProp<float>(model.Parameters, learningRate),
        _ => throw new CliException($"--optimizer: expected adam, adamw, sgd or rmsprop, got '{name}'."),
    };

    /// <summary>
    /// Makes the run's folder and checks that files can be written in it, before any training (which would otherwise fail
    /// at its first checkpoint, an epoch later).
    /// </summary>
    private static void CheckWritable(string folder)
    {
        string probe = Path.Combine(folder, $".lstm-write-check.{Environment.ProcessId}.tmp");
        try
        {
            Directory.CreateDirectory(folder);
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"--out: cannot write in {folder}: {e.Message}");
        }
    }

    /// <summary>Trains <paramref name="model"/>; <paramref name="customize"/> adjusts the trainer's options (e.g. truncated BPTT).</summary>
    public static TrainingOutcome Run(CliConsole console, TrainSettings settings, SequenceModel<float> model,
        SequenceDataset<float> train, SequenceDataset<float>? validation, Func<TrainerOptions, TrainerOptions>? customize = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (train.Count == 0) throw new CliException("no training sequences: the data is too small for these settings.");
        CheckWritable(settings.Out);
        var options = new TrainerOptions
        {
            Epochs = settings.Epochs,
            BatchSize = settings.Batch,
            Seed = settings.Seed,
            ClipNorm = settings.Clip > 0 ? settings.Clip : null,
            CheckpointPath = settings.CheckpointPath,
            MaxDuration = settings.MaxMinutes is { } m ? TimeSpan.FromMinutes(m) : null,
            EarlyStoppingPatience = settings.Patience > 0 ? settings.Patience : null,
        };
        options = customize?.Invoke(options) ?? options;
        var trainer = new Trainer<float>(model, CreateOptimizer(settings.Optimizer, model, settings.LearningRate), options);
        if (settings.Resume)
        {
            if (!File.Exists(settings.CheckpointPath))
                throw new CliException($"--resume: no checkpoint at {settings.CheckpointPath}; run without --resume first (with the same --out).");
            try
            {
                trainer.LoadCheckpoint(settings.CheckpointPath);
            }
            catch (Exception e) when (e is InvalidDataException or ArgumentException)
            {
                // A checkpoint of another model or optimizer: the options differ; otherwise the file itself is at fault.
                bool otherRun = e.Message.Contains(" was made ", StringComparison.Ordinal);
                throw new CliException($"--resume: {e.Message}" + (otherRun ? " Use the options of the run that wrote it." : ""));
            }
            console.Line(string.Create(CultureInfo.InvariantCulture,
                $"Resuming from {settings.CheckpointPath}: {trainer.Epoch} of {settings.Epochs} epochs done, step {trainer.Step}."));
            if (trainer.Optimizer.LearningRate != settings.LearningRate)
                console.Line(string.Create(CultureInfo.InvariantCulture,
                    $"Note: --lr {settings.LearningRate} is not used: the run continues at its checkpoint's rate, {trainer.Optimizer.LearningRate}."));
        }
        int batches = (train.Count + settings.Batch - 1) / settings.Batch;
        // One optimizer step per batch (no truncated BPTT here), so the steps taken are the batches done.
        var progress = new TrainingProgress(console, settings.Epochs, batches, Math.Min(trainer.Step, (long)settings.Epochs * batches));
        trainer.Observers.Add(progress);
        int epochsBefore = trainer.Epoch;
        var clock = Stopwatch.StartNew();
        TrainingResult result;
        try
        {
            result = progress.Run(() => trainer.Fit(train, validation, console.Cancellation));
        }
        catch (ArgumentException e) when (settings.Resume && e.ParamName is "train" or "validation")
        {
            // The data options (window, file, split, limit, ...) differ from the checkpoint's run.
            throw new CliException($"--resume: {e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal)} Use the data options of the run that wrote it.");
        }
        double seconds = clock.Elapsed.TotalSeconds;
        var ran = result.History.Skip(epochsBefore).ToList();
        // Each epoch trains the same sequences: their count over the total time is the harmonic mean of the epochs' rates
        // (an average of rates would let the fast later epochs outweigh the first, which compiles and warms up).
        double samplesPerSecond = ran.Count > 0 && ran.All(r => r.SamplesPerSecond > 0) ? ran.Count / ran.Sum(r => 1 / r.SamplesPerSecond) : 0;
        switch (result.Reason)
        {
            case StopReason.Cancelled:
                console.Line($"Interrupted: checkpoint saved to {settings.CheckpointPath}. Run the same command with --resume to continue.");
                break;
            case StopReason.TimeLimit:
                console.Line(string.Create(CultureInfo.InvariantCulture,
                    $"Stopped after --max-minutes {settings.MaxMinutes} ({trainer.Epoch} epochs done); checkpoint saved to {settings.CheckpointPath}."));
                // With early stopping, the model saved is the best epoch's, as when the run completes (the checkpoint resumes from the last step).
                if (settings.Patience > 0 && trainer.UseBestWeights())
                    console.Line($"Keeping the weights of epoch {result.BestEpoch}, the best on validation.");
                break;
            case StopReason.EarlyStopped:
                console.Line($"Stopped early at epoch {trainer.Epoch}; keeping the weights of epoch {result.BestEpoch}.");
                break;
        }
        return new TrainingOutcome(result, trainer, seconds, samplesPerSecond, ran.Count);
    }
}
