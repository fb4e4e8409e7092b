using System.CommandLine;
using System.Globalization;
using LstmSharp.Cli.Classification;
using LstmSharp.Cli.Output;
using LstmSharp.Cli.Training;
using LstmSharp.Models;
using Spectre.Console;

namespace LstmSharp.Cli.Commands;

/// <summary><c>lstm train classify</c>: a sequence classifier on MNIST-style IDX files or a CSV of fixed-length sequences.</summary>
public static class ClassifyCommands
{
    /// <summary>The task's training defaults.</summary>
    public static readonly TaskDefaults Defaults = new("classify", Layers: 1, Hidden: 128, Epochs: 10, Batch: 128, LearningRate: 1e-3, Clip: 5.0, ValidationFraction: 0.1);

    /// <summary>Examples for <c>--help</c>.</summary>
    public static readonly string[] TrainExamples =
    [
        "lstm train classify --idx /usr/share/datasets/fashion-mnist --hidden 128 --epochs 10 --out runs/fashion",
        "lstm train classify --idx ./mnist --limit 2000 --epochs 1       # a quick smoke run",
        "lstm train classify --csv ecg.csv --label class --steps 140 --features 1",
        "lstm train classify --csv gestures.csv --label gesture --features 3 --bidirectional --layers 2",
    ];

    /// <summary>The <c>train classify</c> command.</summary>
    public static Command Train(CliApp app)
    {
        var command = new Command("classify",
            "Train a sequence classifier (LSTM -> last state -> linear over the classes).\n" +
            "--idx DIR reads MNIST or Fashion-MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,\n" +
            "t10k-labels-idx1-ubyte, gzipped or not): each image is a sequence of 28 steps (rows) of 28 features (pixels scaled to [0, 1]).\n" +
            "--csv FILE --label NAME reads one sequence per row: the label column plus T*I feature columns, the others in file order,\n" +
            "row-major (column k is step k / I, feature k mod I); --steps/--features give T and I (one is enough; neither means I = 1).\n" +
            "A CSV is split at random into training and --test-fraction test rows. Leaves model.safetensors, model.json,\n" +
            "checkpoint.safetensors, loss.png and confusion.png in --out.");
        var idx = new Option<string?>("--idx") { Description = "Folder with MNIST-style IDX files." };
        var csv = new Option<string?>("--csv") { Description = "CSV file: a header line, one sequence per row." };
        var label = new Option<string?>("--label") { Description = "The CSV's label column." };
        var steps = new Option<int>("--steps") { Description = "T, steps per sequence of a CSV.", DefaultValueFactory = _ => 0 };
        var features = new Option<int>("--features") { Description = "I, features per step of a CSV.", DefaultValueFactory = _ => 0 };
        var testFraction = new Option<double>("--test-fraction") { Description = "Share of a CSV's rows held out for testing.", DefaultValueFactory = _ => 0.2 };
        foreach (Option o in new Option[] { idx, csv, label, steps, features, testFraction }) command.Options.Add(o);
        var common = new TrainOptionSet(command, Defaults);
        app.SetAction(command, r =>
        {
            var s = common.Read(r);
            var data = Load(r.GetValue(idx), r.GetValue(csv), r.GetValue(label), r.GetValue(steps), r.GetValue(features), r.GetValue(testFraction), s.Seed, s.Limit);
            return TrainRun(app.Console, s, data, r.GetValue(label));
        });
        return command;
    }

    private static ClassifyData Load(string? idx, string? csv, string? label, int steps, int features, double testFraction, ulong seed, int limit)
    {
        if ((idx is null) == (csv is null)) throw new CliException("give either --idx DIR (MNIST-style files) or --csv FILE --label NAME.");
        if (idx is not null)
        {
            var data = ClassifyData.FromIdx(idx, limit);
            if (data.TrainInputs.Length == 0 || data.TestInputs.Length == 0)
                throw new CliException($"{idx}: {data.TrainInputs.Length} training and {data.TestInputs.Length} test images; a run trains on the first and reports its accuracy on the second, so each needs at least one.");
            if (data.Classes.Count < 2) throw new CliException($"{idx}: the labels hold {data.Classes.Count} class; classification needs at least 2.");
            return data;
        }
        if (label is null) throw new CliException("--label: name the CSV's label column.");
        return ClassifyData.FromCsv(csv!, label, steps, features, testFraction, seed, limit);
    }

