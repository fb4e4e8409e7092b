using System.CommandLine;
using System.Globalization;
using System.Text;
using LstmSharp.Cli.Classification;
using LstmSharp.Cli.Data;
using LstmSharp.Cli.Forecasting;
using LstmSharp.Cli.Output;
using LstmSharp.Cli.Text;
using LstmSharp.Cli.Training;
using LstmSharp.IO;
using LstmSharp.Training;
using Spectre.Console;

namespace LstmSharp.Cli.Commands;

/// <summary><c>lstm predict</c> and <c>lstm evaluate</c>: use a trained model of any task on data.</summary>
public static class UseCommands
{
    /// <summary>Examples for <c>predict --help</c>.</summary>
    public static readonly string[] PredictExamples =
    [
        "lstm predict --model runs/forecast                       # the 12 months after 1960-12",
        "lstm predict --model runs/forecast --steps 36 --output next.csv",
        "lstm predict --model runs/sales --csv sales.csv --column units",
        "lstm predict --model runs/fashion --idx /usr/share/datasets/fashion-mnist --limit 10",
        "lstm predict --model runs/gestures --csv new.csv --output predictions.csv",
        "lstm predict --model runs/shakespeare --prompt \"ROMEO\"     # the next character's distribution",
    ];

    /// <summary>Examples for <c>evaluate --help</c>.</summary>
    public static readonly string[] EvaluateExamples =
    [
        "lstm evaluate --model runs/forecast                      # the held-out months again, with the baselines",
        "lstm evaluate --model runs/sales --csv sales-2024.csv --column units --out runs/sales/eval",
        "lstm evaluate --model runs/fashion --idx /usr/share/datasets/fashion-mnist --out runs/fashion/eval",
        "lstm evaluate --model runs/gestures --csv holdout.csv",
        "lstm evaluate --model runs/shakespeare --file /work/shared/data/tinyshakespeare.txt",
    ];

    private sealed class Inputs
    {
        public Option<string> Model { get; } = new("--model", "-m") { Description = "The model: a run folder, its model.safetensors or its model.json.", Required = true };
        public Option<string?> Csv { get; } = new("--csv") { Description = "Forecast: the series' CSV (default: the one trained on, or the built-in series). Classify: a CSV of sequences." };
        public Option<string?> Column { get; } = new("--column") { Description = "Forecast: the CSV column of the series." };
        public Option<string?> DateColumn { get; } = new("--date-column") { Description = "Forecast: a CSV column of dates or labels." };
        public Option<string?> Idx { get; } = new("--idx") { Description = "Classify: a folder of MNIST-style IDX files (the t10k test files are used)." };
        public Option<string?> Label { get; } = new("--label") { Description = "Classify: the CSV's label column (default: the one trained on)." };
        public Option<int> Limit { get; } = new("--limit") { Description = "Classify: use at most this many sequences (0: all).", DefaultValueFactory = _ => 0 };

        public void AddTo(Command command)
        {
            foreach (Option o in new Option[] { Model, Csv, Column, DateColumn, Idx, Label, Limit }) command.Options.Add(o);
        }

        /// <summary>The data options with the tasks that read them, and <paramref name="more"/> (see <see cref="CliApp.RefuseOtherTasksOptions"/>).</summary>
        public void RefuseOtherTasks(ParseResult r, string task, params (Option, string[])[] more) =>
            CliApp.RefuseOtherTasksOptions(r, task, [(Csv, ["forecast", "classify"]), (Column, ["forecast"]), (DateColumn, ["forecast"]),
                (Idx, ["classify"]), (Label, ["classify"]), (Limit, ["classify"]), .. more]);

        public Series Series(ParseResult r, ForecastInfo info)
        {
            string? csv = r.GetValue(Csv);
            if (csv is null && r.GetValue(Column) is not null) throw new CliException("--column: needs --csv.");
            if (csv is null && r.GetValue(DateColumn) is not null) throw new CliException("--date-column: needs --csv.");
            if (csv is null) return info.Csv is { } trained ? Forecasting.Series.FromCsv(trained, info.Column, info.DateColumn) : Forecasting.Series.Airline();
            return Forecasting.Series.FromCsv(csv, r.GetValue(Column) ?? info.Column, r.GetValue(DateColumn) ?? (r.GetValue(Column) is null ? info.DateColumn : null));
        }

