using System.Diagnostics;
using System.Numerics;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using LstmSharp.Models;
using LstmSharp.Optimizers;
using LstmSharp.Tensors;

namespace LstmSharp.Training;

/// <summary>
/// Trains a <see cref="SequenceModel{T}"/>: seeded shuffled mini-batches of variable-length sequences, optional
/// truncated BPTT, gradient clipping, a learning-rate schedule, validation each epoch, early stopping with best-weight
/// restore, NaN/Inf detection, and checkpoints from which a resumed run continues bit for bit as if never stopped.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed partial class Trainer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Rng _shuffle;
    private TrainingState _state;
    private T[][]? _bestWeights; // [parameter][its length], the best epoch's weights
    private string? _resumedData; // the data the loaded checkpoint's run trained on (see FitCore), until Fit checks it
    private double _rateSet;      // the optimizer's rate as this trainer last set or found it (see TakeRateSetByUser)
    private readonly Schedules.ReduceOnPlateau? _plateau;  // this trainer's copy of Options.Plateau (see the constructor)

    /// <summary>
    /// A trainer of <paramref name="model"/> by <paramref name="optimizer"/>, which holds the model's parameters, or some
    /// of them (the rest stay frozen: clipping and the NaN checks cover the optimizer's). The optimizer's rate is the
    /// base rate that the schedule and the plateau scale; setting its <see cref="Optimizer{T}.LearningRate"/> later
    /// (between Fit calls, or from an observer) makes that the base rate from the next step.
    /// </summary>
    public Trainer(SequenceModel<T> model, Optimizer<T> optimizer, TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        options.Loss.Validate(model.Config.IsCategorical ? model.Config.HeadOutputSize : null);
        var mine = model.Parameters.Select(p => p.Value).ToHashSet(ReferenceEqualityComparer.Instance);
        var stray = optimizer.Parameters.FirstOrDefault(p => !mine.Contains(p.Value));
        if (stray is not null)
            throw new ArgumentException($"optimizer: holds parameter '{stray.Name}', which is not one of the model's; build it from model.Parameters.", nameof(optimizer));
        if (options.TbpttSteps > 0 && model.Config.IsSequenceToOne)
            throw new ArgumentException(
                $"options: TbpttSteps = {options.TbpttSteps} needs per-step targets, but a {model.Config.Kind} model predicts once per sequence; use 0.",
                nameof(options));
        if (options.TbpttSteps > 0 && model.Config.Bidirectional)
            throw new ArgumentException(
                $"options: TbpttSteps = {options.TbpttSteps} carries state forward from chunk to chunk, which a bidirectional model's reverse direction cannot use; use 0.",
                nameof(options));
        var names = optimizer.Parameters.GroupBy(p => p.Name).FirstOrDefault(g => g.Count() > 1);
        if (names is not null)
            throw new ArgumentException($"optimizer: two parameters are named '{names.Key}'; build it from model.Parameters, whose names are unique.", nameof(optimizer));
        Model = model;
        Optimizer = optimizer;
        Options = options;
        _shuffle = new Rng(options.Seed);
        _state = new TrainingState { BaseRate = optimizer.LearningRate };
        _rateSet = optimizer.LearningRate;
        // Its own plateau, with the options' settings and fresh state: the options' object may serve other trainers.
        _plateau = options.Plateau is { } p ? new Schedules.ReduceOnPlateau(p.Factor, p.Patience, p.Threshold, p.Cooldown, p.MinRate) : null;
    }

    private static void ResetPlateau(Schedules.ReduceOnPlateau plateau)
    {
        plateau.Best = double.PositiveInfinity;
        plateau.BadEpochs = 0;
        plateau.CooldownLeft = 0;
    }

    /// <summary>The model being trained.</summary>
    public SequenceModel<T> Model { get; }

    /// <summary>Its optimizer.</summary>
    public Optimizer<T> Optimizer { get; }

    /// <summary>The options.</summary>
    public TrainerOptions Options { get; }

    /// <summary>Receivers of progress (a progress bar, a log).</summary>
    public List<ITrainingObserver> Observers { get; } = [];

    /// <summary>Completed epochs.</summary>
    public int Epoch => _state.Epoch;

    /// <summary>Optimizer steps taken.</summary>
    public long Step => _state.Step;

    /// <summary>Every completed epoch's report.</summary>
    public IReadOnlyList<EpochReport> History => _state.History;

    /// <summary>
    /// Trains until <see cref="TrainerOptions.Epochs"/> epochs have run in all (continuing a resumed run where it
    /// stopped), early stopping fires, time runs out, or <paramref name="cancellationToken"/> fires. Validation uses
    /// <paramref name="validation"/> when given.
    /// </summary>
    /// <remarks>Batches run in training mode (dropout on); the model's <c>Training</c> is set back as it was on return.</remarks>
    /// <exception cref="TrainingDivergedException">The loss, a gradient, a weight after an update, the scheduled learning rate or the validation loss became NaN or infinite.</exception>
    /// <exception cref="ArgumentException">
    /// The data do not fit the model; or, on the first Fit after <see cref="LoadCheckpoint"/>, <paramref name="train"/> or
    /// <paramref name="validation"/> differs from the set the checkpoint's run trained on (names the one that differs).
    /// </exception>
    public TrainingResult Fit(SequenceDataset<T> train, SequenceDataset<T>? validation = null, CancellationToken cancellationToken = default)
    {
        bool training = Model.Training;
        try
        {
            return FitCore(train, validation, cancellationToken);
        }
        finally
        {
            Model.Training = training;
        }
    }

    private TrainingResult FitCore(SequenceDataset<T> train, SequenceDataset<T>? validation, CancellationToken cancellationToken)
    {
        CheckData(train, nameof(train));
        if (validation is not null) CheckData(validation, nameof(validation));
        if (train.Count == 0) throw new ArgumentException("train: expected at least one sequence, got an empty data set.", nameof(train));
        if (validation is { Count: 0 }) throw new ArgumentException("validation: expected at least one sequence, got an empty data set.", nameof(validation));
        // Continuing exactly needs the data the checkpoint's run had: the same preprocessing, split and order of samples.
        string trainPart = "train " + train.Fingerprint(), data = trainPart + "; validation " + (validation?.Fingerprint() ?? "none");
        if (_resumedData is { } resumed && resumed != data)
        {
            string which = resumed.StartsWith(trainPart + "; ", StringComparison.Ordinal) ? nameof(validation) : nameof(train);
            throw new ArgumentException(
                $"{which}: the data differs from the data the checkpoint's run trained on (checkpoint: {resumed}; now: {data}), so the run cannot " +
                "continue exactly: resume with the same data, preprocessing and validation split. To train its model further on other data, " +
                "load the checkpoint's weights into a new run instead.", which);
        }
        _resumedData = null;
        _state.Data = data;
        if (Options.EarlyStoppingPatience is { } patience && _state.BadEpochs >= patience)
        {
            RestoreBestWeights(); // this run (or the checkpoint it resumed) had already stopped early
            return Result(StopReason.EarlyStopped);
        }
        var clock = Stopwatch.StartNew();
        int batchSize = Options.BatchSize;
        int batches = (train.Count + batchSize - 1) / batchSize;
        while (_state.Epoch < Options.Epochs)
        {
            if (_state.Order.Length == 0)
            {
                _state.Order = Options.Shuffle ? SequenceDataset<T>.Permutation(train.Count, _shuffle) : Enumerable.Range(0, train.Count).ToArray();
                _state.Batch = 0;
                _state.EpochLoss = 0;
                _state.EpochWeight = 0;
                _state.EpochCount = 0;
                _state.EpochCorrect = 0;
                _state.EpochSamples = 0;
                _state.EpochSeconds = 0;
            }
            if (_state.Order.Length != train.Count)
                throw new ArgumentException($"train: the checkpoint was made on {_state.Order.Length} training sequences, this set has {train.Count}.", nameof(train));
            var epochClock = Stopwatch.StartNew();
            double secondsBefore = _state.EpochSeconds;
            SequenceBatch<T>? batch = null;  // the last batch, whose memory the next one reuses
            for (int b = _state.Batch; b < batches; b++)
            {
                var stop = cancellationToken.IsCancellationRequested ? StopReason.Cancelled
                    : Options.MaxDuration is { } max && clock.Elapsed >= max ? StopReason.TimeLimit
                    : (StopReason?)null;
                if (stop is { } reason)
                {
                    _state.EpochSeconds = secondsBefore + epochClock.Elapsed.TotalSeconds;
                    if (Options.CheckpointPath is { } path) SaveCheckpoint(path);
                    return Result(reason);
                }
                int start = b * batchSize, count = Math.Min(batchSize, train.Count - start);
                batch = train.MakeBatch(_state.Order.AsSpan(start, count), batch);
                double loss = TrainBatch(batch, b + 1);
                _state.Batch = b + 1;
                _state.EpochSamples += count;
                double elapsed = secondsBefore + epochClock.Elapsed.TotalSeconds;
                var report = new BatchReport(_state.Epoch + 1, b + 1, batches, _state.Step, loss,
                    _state.EpochWeight == 0 ? 0 : _state.EpochLoss / _state.EpochWeight,
                    _state.EpochSamples / Math.Max(elapsed, 1e-9), Optimizer.LearningRate);
                foreach (var o in Observers) o.OnBatchEnd(report);
            }
            double trainSeconds = secondsBefore + epochClock.Elapsed.TotalSeconds;
            bool stopEarly = EndEpoch(validation, trainSeconds, secondsBefore, epochClock);
            if (Options.CheckpointPath is { } checkpoint &&
                (_state.Epoch % Options.CheckpointEveryEpochs == 0 || _state.Epoch == Options.Epochs || stopEarly))
                SaveCheckpoint(checkpoint);
            if (stopEarly)
            {
                RestoreBestWeights();
                return Result(StopReason.EarlyStopped);
            }
        }
        if (Options.EarlyStoppingPatience is not null) RestoreBestWeights();
        return Result(StopReason.Completed);
    }

    /// <summary>The mean loss per prediction (and accuracy for categorical kinds) of the model on <paramref name="data"/>, in evaluation mode.</summary>
    public EvaluationResult Evaluate(SequenceDataset<T> data)
    {
        CheckData(data, nameof(data));
        // Predict runs without dropout whatever Training says (and keeps no cache).
        double sum = 0, weight = 0;
        long count = 0, correct = 0;
        var all = Enumerable.Range(0, data.Count).ToArray();
        SequenceBatch<T>? batch = null;
        for (int start = 0; start < data.Count; start += Options.EvaluationBatchSize)
        {
            batch = data.MakeBatch(all.AsSpan(start, Math.Min(Options.EvaluationBatchSize, data.Count - start)), batch);
            var output = Model.Predict(batch);
            var loss = Model.Loss(output, batch, Options.Loss);
            sum += loss.Value * loss.Weight;
            weight += loss.Weight;
            count += loss.Count;
            correct += loss.Correct;
        }
        return new EvaluationResult(weight == 0 ? 0 : sum / weight, Model.Config.IsCategorical ? (double)correct / Math.Max(count, 1) : null, count);
    }

    /// <summary>One batch: one optimizer step, or one per chunk with truncated BPTT. Returns the batch's mean loss.</summary>
    private double TrainBatch(SequenceBatch<T> batch, int batchNumber)
    {
        Model.Training = true;
        int chunk = Options.TbpttSteps > 0 ? Options.TbpttSteps : batch.Steps;
        Tensor<T>? h = null, c = null;
        double sum = 0, weight = 0;
        long count = 0, correct = 0;
        for (int start = 0; start < batch.Steps; start += chunk)
        {
            var part = chunk >= batch.Steps ? batch : batch.SliceSteps(start, chunk);
            long step = _state.Step + 1;
            Model.ZeroGrad();
            var output = Model.Forward(part, h, c);
            var loss = Model.Loss(output, part, Options.Loss);
            if (!double.IsFinite(loss.Value))
                throw Diverged(step, batchNumber, "loss", $"the loss is {loss.Value}");
            Model.Backward(output.Cache, loss.Gradient);
            // The optimizer's parameters only: with an optimizer over part of the model (the rest frozen), the frozen
            // gradients are neither applied nor clipped (in PyTorch they would not exist), so they do not count in the norm.
            foreach (var p in Optimizer.Parameters)
                if (!AllFinite(p.Grad.Data))
                    throw Diverged(step, batchNumber, "grad of " + p.Name, $"the gradient of {p.Name} holds NaN or infinity (loss {loss.Value})");
            if (Options.ClipValue is { } clipValue) GradientClipping.ClipGradValue(Optimizer.Parameters, clipValue);
            if (Options.ClipNorm is { } clipNorm) GradientClipping.ClipGradNorm(Optimizer.Parameters, clipNorm);
            TakeRateSetByUser();
            double rate = Options.Schedule?.RateAt(_state.Step, _state.BaseRate) ?? _state.BaseRate;
            if (!double.IsFinite(rate))
                throw Diverged(step, batchNumber, "learning rate", $"the schedule's learning rate is {rate} (base rate {_state.BaseRate})");
            SetRate(rate);
            Optimizer.Step();
            _state.Step = step;  // the optimizer has taken it, whatever follows
            // Finite gradients can still make infinite weights (a rate too large for T): caught here, at the step that did it.
            foreach (var p in Optimizer.Parameters)
                if (!AllFinite(p.Value.Data))
                    throw Diverged(step, batchNumber, p.Name, $"the update made {p.Name} NaN or infinite (learning rate {Optimizer.LearningRate}, loss {loss.Value})", applied: true);
            (h, c) = (output.HN, output.CN);
            sum += loss.Value * loss.Weight;
            weight += loss.Weight;
            count += loss.Count;
            correct += loss.Correct;
        }
        _state.EpochLoss += sum;
        _state.EpochWeight += weight;
        _state.EpochCount += count;
        _state.EpochCorrect += correct;
        return weight == 0 ? 0 : sum / weight;
    }

    /// <summary>Evaluates, updates the plateau schedule and early stopping, reports. Returns whether to stop early.</summary>
    private bool EndEpoch(SequenceDataset<T>? validation, double trainSeconds, double secondsBefore, Stopwatch epochClock)
    {
        double trainLoss = _state.EpochWeight == 0 ? 0 : _state.EpochLoss / _state.EpochWeight;
        double? trainAccuracy = Model.Config.IsCategorical ? (double)_state.EpochCorrect / Math.Max(_state.EpochCount, 1) : null;
        var val = validation is null ? null : Evaluate(validation);
        if (val is not null && !double.IsFinite(val.Loss))
            throw Diverged(_state.Step, _state.Batch, "validation loss",
                $"the validation loss after epoch {_state.Epoch + 1} is {val.Loss} (training loss {trainLoss}): the model overflows on the validation data, or that data holds NaN or infinity", applied: true);
        double monitored = val?.Loss ?? trainLoss;
        double lastRate = Optimizer.LearningRate;  // the rate of the epoch's last step, reported whether or not a plateau follows
        if (_plateau is { } plateau)
        {
            TakeRateSetByUser();  // (an observer's change during the epoch's last batch)
            _state.BaseRate = plateau.Step(monitored, _state.BaseRate);
            // The next step's rate (TrainBatch sets it again, and stops at it if it is not finite, should that step run).
            double next = Options.Schedule?.RateAt(_state.Step, _state.BaseRate) ?? _state.BaseRate;
            if (double.IsFinite(next)) SetRate(next);
        }
        double seconds = secondsBefore + epochClock.Elapsed.TotalSeconds;
        bool isBest = monitored < _state.BestLoss - Options.EarlyStoppingMinDelta;
        _state.Epoch++;
        if (isBest)
        {
            _state.BestLoss = monitored;
            _state.BestEpoch = _state.Epoch;
            _state.BadEpochs = 0;
            if (Options.EarlyStoppingPatience is not null && Options.RestoreBest)
                _bestWeights = Model.Parameters.Select(p => (T[])p.Value.Data.Clone()).ToArray();
        }
        else
        {
            _state.BadEpochs++;
        }
        var report = new EpochReport(_state.Epoch, trainLoss, trainAccuracy, val?.Loss, val?.Accuracy,
            lastRate, seconds, _state.EpochSamples / Math.Max(trainSeconds, 1e-9), isBest);
        _state.History.Add(report);
        _state.Order = [];
        _state.Batch = 0;
        foreach (var o in Observers) o.OnEpochEnd(report);
        return Options.EarlyStoppingPatience is { } patience && _state.BadEpochs >= patience;
    }

    /// <summary>
    /// Loads the weights of the best epoch so far (kept while early stopping is on with <see cref="TrainerOptions.RestoreBest"/>) into the model, e.g. to save the
    /// best model of a run that ran out of time; returns false when there are none. The trainer's other state (epoch,
    /// optimizer moments) stays that of the last step: fit further from a checkpoint rather than after this.
    /// </summary>
    public bool UseBestWeights()
    {
        if (_bestWeights is null) return false;
        for (int k = 0; k < _bestWeights.Length; k++) _bestWeights[k].CopyTo(Model.Parameters[k].Value.Data, 0);
        return true;
    }

    private void RestoreBestWeights()
    {
        if (Options.RestoreBest) UseBestWeights();
    }

    private TrainingResult Result(StopReason reason) => new(reason, _state.History.ToArray(), _state.BestEpoch, _state.BestLoss);

    /// <summary>Sets the optimizer's rate, remembering it (see <see cref="TakeRateSetByUser"/>).</summary>
    private void SetRate(double rate)
    {
        Optimizer.LearningRate = rate;
        _rateSet = Optimizer.LearningRate;
    }

    /// <summary>
    /// When the optimizer's rate is no longer the one this trainer last set (or found), the user has set it (between
    /// Fit calls, or from an observer): it becomes the base rate that the schedule and the plateau scale from.
    /// </summary>
    private void TakeRateSetByUser()
    {
        if (Optimizer.LearningRate != _rateSet)
        {
            _state.BaseRate = Optimizer.LearningRate;
            _rateSet = Optimizer.LearningRate;
        }
    }

    /// <summary>The exception for a NaN or infinity found at <paramref name="step"/>, saying whether the model in memory holds that step (<paramref name="applied"/>).</summary>
    private TrainingDivergedException Diverged(long step, int batch, string tensor, string what, bool applied = false) =>
        new(step, _state.Epoch + 1, batch, tensor,
            $"Training diverged at step {step} (epoch {_state.Epoch + 1}, batch {batch}): {what}. " +
            (applied ? "The model in memory holds this step's weights; nothing was saved" : "This step was not applied and nothing was saved") +
            (Options.CheckpointPath is not { } p ? ". "
                : File.Exists(p) ? $"; the last good checkpoint '{p}' is unchanged. " : $"; no checkpoint had been written yet ('{p}'). ") +
            "Try a lower learning rate, gradient clipping (ClipNorm), or check the data for NaN.");

    /// <summary>Whether no value is NaN or ±Inf: the largest magnitude is finite (NaN propagates through it, IEEE 754's maximumMagnitude).</summary>
    internal static bool AllFinite(T[] values) => values.Length == 0 || T.IsFinite(TensorPrimitives.MaxMagnitude<T>(values));

    private void CheckData(SequenceDataset<T> data, string name)
    {
        ArgumentNullException.ThrowIfNull(data, name);
        var config = Model.Config;
        if (data.Kind != config.Kind)
            throw new ArgumentException($"{name}: expected data for a {config.Kind} model, got {data.Kind} data.", name);
        if (config.Kind != ModelKind.LanguageModel && data.InputSize != config.InputSize)
            throw new ArgumentException($"{name}: expected I = {config.InputSize} features per step, got {data.InputSize}.", name);
        if (data.OutputSize != config.HeadOutputSize)
            throw new ArgumentException($"{name}: expected {config.HeadOutputSize} outputs (or classes), got {data.OutputSize}.", name);
    }

    /// <summary>Everything about a run's position, saved in a checkpoint.</summary>
    private sealed class TrainingState
    {
        public int Epoch { get; set; }
        public int Batch { get; set; }
        public long Step { get; set; }
        [System.Text.Json.Serialization.JsonIgnore]
        public int[] Order { get; set; } = []; // saved as the tensor trainer.order
        public double EpochLoss { get; set; }
        public double EpochWeight { get; set; }
        public long EpochCount { get; set; }
        public long EpochCorrect { get; set; }
        public long EpochSamples { get; set; }
        public double EpochSeconds { get; set; }
        public double BaseRate { get; set; }
        public double BestLoss { get; set; } = double.PositiveInfinity;
        public int BestEpoch { get; set; }
        public int BadEpochs { get; set; }
        public List<EpochReport> History { get; set; } = [];
        public string? Data { get; set; } // what Fit trained on: SequenceDataset.Fingerprint of the training and validation sets (null: not known)
    }
}