    private static int TrainRun(CliConsole console, TrainSettings s, ClassifyData data, string? label)
    {
        var all = data.Train;
        var (train, validation) = s.ValidationFraction > 0 && all.Count >= 2 ? all.Split(s.ValidationFraction, s.Seed) : (all, null);
        var config = new ModelConfig
        {
            Kind = ModelKind.Classification,
            InputSize = data.Features,
            OutputSize = data.Classes.Count,
            HiddenSize = s.Hidden,
            NumLayers = s.Layers,
            Bidirectional = s.Bidirectional,
            Dropout = s.Layers > 1 ? s.Dropout : 0,
            HeadDropout = s.Dropout,
        };
        var model = new SequenceModel<float>(config, s.Seed);
        console.Line($"Classifying {data.Description}.");
        console.Line($"Model: LSTM {s.Layers}x{s.Hidden}{(s.Bidirectional ? " bidirectional" : "")} over {data.Steps} steps of {data.Features} features -> {data.Classes.Count} classes; {model.ParameterCount} parameters; {train.Count} training sequences, {validation?.Count ?? 0} validation.");
        if (s.ApplyThreads() is { } threadsNote) console.Line($"Note: {threadsNote}");
        var outcome = TrainingSession.Run(console, s, model, train, validation);
        if (outcome.Interrupted) return ExitCodes.Interrupted;

        var test = data.Test;
        var result = outcome.Trainer.Evaluate(test);
        var predictions = ClassPredictions.Run(model, data.TestInputs, data.Steps, data.Features);
        var confusion = predictions.Confusion(data.TestLabels, data.Classes.Count);
        console.Line(string.Create(CultureInfo.InvariantCulture,
            $"Trained {outcome.EpochsDescription} in {outcome.TrainSeconds:F1} s ({outcome.SamplesPerSecond:F0} sequences/s)."));
        WriteResult(console, result.Loss, result.Accuracy ?? 0, test.Count, confusion, data.Classes);

        var sidecar = new ModelSidecar
        {
            Task = "classify",
            Config = ForecastCommands.Strip(config.ToMetadata()),
            Classify = new ClassifyInfo { Steps = data.Steps, Features = data.Features, Classes = data.Classes, Source = data.Source, Label = label },
            Training = s.Describe(),
        };
        string modelPath = ModelBundle.Save(model, sidecar, s.Out);
        string lossPng = Path.Combine(s.Out, "loss.png"), confusionPng = Path.Combine(s.Out, "confusion.png");
        Plots.Loss(outcome.Result.History, "cross-entropy", lossPng);
        Plots.Confusion(confusion, data.Classes, string.Create(CultureInfo.InvariantCulture, $"Test confusion matrix: accuracy {result.Accuracy * 100:F1}% of {test.Count}"), confusionPng);
        if (s.MetricsJson is { } metricsPath)
        {
            new MetricsJson("classify", outcome.Result.History.Count, outcome.TrainSeconds, outcome.SamplesPerSecond, outcome.BestValidationLoss, result.Loss)
                .Add("test_accuracy", result.Accuracy)
                .Save(metricsPath);
        }
        console.Line($"Wrote {confusionPng} and {lossPng}.");
        console.Line($"Model: {modelPath} (+ {ModelBundle.SidecarFile}); checkpoint: {s.CheckpointPath}" + (s.MetricsJson is null ? "." : $"; metrics: {s.MetricsJson}."));
        return ExitCodes.Ok;
    }

    /// <summary>Prints the test loss and accuracy, and the confusion matrix when it is small.</summary>
    public static void WriteResult(CliConsole console, double loss, double accuracy, int count, int[,] confusion, IReadOnlyList<string> classes)
    {
        console.Line(string.Create(CultureInfo.InvariantCulture, $"Test: accuracy {accuracy * 100:F2}% of {count} sequences, loss {loss:F4} (cross-entropy)."));
        if (classes.Count > 12) return;
        var table = new Table { Border = TableBorder.Rounded, Title = new TableTitle("confusion matrix (rows: true, columns: predicted)") };
        table.AddColumn("true \\ predicted");
        foreach (var c in classes) table.AddColumn(new TableColumn(Markup.Escape(c)).RightAligned());
        table.AddColumn(new TableColumn("recall").RightAligned());
        for (int r = 0; r < classes.Count; r++)
        {
            int total = Enumerable.Range(0, classes.Count).Sum(c => confusion[r, c]);
            var cells = new List<string> { Markup.Escape(classes[r]) };
            cells.AddRange(Enumerable.Range(0, classes.Count).Select(c => confusion[r, c].ToString(CultureInfo.InvariantCulture)));
            cells.Add(total == 0 ? "-" : string.Create(CultureInfo.InvariantCulture, $"{100.0 * confusion[r, r] / total:F1}%"));
            table.AddRow(cells.ToArray());
        }
        console.Ansi.Write(table);
    }
}
