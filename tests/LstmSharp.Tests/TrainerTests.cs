using LstmSharp.IO;
using LstmSharp.Models;
using LstmSharp.Optimizers;
using LstmSharp.Schedules;
using LstmSharp.Training;
using Xunit;

namespace LstmSharp.Tests;

public sealed class TrainerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("lstmsharp-trainer-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ModelConfig DropoutConfig(ModelKind kind) =>
        ModelTests.Config(kind, inputSize: 3, outputSize: kind == ModelKind.LanguageModel ? 6 : 2, hidden: 6, layers: 2, dropout: 0.3, headDropout: 0.2);

    private static (Trainer<float> Trainer, SequenceModel<float> Model) Make(ModelConfig config, TrainerOptions options, ulong modelSeed = 1)
    {
        var model = new SequenceModel<float>(config, modelSeed);
        var optimizer = new Adam<float>(model.Parameters, learningRate: 0.01);
        return (new Trainer<float>(model, optimizer, options), model);
    }

    private static TrainerOptions Options(int epochs, string? checkpoint = null, int tbptt = 0) => new()
    {
        Epochs = epochs,
        BatchSize = 5,
        Seed = 42,
        ClipNorm = 1.0,
        Schedule = new CosineSchedule(40),
        Plateau = new ReduceOnPlateau(factor: 0.5, patience: 0),
        CheckpointPath = checkpoint,
        TbpttSteps = tbptt,
    };

    private static void AssertSameBits(SequenceModel<float> expected, SequenceModel<float> actual, string what)
    {
        for (int k = 0; k < expected.Parameters.Count; k++)
            Assert.True(expected.Parameters[k].Value.Data.AsSpan().SequenceEqual(actual.Parameters[k].Value.Data),
                $"{what}: {expected.Parameters[k].Name} differs");
    }

    [Theory]
    [InlineData(ModelKind.Classification, 0)]
    [InlineData(ModelKind.LanguageModel, 4)]
    public void ResumingFromACheckpointIsBitIdenticalToTrainingStraight(ModelKind kind, int tbptt)
    {
        var config = DropoutConfig(kind);
        var data = ModelTests.RandomData<float>(kind, 23, 3, config.HeadOutputSize, 9, seed: 5);
        var (train, validation) = data.Split(0.2, seed: 9);

        var (straight, straightModel) = Make(config, Options(4, tbptt: tbptt));
        var straightResult = straight.Fit(train, validation);

        string path = Path.Combine(_dir, "ckpt.safetensors");
        var (first, _) = Make(config, Options(2, path, tbptt));
        first.Fit(train, validation);
        var (second, resumedModel) = Make(config, Options(4, path, tbptt), modelSeed: 99); // other init: the checkpoint must overwrite it
        second.LoadCheckpoint(path);
        Assert.Equal(2, second.Epoch);
        var resumedResult = second.Fit(train, validation);

        AssertSameBits(straightModel, resumedModel, "2 + 2 epochs vs 4");
        Assert.Equal(straight.Step, second.Step);
        Assert.Equal(straightResult.History.Select(h => h.TrainLoss), resumedResult.History.Select(h => h.TrainLoss));
        Assert.Equal(straightResult.History.Select(h => h.ValidationLoss), resumedResult.History.Select(h => h.ValidationLoss));
        Assert.Equal(straight.Optimizer.LearningRate, second.Optimizer.LearningRate);
    }

    private sealed class CancelAfter(CancellationTokenSource source, long step) : ITrainingObserver
    {
        public void OnBatchEnd(BatchReport report)
        {
            if (report.Step == step) source.Cancel();
        }
    }

    [Fact]
    public void CancellingMidEpochCheckpointsAndResumesBitIdentically()
    {
        var config = DropoutConfig(ModelKind.Regression);
        var data = ModelTests.RandomData<float>(ModelKind.Regression, 21, 3, 2, 7, seed: 6);
        var (straight, straightModel) = Make(config, Options(3));
        straight.Fit(data);

        string path = Path.Combine(_dir, "cancel.safetensors");
        using var source = new CancellationTokenSource();
        var (first, _) = Make(config, Options(3, path));
        first.Observers.Add(new CancelAfter(source, step: 7)); // 5 batches an epoch: stops inside epoch 2
        var result = first.Fit(data, cancellationToken: source.Token);
        Assert.Equal(StopReason.Cancelled, result.Reason);
        Assert.Equal(7, first.Step);

        var (second, resumedModel) = Make(config, Options(3, path), modelSeed: 1234);
        second.LoadCheckpoint(path);
        Assert.Equal(StopReason.Completed, second.Fit(data).Reason);
        AssertSameBits(straightModel, resumedModel, "cancelled at step 7 and resumed vs straight");
    }

    /// <summary>An observer that sets the optimizer's rate at the end of epoch 1, and then (optionally) cancels the run.</summary>
    private sealed class RateAtEpochEnd(Optimizers.Optimizer<float> optimizer, CancellationTokenSource? cancel) : ITrainingObserver
    {
        public void OnEpochEnd(EpochReport report)
        {
            if (report.Epoch != 1) return;
            optimizer.LearningRate = 0.004;
            cancel?.Cancel();
        }
    }

    /// <summary>
    /// A rate an observer sets at an epoch's end is the base rate from the next step, in a resumed run too: the checkpoint
    /// written after it holds it (it held the old base rate, and the resumed run went back to it).
    /// </summary>
    [Fact]
    public void ARateSetByAnObserverSurvivesACheckpoint()
    {
        var config = DropoutConfig(ModelKind.Regression);
        var data = ModelTests.RandomData<float>(ModelKind.Regression, 21, 3, 2, 7, seed: 6);
        var options = Options(3) with { Schedule = null, Plateau = null };
        var (straight, straightModel) = Make(config, options);
        straight.Observers.Add(new RateAtEpochEnd(straight.Optimizer, null));
        var history = straight.Fit(data).History;
        Assert.Equal([0.01, 0.004, 0.004], history.Select(e => e.LearningRate));

        string path = Path.Combine(_dir, "rate.safetensors");
        using var source = new CancellationTokenSource();
        var (first, _) = Make(config, options with { CheckpointPath = path });
        first.Observers.Add(new RateAtEpochEnd(first.Optimizer, source));
        Assert.Equal(StopReason.Cancelled, first.Fit(data, cancellationToken: source.Token).Reason);
        var (second, resumedModel) = Make(config, options with { CheckpointPath = path }, modelSeed: 1234);
        second.LoadCheckpoint(path);
        Assert.Equal([0.01, 0.004, 0.004], second.Fit(data).History.Select(e => e.LearningRate));
        AssertSameBits(straightModel, resumedModel, "the rate set at epoch 1's end, cancelled and resumed vs straight");
    }

    /// <summary>
    /// One ReduceOnPlateau in options shared by two trainers (cross-validation folds, say): each keeps its own state, and
    /// the object is not changed (a trainer's constructor reset it, wiping the other's history, and Fit stepped it).
    /// </summary>
    [Fact]
    public void APlateauInSharedOptionsKeepsEachTrainersStateApart()
    {
        var config = DropoutConfig(ModelKind.Regression);
        var data = ModelTests.RandomData<float>(ModelKind.Regression, 21, 3, 2, 7, seed: 6);
        var options = Options(3) with { Plateau = new ReduceOnPlateau(factor: 0.5, patience: 0) };
        var (alone, aloneModel) = Make(config, options with { Plateau = new ReduceOnPlateau(factor: 0.5, patience: 0) });
        alone.Fit(data);
        var (a, modelA) = Make(config, options);
        var (b, _) = Make(config, options);
        a.Fit(data);
        b.Fit(data);
        Assert.Equal(double.PositiveInfinity, options.Plateau!.Best);
        Assert.Equal(0, options.Plateau.BadEpochs);
        AssertSameBits(aloneModel, modelA, "a trainer whose plateau object another trainer also holds");
    }

    /// <summary>Fit trains in training mode (dropout on) and gives the model back in the mode it was given.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void FitLeavesTheModelsModeAsItWas(bool training)
    {
        var data = ModelTests.RandomData<float>(ModelKind.SequenceRegression, 6, 3, 2, 4, seed: 3);
        var (trainer, model) = Make(DropoutConfig(ModelKind.SequenceRegression), Options(1));
        model.Training = training;
        trainer.Fit(data);
        Assert.Equal(training, model.Training);
    }

    [Fact]
    public void SameSeedGivesTheSameBitsAndAnotherSeedDoesNot()
    {
        var config = DropoutConfig(ModelKind.SequenceRegression);
        var data = ModelTests.RandomData<float>(ModelKind.SequenceRegression, 15, 3, 2, 6, seed: 3);
        var (a, modelA) = Make(config, Options(2));
        var (b, modelB) = Make(config, Options(2));
        var (c, modelC) = Make(config, Options(2) with { Seed = 43 });
        a.Fit(data);
        b.Fit(data);
        c.Fit(data);
        AssertSameBits(modelA, modelB, "two runs with one seed");
        Assert.False(modelA.Parameters[0].Value.Data.AsSpan().SequenceEqual(modelC.Parameters[0].Value.Data), "another shuffling seed gave the same weights");
    }

    private sealed class Hooks(Action<EpochReport> epochEnd, Action<BatchReport> batchEnd) : ITrainingObserver
    {
        public void OnEpochEnd(EpochReport report) => epochEnd(report);

        public void OnBatchEnd(BatchReport report) => batchEnd(report);
    }

    [Fact]
    public void NaNStopsTrainingNamingTheStepAndLeavesTheLastGoodCheckpoint()
    {
        var config = ModelTests.Config(ModelKind.Regression, inputSize: 2, outputSize: 1);
        var data = ModelTests.RandomData<float>(ModelKind.Regression, 10, 2, 1, 4, seed: 2);
        string path = Path.Combine(_dir, "nan.safetensors");
        var options = new TrainerOptions { Epochs = 3, BatchSize = 3, Shuffle = false, CheckpointPath = path };
        var (trainer, _) = Make(config, options);
        // Epoch 1 runs on good data and writes its checkpoint (read while epoch 2 runs); then sample 7 turns NaN (its array, in place).
        byte[]? good = null;
        trainer.Observers.Add(new Hooks(_ => data.Samples[7].Features![0] = float.NaN, r => good ??= r.Epoch == 2 ? File.ReadAllBytes(path) : null));
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Fit(data));
        // Epoch 2, batches of 3 without shuffling: sample 7 is in batch 3, optimizer step 4 + 3 = 7.
        Assert.Equal(7, e.Step);
        Assert.Equal(2, e.Epoch);
        Assert.Equal(3, e.Batch);
        Assert.Equal("loss", e.Tensor);
        Assert.Contains("step 7", e.Message);
        Assert.Contains("NaN", e.Message);
        Assert.Equal(good, File.ReadAllBytes(path));
    }

    /// <summary>
    /// A checkpoint resumes only on the data its run trained on: other training data (another window, a sample
    /// changed) or another validation set is refused, naming both; the same data continues.
    /// </summary>
    [Fact]
    public void ResumingOnOtherDataIsRefused()
    {
        var config = ModelTests.Config(ModelKind.Regression, inputSize: 2, outputSize: 1);
        var data = ModelTests.RandomData<float>(ModelKind.Regression, 10, 2, 1, 4, seed: 2);
        var validation = ModelTests.RandomData<float>(ModelKind.Regression, 4, 2, 1, 4, seed: 3);
        string path = Path.Combine(_dir, "data.safetensors");
        var (first, _) = Make(config, Options(1, path));
        first.Fit(data, validation);
        var changed = data.Samples.ToList();
        changed[4] = changed[4] with { Target = [changed[4].Target![0] + 1] };
        foreach (var (train, val, which) in new[]
                 {
                     (new SequenceDataset<float>(ModelKind.Regression, 2, 1, changed), validation, "train"),
                     (ModelTests.RandomData<float>(ModelKind.Regression, 10, 2, 1, 4, seed: 9), validation, "train"),
                     (data, ModelTests.RandomData<float>(ModelKind.Regression, 4, 2, 1, 4, seed: 4), "validation"),
                     (data, null, "validation"),
                 })
        {
            var (resumed, _) = Make(config, Options(2, path));
            resumed.LoadCheckpoint(path);
            var e = Assert.Throws<ArgumentException>(which, () => resumed.Fit(train, val));
            Assert.Contains("differs from the data the checkpoint's run trained on", e.Message);
            Assert.Contains("checkpoint: train 10 sequences, Single, xxh3 ", e.Message);
        }
        var (same, _) = Make(config, Options(2, path));
        same.LoadCheckpoint(path);
        Assert.Equal(2, same.Fit(data, validation).History.Count);
    }

    /// <summary>
    /// Finite loss and gradients, but a rate too large for float: the first update makes the weights infinite. Caught at
    /// that step, naming the parameter; the message does not speak of a checkpoint that was never written.
    /// </summary>
    [Fact]
    public void AnUpdateThatOverflowsTheWeightsStopsTrainingAtItsStep()
    {
        var config = ModelTests.Config(ModelKind.Regression, inputSize: 2, outputSize: 1);
        var data = ModelTests.RandomData<float>(ModelKind.Regression, 10, 2, 1, 4, seed: 2);
        string path = Path.Combine(_dir, "never.safetensors");
        var model = new SequenceModel<float>(config, 1);
        var trainer = new Trainer<float>(model, new Sgd<float>(model.Parameters, 1e39),
            new TrainerOptions { Epochs = 2, BatchSize = 5, Shuffle = false, CheckpointPath = path });
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Fit(data));
        Assert.Equal(1, e.Step);
        Assert.Equal(1, e.Batch);
        Assert.Contains(e.Tensor, model.Parameters.Select(p => p.Name));
        Assert.Contains($"the update made {e.Tensor} NaN or infinite", e.Message);
        Assert.Contains("holds this step's weights", e.Message);
        Assert.Contains("no checkpoint had been written yet", e.Message);
        Assert.False(File.Exists(path));
        Assert.Equal(e.Step, trainer.Step);                                        // the optimizer took it: the count says so
        Assert.Equal(e.Step, trainer.Optimizer.StepCount);
    }

    /// <summary>An epoch reports the rate of its last step: a plateau that never cuts changes no report (it did: the next step's rate).</summary>
    [Fact]
    public void EpochReportsGiveTheLastStepsRateWithOrWithoutAPlateau()
    {
        var config = ModelTests.Config(ModelKind.Regression, inputSize: 2, outputSize: 1);
        var data = ModelTests.RandomData<float>(ModelKind.Regression, 19, 2, 1, 4, seed: 2);
        var options = new TrainerOptions { Epochs = 3, BatchSize = 4, Shuffle = false, Schedule = new StepSchedule(5, 0.5) };
        var (plain, _) = Make(config, options);
        var (withPlateau, _) = Make(config, options with { Plateau = new ReduceOnPlateau(factor: 0.5, patience: 100) });
        var a = plain.Fit(data).History.Select(r => r.LearningRate).ToArray();
        var b = withPlateau.Fit(data).History.Select(r => r.LearningRate).ToArray();
        Assert.Equal([0.01, 0.005, 0.0025], a);                                   // five steps an epoch: StepLR halves after each
        Assert.Equal(a, b);
    }

    /// <summary>A schedule whose rate becomes infinite from step <paramref name="first"/> (0-based).</summary>
    private sealed class InfiniteFrom(long first) : LearningRateSchedule
    {
        protected override double Rate(long step, double baseRate) => step >= first ? double.PositiveInfinity : baseRate;
    }

    /// <summary>
    /// A rate that is infinite only from the step after the run's last (a schedule defined for the run's steps), with a
    /// plateau that looks it up at each epoch's end: the run completes; the step that would use it never runs.
    /// </summary>
    [Fact]
    public void AnInfiniteRateAfterTheLastStepDoesNotStopTheRun()
    {
        var config = ModelTests.Config(ModelKind.Regression, inputSize: 2, outputSize: 1);
        var data = ModelTests.RandomData<float>(ModelKind.Regression, 10, 2, 1, 4, seed: 2);
        var (trainer, _) = Make(config, new TrainerOptions { Epochs = 1, BatchSize = 5, Shuffle = false, Schedule = new InfiniteFrom(2), Plateau = new ReduceOnPlateau() });
        Assert.Equal(StopReason.Completed, trainer.Fit(data).Reason);
        Assert.Equal(2, trainer.Step);
    }

    /// <summary>A schedule whose rate overflows stops training at that step, before the update, naming the rate.</summary>
    [Fact]
    public void AnInfiniteScheduledRateStopsTrainingAtItsStep()
    {
        var config = ModelTests.Config(ModelKind.Regression, inputSize: 2, outputSize: 1);
        var data = ModelTests.RandomData<float>(ModelKind.Regression, 10, 2, 1, 4, seed: 2);
        var (trainer, _) = Make(config, new TrainerOptions { Epochs = 1, BatchSize = 5, Shuffle = false, Schedule = new InfiniteFrom(1), Plateau = new ReduceOnPlateau() });
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Fit(data));
        Assert.Equal("learning rate", e.Tensor);
        Assert.Equal(2, e.Step);
        Assert.Equal(1, trainer.Step);                                             // not applied
        Assert.Contains("the schedule's learning rate is ", e.Message);
        Assert.Contains("This step was not applied", e.Message);
    }

    /// <summary>A validation loss that is NaN stops training at the end of its epoch, before that epoch's checkpoint is written.</summary>
    [Fact]
    public void ANaNValidationLossStopsTrainingBeforeTheCheckpoint()
    {
        var config = ModelTests.Config(ModelKind.Regression, inputSize: 2, outputSize: 1);
        var data = ModelTests.RandomData<float>(ModelKind.Regression, 10, 2, 1, 4, seed: 2);
        var samples = ModelTests.RandomData<float>(ModelKind.Regression, 4, 2, 1, 4, seed: 3).Samples.ToList();
        var poisoned = samples[2].Features!.ToArray();
        poisoned[1] = float.NaN;
        samples[2] = samples[2] with { Features = poisoned };
        var validation = new SequenceDataset<float>(ModelKind.Regression, 2, 1, samples);
        string path = Path.Combine(_dir, "val.safetensors");
        var (trainer, _) = Make(config, new TrainerOptions { Epochs = 2, BatchSize = 5, Shuffle = false, CheckpointPath = path });
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Fit(data, validation));
        Assert.Equal("validation loss", e.Tensor);
        Assert.Equal(2, e.Step);                                                   // two batches of 5 in epoch 1
        Assert.Equal(1, e.Epoch);
        Assert.Contains("validation loss after epoch 1 is NaN", e.Message);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void InterruptedCheckpointWriteLeavesThePreviousOneIntact()
    {
        var config = DropoutConfig(ModelKind.Regression);
        var data = ModelTests.RandomData<float>(ModelKind.Regression, 10, 3, 2, 4, seed: 2);
        string path = Path.Combine(_dir, "atomic.safetensors");
        var (trainer, _) = Make(config, Options(1, path));
        trainer.Fit(data);
        byte[] before = File.ReadAllBytes(path);
        Assert.Throws<IOException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write(before.AsSpan(0, before.Length / 2)); // half of a new checkpoint, then the "crash"
            throw new IOException("simulated crash mid-write");
        }));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(_dir));
        var (resumed, _) = Make(config, Options(2, path));
        resumed.LoadCheckpoint(path);
        Assert.Equal(1, resumed.Epoch);
    }

    [Fact]
    public void CheckpointOfAnotherConfigurationOrOptimizerIsRefused()
    {
        var (config, path) = EpochCheckpoint("config.safetensors");

        var (wider, widerModel) = Make(config with { HiddenSize = 8 }, Options(2));
        var before = widerModel.Parameters[0].Value.Data.ToArray();
        var e = Assert.Throws<InvalidDataException>(() => wider.LoadCheckpoint(path));
        Assert.Contains("hidden_size: 6 vs 8", e.Message);
        Assert.Equal(before, widerModel.Parameters[0].Value.Data);

        var model = new SequenceModel<float>(config);
        var sgd = new Trainer<float>(model, new Sgd<float>(model.Parameters, 0.1, momentum: 0.9), Options(2));
        e = Assert.Throws<InvalidDataException>(() => sgd.LoadCheckpoint(path));
        Assert.Contains("made with optimizer Adam; this trainer uses Sgd.", e.Message);

        // The same optimizer with other settings: its moments would go on under other rules.
        var other = new SequenceModel<float>(config);
        var adam = new Trainer<float>(other, new Adam<float>(other.Parameters, 0.01, beta2: 0.9, amsgrad: true), Options(2));
        e = Assert.Throws<InvalidDataException>(() => adam.LoadCheckpoint(path));
        Assert.Contains("beta2 0.999 vs 0.9", e.Message);
        Assert.Contains("amsgrad false vs true", e.Message);
        Assert.DoesNotContain("beta1", e.Message);

        var doubles = new SequenceModel<double>(config);
        var d = new Trainer<double>(doubles, new Adam<double>(doubles.Parameters), Options(2));
        e = Assert.Throws<InvalidDataException>(() => d.LoadCheckpoint(path));
        Assert.Contains("F64", e.Message);
    }

    /// <summary>A checkpoint written before optimizer settings were recorded (type name Adam`1, no settings) still resumes.</summary>
    [Fact]
    public void ACheckpointWithoutOptimizerSettingsStillResumes()
    {
        var (config, path) = EpochCheckpoint("old.safetensors");
        var file = SafeTensorsFile.Load(path);
        var metadata = new Dictionary<string, string>(file.Metadata) { ["trainer.optimizer"] = "Adam`1" };
        Assert.True(metadata.Remove("trainer.optimizer_settings"));
        var old = new SafeTensorsFile(metadata);
        foreach (var t in file.Tensors.Values) old.Add(t);
        old.Save(path);
        var (resumed, _) = Make(config, Options(2, path));
        resumed.LoadCheckpoint(path);
        Assert.Equal(1, resumed.Epoch);
    }

    /// <summary>
    /// With an optimizer over part of the model (the LSTM frozen), ClipNorm clips the norm of the optimizer's
    /// gradients: the head's update at rate 1 has exactly the clip's norm (the LSTM's gradients counted too made it
    /// smaller), and the frozen weights do not move.
    /// </summary>
    [Fact]
    public void ClippingCountsOnlyTheOptimizersParameters()
    {
        var model = new SequenceModel<double>(ModelTests.Config(ModelKind.Regression, inputSize: 3, outputSize: 2, hidden: 5), seed: 3);
        var head = model.Head.Parameters;
        var trainer = new Trainer<double>(model, new Sgd<double>(head, 1.0), new TrainerOptions { Epochs = 1, BatchSize = 100, Shuffle = false, ClipNorm = 1e-3 });
        var before = model.Parameters.Select(p => p.Value.Data.ToArray()).ToArray();
        trainer.Fit(ModelTests.RandomData<double>(ModelKind.Regression, 8, 3, 2, 4, seed: 5));
        double squares = 0;
        for (int k = 0; k < model.Parameters.Count; k++)
        {
            var p = model.Parameters[k];
            if (!head.Any(h => ReferenceEquals(h.Value, p.Value)))  // the model's parameters are prefixed views of the head's
            {
                Assert.Equal(before[k], p.Value.Data);
                continue;
            }
            for (int i = 0; i < p.Value.Length; i++) squares += Math.Pow(before[k][i] - p.Value.Data[i], 2);
        }
        Assert.Equal(1e-3, Math.Sqrt(squares), 1e-7);  // clip_grad_norm_ scales by max / (norm + 1e-6)
    }

    /// <summary>
    /// The optimizer's rate set after the trainer is made (or between Fit calls) is the base rate from the next step, not
    /// overwritten by the rate the trainer was made with.
    /// </summary>
    [Fact]
    public void ARateSetOnTheOptimizerLaterIsTheBaseRate()
    {
        var model = new SequenceModel<float>(ModelTests.Config(ModelKind.Regression, inputSize: 3, outputSize: 2, hidden: 5), seed: 3);
        var sgd = new Sgd<float>(model.Parameters, 0.5);
        var trainer = new Trainer<float>(model, sgd, new TrainerOptions { Epochs = 1, BatchSize = 4 });
        var data = ModelTests.RandomData<float>(ModelKind.Regression, 8, 3, 2, 4, seed: 5);
        sgd.LearningRate = 0;
        var before = model.Parameters.Select(p => p.Value.Data.ToArray()).ToArray();
        var result = trainer.Fit(data);
        for (int k = 0; k < before.Length; k++) Assert.Equal(before[k], model.Parameters[k].Value.Data);
        Assert.Equal(0, result.History[0].LearningRate);
        Assert.Equal(0, sgd.LearningRate);

        // And with a schedule, the schedule scales the new base rate.
        var scheduled = new Trainer<float>(model, sgd, new TrainerOptions { Epochs = 2, BatchSize = 4, Schedule = new ExponentialSchedule(0.5) });
        sgd.LearningRate = 0.01;
        var steps = scheduled.Fit(data);
        Assert.Equal(0.01 * Math.Pow(0.5, 3), steps.History[1].LearningRate, 1e-15);  // 4 steps: the last at step 3
    }

    [Fact]
    public void ABadCheckpointPathIsRefusedBeforeTraining()
    {
        var model = new SequenceModel<float>(ModelTests.Config(ModelKind.Regression, inputSize: 3, outputSize: 2, hidden: 5), seed: 3);
        var optimizer = new Adam<float>(model.Parameters);
        var e = Assert.Throws<ArgumentException>(() => new Trainer<float>(model, optimizer, new TrainerOptions { CheckpointPath = " " }));
        Assert.Equal("CheckpointPath", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => new Trainer<float>(model, optimizer, new TrainerOptions { CheckpointPath = _dir }));
        Assert.Equal("CheckpointPath", e.ParamName);
        Assert.Contains("is a folder", e.Message);
    }

    /// <summary>Validation targets are the negation of the training rule, so learning the training set makes validation worse.</summary>
    private static (SequenceDataset<double> Train, SequenceDataset<double> Validation, SequenceModel<double> Model) OverfittingSetup()
    {
        var config = ModelTests.Config(ModelKind.Regression, inputSize: 2, outputSize: 1, hidden: 4);
        var train = ModelTests.RandomData<double>(ModelKind.Regression, 20, 2, 1, 5, seed: 1);
        var validation = new SequenceDataset<double>(ModelKind.Regression, 2, 1,
            ModelTests.RandomData<double>(ModelKind.Regression, 10, 2, 1, 5, seed: 2).Samples.Select(s => s with { Target = [-s.Target![0]] }));
        return (train, validation, new SequenceModel<double>(config, 3));
    }

    [Fact]
    public void EarlyStoppingRestoresTheBestEpochsWeights()
    {
        var (train, validation, model) = OverfittingSetup();
        var trainer = new Trainer<double>(model, new Adam<double>(model.Parameters, 0.05),
            new TrainerOptions { Epochs = 50, BatchSize = 4, Seed = 1, EarlyStoppingPatience = 2 });
        var result = trainer.Fit(train, validation);
        Assert.Equal(StopReason.EarlyStopped, result.Reason);
        Assert.True(result.History.Count < 50);
        Assert.Equal(result.BestEpoch + 2, result.History.Count);
        double best = result.History.Min(h => h.ValidationLoss!.Value);
        Assert.Equal(best, result.History[result.BestEpoch - 1].ValidationLoss);
        Assert.Equal(best, trainer.Evaluate(validation).Loss, 12);
        Assert.True(trainer.Evaluate(validation).Loss < result.History[^1].ValidationLoss);
    }

    /// <summary>Once an epoch is worse than the best, waits until the run is out of time.</summary>
    private sealed class WaitOutAfterAWorseEpoch(TimeSpan wait) : ITrainingObserver
    {
        public void OnEpochEnd(EpochReport report)
        {
            if (!report.IsBest) Thread.Sleep(wait);
        }
    }

    [Fact]
    public void OutOfTimeTheBestWeightsCanBeTakenBack()
    {
        var (train, validation, model) = OverfittingSetup();
        var limit = TimeSpan.FromSeconds(1);
        var trainer = new Trainer<double>(model, new Adam<double>(model.Parameters, 0.05),
            new TrainerOptions { Epochs = 50, BatchSize = 4, Seed = 1, EarlyStoppingPatience = 40, MaxDuration = limit });
        trainer.Observers.Add(new WaitOutAfterAWorseEpoch(limit + TimeSpan.FromMilliseconds(100)));
        var result = trainer.Fit(train, validation);
        Assert.Equal(StopReason.TimeLimit, result.Reason);
        Assert.True(result.BestEpoch < result.History.Count);
        Assert.True(trainer.UseBestWeights());
        double best = result.History.Min(h => h.ValidationLoss!.Value);
        Assert.Equal(best, trainer.Evaluate(validation).Loss, 12);
        Assert.True(best < result.History[^1].ValidationLoss);
    }

    [Fact]
    public void TrainingLowersTheLossForEveryKind()
    {
        foreach (var kind in Enum.GetValues<ModelKind>())
        {
            var config = ModelTests.Config(kind, inputSize: 3, outputSize: kind == ModelKind.LanguageModel ? 5 : 2, hidden: 8);
            var data = ModelTests.RandomData<float>(kind, 32, 3, config.HeadOutputSize, 6, seed: 12);
            var (trainer, _) = Make(config, new TrainerOptions { Epochs = 15, BatchSize = 8, Seed = 3 });
            var before = trainer.Evaluate(data).Loss;
            trainer.Fit(data);
            var after = trainer.Evaluate(data).Loss;
            Assert.True(after < 0.8 * before, $"{kind}: loss {before} → {after}");
        }
    }

    [Fact]
    public void FitAfterAnEarlyStopDoesNotTrainFurther()
    {
        var (train, validation, model) = OverfittingSetup();
        var trainer = new Trainer<double>(model, new Adam<double>(model.Parameters, 0.05),
            new TrainerOptions { Epochs = 50, BatchSize = 4, Seed = 1, EarlyStoppingPatience = 2 });
        Assert.Equal(StopReason.EarlyStopped, trainer.Fit(train, validation).Reason);
        long steps = trainer.Step;
        Assert.Equal(StopReason.EarlyStopped, trainer.Fit(train, validation).Reason);
        Assert.Equal(steps, trainer.Step);
    }

    [Fact]
    public void ClassWeightedLossDoesNotDependOnTheBatchSize()
    {
        var config = ModelTests.Config(ModelKind.Classification, inputSize: 3, outputSize: 2);
        var data = ModelTests.RandomData<double>(ModelKind.Classification, 13, 3, 2, 5, seed: 4);
        var model = new SequenceModel<double>(config, 1);
        var loss = new LossOptions { ClassWeights = [0.3, 2.0] };
        double Eval(int batch) => new Trainer<double>(model, new Adam<double>(model.Parameters),
            new TrainerOptions { EvaluationBatchSize = batch, Loss = loss }).Evaluate(data).Loss;
        Assert.Equal(Eval(13), Eval(2), 12);
        Assert.Equal(Eval(13), Eval(5), 12);
    }

    /// <summary>Loss options that cannot work are refused when the trainer is made, not at the first batch of a run.</summary>
    [Theory]
    [InlineData("HuberDelta", "HuberDelta: expected a finite δ > 0, got 0")]
    [InlineData("LabelSmoothing", "LabelSmoothing: expected ε in [0, 1], got 1.5")]
    [InlineData("Regression", "Regression: expected one of Mse, L1, Huber, got 7")]
    [InlineData("NegativeWeight", "ClassWeights: expected finite weights >= 0, got ClassWeights[1] = -1")]
    [InlineData("WeightCount", "ClassWeights: expected 2 weights, one per class, got 3")]
    [InlineData("NaNDelta", "HuberDelta: expected a finite δ > 0, got NaN")]
    [InlineData("InfiniteDelta", "HuberDelta: expected a finite δ > 0, got ")]
    [InlineData("NaNSmoothing", "LabelSmoothing: expected ε in [0, 1], got NaN")]
    [InlineData("NaNWeight", "ClassWeights: expected finite weights >= 0, got ClassWeights[0] = NaN")]
    [InlineData("InfiniteWeight", "ClassWeights: expected finite weights >= 0, got ClassWeights[1] = ")]
    public void BadLossOptionsAreRefusedWhenTheTrainerIsMade(string which, string message)
    {
        var config = ModelTests.Config(ModelKind.Classification, inputSize: 3, outputSize: 2);
        var model = new SequenceModel<double>(config, 1);
        var loss = which switch
        {
            "HuberDelta" => new LossOptions { HuberDelta = 0 },
            "LabelSmoothing" => new LossOptions { LabelSmoothing = 1.5 },
            "Regression" => new LossOptions { Regression = (RegressionLoss)7 },
            "NegativeWeight" => new LossOptions { ClassWeights = [1.0, -1.0] },
            "NaNDelta" => new LossOptions { HuberDelta = double.NaN },
            "InfiniteDelta" => new LossOptions { HuberDelta = double.PositiveInfinity },
            "NaNSmoothing" => new LossOptions { LabelSmoothing = double.NaN },
            "NaNWeight" => new LossOptions { ClassWeights = [double.NaN, 1.0] },
            "InfiniteWeight" => new LossOptions { ClassWeights = [1.0, double.PositiveInfinity] },
            _ => new LossOptions { ClassWeights = [1.0, 1.0, 1.0] },
        };
        var e = Assert.Throws<ArgumentException>(() => new Trainer<double>(model, new Adam<double>(model.Parameters), new TrainerOptions { Loss = loss }));
        Assert.True(e.Message.StartsWith(message, StringComparison.Ordinal), e.Message);
        // SequenceModel.Loss checks the same, before any computing.
        var data = ModelTests.RandomData<double>(ModelKind.Classification, 4, 3, 2, 5, seed: 4);
        var batch = data.MakeBatch([0, 1, 2, 3]);
        var output = model.Forward(batch);
        e = Assert.Throws<ArgumentException>(() => model.Loss(output, batch, loss));
        Assert.True(e.Message.StartsWith(message, StringComparison.Ordinal), e.Message);
    }

    /// <summary>Null loss options are refused by name; class weights on a regression model are checked as values, not counted.</summary>
    [Fact]
    public void NullLossOptionsAreRefusedAndRegressionWeightsAreNotCounted()
    {
        var model = new SequenceModel<double>(ModelTests.Config(ModelKind.Classification, inputSize: 3, outputSize: 2), 1);
        var e = Assert.Throws<ArgumentException>(() => new Trainer<double>(model, new Adam<double>(model.Parameters), new TrainerOptions { Loss = null! }));
        Assert.StartsWith("Loss: expected loss options", e.Message);
        var regression = new SequenceModel<double>(ModelTests.Config(ModelKind.SequenceRegression, inputSize: 3, outputSize: 2), 1);
        _ = new Trainer<double>(regression, new Adam<double>(regression.Parameters), new TrainerOptions { Loss = new LossOptions { ClassWeights = [1.0, 1.0, 1.0] } });
        e = Assert.Throws<ArgumentException>(() => new Trainer<double>(regression, new Adam<double>(regression.Parameters),
            new TrainerOptions { Loss = new LossOptions { ClassWeights = [-1.0] } }));
        Assert.StartsWith("ClassWeights: expected finite weights >= 0", e.Message);
    }

    [Fact]
    public void ResumingMidEpochWithOtherBatchingIsRefused()
    {
        var (config, path) = MidEpochCheckpoint("batching.safetensors");
        var (second, _) = Make(config, Options(3, path) with { BatchSize = 4 });
        var e = Assert.Throws<InvalidDataException>(() => second.LoadCheckpoint(path));
        Assert.Contains("batch=5", e.Message);
    }

    public static TheoryData<string, string?, long[]?> CorruptCheckpoints => new()
    {
        { "trainer.optimizer_step", "12x", null },
        { "trainer.optimizer_settings", "{\"beta1\":", null },
        { "trainer.optimizer_step", "-1", null },
        { "trainer.learning_rate", "fast", null },
        { "trainer.learning_rate", "NaN", null },
        { "trainer.state", "{\"Epoch\":", null },
        { "trainer.state", "{\"Epoch\":\"one\"}", null },
        { "trainer.state", "{\"Batch\":-3}", null },
        { "trainer.state", "{\"History\":null}", null },
        { "trainer.plateau", "[1,", null },
        { "trainer.plateau", "[1, 2]", null },
        { "trainer.plateau", "[1, -2, 0]", null },
        { "model.hidden_size", "0", null },
        { "model.num_layers", "-1", null },
        { "trainer.order", null, [0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19] },
        { "trainer.order", null, [1L << 32, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20] },
        { "trainer.order", null, [21, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20] },
        { "trainer.order", null, [-1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20] },
    };

    [Theory]
    [MemberData(nameof(CorruptCheckpoints))]
    public void CorruptCheckpointMetadataIsRefusedNamingThePathAndKey(string key, string? value, long[]? order)
    {
        var (config, good) = MidEpochCheckpoint("good.safetensors");

        var file = SafeTensorsFile.Load(good);
        Assert.True(file.Tensors.ContainsKey("trainer.order") && file.Metadata.ContainsKey("trainer.plateau"));
        var metadata = new Dictionary<string, string>(file.Metadata);
        if (value is not null) metadata[key] = value;
        var corrupt = new SafeTensorsFile(metadata);
        foreach (var t in file.Tensors.Values)
            corrupt.Add(order is not null && t.Name == key ? SafeTensor.FromInt64(key, order, order.Length) : t);
        string path = Path.Combine(_dir, "corrupt.safetensors");
        corrupt.Save(path);

        var (second, model) = Make(config, Options(3, path), modelSeed: 77);
        var before = model.Parameters.Select(p => p.Value.Data.ToArray()).ToList();
        var e = Assert.Throws<InvalidDataException>(() => second.LoadCheckpoint(path));
        Assert.Contains(path, e.Message);
        Assert.Contains($"'{key}'", e.Message);
        for (int k = 0; k < before.Count; k++) Assert.Equal(before[k], model.Parameters[k].Value.Data);
        Assert.Equal(0, second.Step);
    }

    [Fact]
    public void CheckpointMissingAModelTensorIsRefusedNamingThePath()
    {
        var (config, path) = EpochCheckpoint("missing.safetensors");
        var file = SafeTensorsFile.Load(path);
        var cut = new SafeTensorsFile(file.Metadata);
        foreach (var t in file.Tensors.Values.Where(t => t.Name != "model.head.bias")) cut.Add(t);
        cut.Save(path);
        var e = Assert.Throws<InvalidDataException>(() => Make(config, Options(2)).Trainer.LoadCheckpoint(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("missing: head.bias", e.Message);
    }

    /// <summary>The checkpoint of one epoch of a small regression model, written to <paramref name="name"/> in the test's folder.</summary>
    private (ModelConfig Config, string Path) EpochCheckpoint(string name)
    {
        var config = DropoutConfig(ModelKind.Regression);
        string path = Path.Combine(_dir, name);
        Make(config, Options(1, path)).Trainer.Fit(ModelTests.RandomData<float>(ModelKind.Regression, 6, 3, 2, 4, seed: 2));
        return (config, path);
    }

    /// <summary>A checkpoint written inside the first epoch (cancelled after 3 steps, batch 5 of 21 sequences): it holds the epoch's order.</summary>
    private (ModelConfig Config, string Path) MidEpochCheckpoint(string name)
    {
        var config = DropoutConfig(ModelKind.Regression);
        string path = Path.Combine(_dir, name);
        using var source = new CancellationTokenSource();
        var (first, _) = Make(config, Options(3, path));
        first.Observers.Add(new CancelAfter(source, step: 3));
        first.Fit(ModelTests.RandomData<float>(ModelKind.Regression, 21, 3, 2, 7, seed: 6), cancellationToken: source.Token);
        return (config, path);
    }

    [Fact]
    public void TruncatedBpttRefusesBidirectionalModels()
    {
        var model = new SequenceModel<float>(ModelTests.Config(ModelKind.SequenceRegression, bidirectional: true));
        var e = Assert.Throws<ArgumentException>(() => new Trainer<float>(model, new Adam<float>(model.Parameters), new TrainerOptions { TbpttSteps = 4 }));
        Assert.Contains("bidirectional", e.Message);
    }
}