        /// <summary>Labelled sequences for a classifier: the IDX test files, or every row of a CSV.</summary>
        public (float[][] Inputs, int[]? Labels, string Description) Sequences(ParseResult r, ClassifyInfo info, bool needLabels)
        {
            string? idx = r.GetValue(Idx), csv = r.GetValue(Csv);
            int limit = r.GetValue(Limit);
            if (limit < 0) throw new CliException($"--limit: expected 0 (all) or a positive count, got {limit}.");
            if ((idx is null) == (csv is null)) throw new CliException("give either --idx DIR or --csv FILE with the sequences.");
            if (idx is not null)
            {
                if (r.GetValue(Label) is not null) throw new CliException("--label: names a CSV column; IDX files carry their labels.");
                var data = ClassifyData.FromIdx(idx, limit);
                if (data.Steps != info.Steps || data.Features != info.Features)
                    throw new CliException($"{idx}: images of {data.Steps}x{data.Features}, but the model reads {info.Steps} steps of {info.Features} features.");
                if (data.Classes.Count > info.Classes.Count)
                    throw new CliException($"{idx}: labels go up to {data.Classes.Count - 1}, but the model knows {info.Classes.Count} classes.");
                return (data.TestInputs, data.TestLabels, $"{data.TestInputs.Length} test images from {idx}");
            }
            string? label = r.GetValue(Label) ?? info.Label;
            // A label column the user names must be there; the one the model was trained with may be missing (predict).
            var file = SequenceCsv.Load(csv!, label, info.Steps, info.Features, labelOptional: !needLabels && r.GetValue(Label) is null);
            if (needLabels && file.Labels is null) throw new CliException("--label: name the CSV's label column.");
            var inputs = limit > 0 ? file.Inputs.Take(limit).ToArray() : file.Inputs;
            int[]? labels = null;
            if (file.Labels is not null)
            {
                var index = info.Classes.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => x.i, StringComparer.Ordinal);
                labels = [.. file.Labels.Take(inputs.Length).Select((l, row) => index.TryGetValue(l, out int c) ? c
                    : throw new CliException($"{csv}: row {row + 1} has label '{l}', which is not one of the model's classes ({string.Join(", ", info.Classes)}).")) ];
            }
            return (inputs, labels, $"{inputs.Length} sequences from {csv}");
        }
    }

    /// <summary>The <c>predict</c> command.</summary>
    public static Command Predict(CliApp app)
    {
        var command = new Command("predict",
            "Predict with a trained model: the next values of a series, the class of sequences, or the next character.\n" +
            "Forecast: the next --steps values after the end of the series (recursive by the model's horizon).\n" +
            "Classify: the class of each sequence, with its probability. Text: the next character's distribution after --prompt.");
        var inputs = new Inputs();
        inputs.AddTo(command);
        var steps = new Option<int?>("--steps") { Description = "Forecast: values to forecast (default: the model's horizon)." };
        var prompt = new Option<string?>("--prompt") { Description = "Text: the text before the character to predict." };
        var output = new Option<string?>("--output") { Description = "Also write the predictions as CSV to this file." };
        command.Options.Add(steps);
        command.Options.Add(prompt);
        command.Options.Add(output);
        app.SetAction(command, r =>
        {
            var bundle = ModelBundle.Load(r.GetValue(inputs.Model)!);
            inputs.RefuseOtherTasks(r, bundle.Sidecar.Task, (steps, ["forecast"]), (prompt, ["text"]));
            var console = app.Console;
            var rows = new List<string[]>();
            string[] header;
            switch (bundle.Sidecar.Task)
            {
                case "forecast":
                {
                    var info = bundle.Sidecar.Forecast!;
                    var series = inputs.Series(r, info);
                    int n = r.GetValue(steps) ?? info.Horizon;
                    if (n < 1 || n > MaxForecastSteps) throw new CliException($"--steps: expected 1..{MaxForecastSteps} values to forecast, got {n}.");
                    var forecaster = ForecastCommands.Forecaster(info);
                    var values = forecaster.Forecast(series.Values, series.Values.Length, n, x => ForecastEvaluation.Predict(bundle.Model, x, forecaster.Window));
                    var labels = NextLabels(series, n);
                    console.Line($"Forecast of the {n} values after {series.Label(series.Values.Length - 1)} ({series.Name}):");
                    header = ["step", "label", "forecast"];
                    rows.AddRange(values.Select((v, k) => new[] { (k + 1).ToString(CultureInfo.InvariantCulture), labels[k], v.ToString("F2", CultureInfo.InvariantCulture) }));
                    break;
                }
                case "classify":
                {
                    var info = bundle.Sidecar.Classify!;
                    var (x, labels, description) = inputs.Sequences(r, info, needLabels: false);
                    var predictions = ClassPredictions.Run(bundle.Model, x, info.Steps, info.Features);
                    console.Line($"Predictions for {description}:");
                    header = labels is null ? ["row", "predicted", "probability"] : ["row", "predicted", "probability", "true"];
                    for (int i = 0; i < x.Length; i++)
                    {
                        int c = predictions.Predicted[i];
                        var row = new List<string> { (i + 1).ToString(CultureInfo.InvariantCulture), info.Classes[c], predictions.Probabilities[i][c].ToString("F4", CultureInfo.InvariantCulture) };
                        if (labels is not null) row.Add(info.Classes[labels[i]]);
                        rows.Add([.. row]);
                    }
                    if (labels is not null)
                        console.Line(string.Create(CultureInfo.InvariantCulture, $"Accuracy {predictions.Accuracy(labels) * 100:F2}% of {labels.Length}."));
                    break;
                }
                default:
                {
                    var vocabulary = new Vocabulary(bundle.Sidecar.Text!.Vocabulary);
                    string text = r.GetValue(prompt) ?? throw new CliException("--prompt: give the text whose next character to predict.");
                    if (text.Length == 0) throw new CliException("--prompt: expected at least one character.");
                    var sampler = new CharSampler(bundle.Model);
                    foreach (int id in vocabulary.Encode(text, TextCommands.PromptPosition)) sampler.Feed(id);
                    var logits = sampler.Logits.ToArray();
                    double max = logits.Max(), sum = logits.Sum(l => Math.Exp(l - max));
                    console.Line($"Most likely characters after the prompt:");
                    header = ["character", "probability"];
                    rows.AddRange(Enumerable.Range(0, logits.Length).OrderByDescending(k => logits[k]).Take(10)
                        .Select(k => new[] { Vocabulary.Describe(Rune.GetRuneAt(vocabulary.Characters[k], 0)), (Math.Exp(logits[k] - max) / sum).ToString("F4", CultureInfo.InvariantCulture) }));
                    break;
                }
            }
            WriteRows(console, header, rows, 30);
            if (r.GetValue(output) is { } path)
            {
                WriteCsv(path, header, rows);
                console.Line($"Wrote {rows.Count} predictions to {path}.");
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The <c>evaluate</c> command.</summary>
    public static Command Evaluate(CliApp app)
    {
        var command = new Command("evaluate",
            "Evaluate a trained model on data: forecast errors against baselines, classification accuracy, or text loss.\n" +
            "Forecast: the model's forecast of the held-out end of the series (as many values as in training, or --test) next to the\n" +
            "seasonal-naive and last-value baselines. Classify: loss, accuracy and confusion matrix of labelled sequences.\n" +
            "Text: the loss in nats per character of a text file. With --out, writes forecast.png or confusion.png there.");
        var inputs = new Inputs();
        inputs.AddTo(command);
        var file = new Option<string?>("--file") { Description = "Text: the text to score." };
        var test = new Option<int?>("--test") { Description = "Forecast: values held out at the end (default: as in training)." };
        var outDir = new Option<string?>("--out", "-o") { Description = "Folder for the plot." };
        command.Options.Add(file);
        command.Options.Add(test);
        command.Options.Add(outDir);
        app.SetAction(command, r =>
        {
            var bundle = ModelBundle.Load(r.GetValue(inputs.Model)!);
            inputs.RefuseOtherTasks(r, bundle.Sidecar.Task, (file, ["text"]), (test, ["forecast"]), (outDir, ["forecast", "classify"]));
            var console = app.Console;
            string? dir = r.GetValue(outDir);
            switch (bundle.Sidecar.Task)
            {
                case "forecast":
                {
                    var info = bundle.Sidecar.Forecast!;
                    var series = inputs.Series(r, info);
                    int held = r.GetValue(test) ?? info.Test;
                    if (held < 1) throw new CliException($"--test: expected at least 1 held-out value, got {held}.");
                    // On the series it was trained on, a longer test part would score values the model trained on (and
                    // its scaler was fitted on): refused.
                    bool trainedSeries = (series.Csv is null && info.Csv is null) || (series.Csv is not null && info.Csv is not null &&
                        Path.GetFullPath(series.Csv) == Path.GetFullPath(info.Csv) && series.Column == info.Column &&
                        (info.Values is null || info.Values == series.Values.Length));  // the same file, not grown since
                    if (trainedSeries && held > info.Test)
                        throw new CliException($"--test {held}: the model was trained on all but the last {info.Test} values of this series, so a longer test part would score {held - info.Test} values it trained on; use at most {info.Test} (or another series).");
                    var forecaster = ForecastCommands.Forecaster(info);
                    int n = series.Values.Length;
                    if (n - held < info.Season + info.Window)
                        throw new CliException($"the series is too short: {n} values, {held} held out, and a forecast needs season + window = {info.Season + info.Window} values before them.");
                    var eval = ForecastEvaluation.Run(bundle.Model, forecaster, series.Values, held);
                    ForecastCommands.WriteTable(console, eval, series, info.Season, held);
                    console.Line(string.Create(CultureInfo.InvariantCulture, $"Test loss {eval.TestLoss:F4} (MSE of standardized seasonal differences)."));
                    if (dir is not null)
                    {
                        string png = Path.Combine(dir, "forecast.png");
                        ForecastCommands.PlotForecast(series, eval, info.Season, png);
                        console.Line($"Wrote {png}.");
                    }
                    break;
                }
                case "classify":
                {
                    var info = bundle.Sidecar.Classify!;
                    var (x, labels, description) = inputs.Sequences(r, info, needLabels: true);
                    var data = SequenceDataset<float>.ForClassification(x, info.Features, labels!, info.Classes.Count);
                    var (loss, _) = DatasetLoss.Mean(bundle.Model, data);
                    var predictions = ClassPredictions.Run(bundle.Model, x, info.Steps, info.Features);
                    var confusion = predictions.Confusion(labels!, info.Classes.Count);
                    console.Line($"Evaluating on {description}.");
                    ClassifyCommands.WriteResult(console, loss, predictions.Accuracy(labels!), x.Length, confusion, info.Classes);
                    if (dir is not null)
                    {
                        string png = Path.Combine(dir, "confusion.png");
                        Plots.Confusion(confusion, info.Classes, string.Create(CultureInfo.InvariantCulture, $"Confusion matrix: accuracy {predictions.Accuracy(labels!) * 100:F1}% of {x.Length}"), png);
                        console.Line($"Wrote {png}.");
                    }
                    break;
                }
                default:
                {
                    string path = r.GetValue(file) ?? throw new CliException("--file: give the text to score.");
                    var vocabulary = new Vocabulary(bundle.Sidecar.Text!.Vocabulary);
                    var ids = vocabulary.Encode(TextCommands.ReadText(path), (line, column) => $"{path} line {line}, column {column}");
                    if (ids.Length < 2) throw new CliException($"{path}: needs at least 2 characters to predict one from another.");
                    var data = SequenceDataset<float>.ForLanguageModel(ids, Math.Max(1, bundle.Sidecar.Text.SequenceLength), vocabulary.Count);
                    var (loss, count) = DatasetLoss.Mean(bundle.Model, data);
                    console.Line(string.Create(CultureInfo.InvariantCulture,
                        $"{path}: {loss:F4} nats/char ({loss / Math.Log(2):F3} bits/char, perplexity {Math.Exp(loss):F2}) over {count} predicted characters."));
                    break;
                }
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The longest recursive forecast <c>predict --steps</c> makes (each step feeds on the ones before).</summary>
    public const int MaxForecastSteps = 100_000;

    /// <summary>Labels for the <paramref name="count"/> points after the series: months continue <c>yyyy-MM</c> labels (while they stay within year 9999), else "+k".</summary>
    public static string[] NextLabels(Series series, int count)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (series.Labels is { Length: > 0 } labels &&
            DateTime.TryParseExact(labels[^1], "yyyy-MM", CultureInfo.InvariantCulture, DateTimeStyles.None, out var last) &&
            (DateTime.MaxValue.Year - last.Year) * 12L + (12 - last.Month) >= count)
            return [.. Enumerable.Range(1, count).Select(k => last.AddMonths(k).ToString("yyyy-MM", CultureInfo.InvariantCulture))];
        return [.. Enumerable.Range(1, count).Select(k => "+" + k.ToString(CultureInfo.InvariantCulture))];
    }

    private static void WriteRows(CliConsole console, string[] header, List<string[]> rows, int max)
    {
        var table = new Table { Border = TableBorder.Rounded };
        foreach (var h in header) table.AddColumn(new TableColumn(Markup.Escape(h)));
        foreach (var row in rows.Take(max)) table.AddRow(row.Select(Markup.Escape).ToArray());
        console.Ansi.Write(table);
        if (rows.Count > max) console.Line($"... {rows.Count - max} more; --output FILE writes them all.");
    }

    private static void WriteCsv(string path, string[] header, List<string[]> rows)
    {
        static string Quote(string s) => s.Contains(',') || s.Contains('"') ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
        var lines = new[] { string.Join(',', header.Select(Quote)) }.Concat(rows.Select(r => string.Join(',', r.Select(Quote))));
        AtomicFile.WriteAllText(path, string.Concat(lines.Select(line => line + Environment.NewLine)));  // creates the folder
    }
}
