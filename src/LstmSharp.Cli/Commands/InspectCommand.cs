using System.CommandLine;
using System.Globalization;
using System.Text;
using LstmSharp.Cli.Data;
using LstmSharp.Cli.Forecasting;
using LstmSharp.Cli.Output;
using LstmSharp.Cli.Text;
using LstmSharp.Cli.Training;
using LstmSharp.IO;
using LstmSharp.Layers;
using LstmSharp.Tensors;

namespace LstmSharp.Cli.Commands;

/// <summary><c>lstm inspect</c>: the gate activations of one sequence, as CSV and heatmaps.</summary>
public static class InspectCommand
{
    /// <summary>Examples for <c>--help</c>.</summary>
    public static readonly string[] Examples =
    [
        "lstm inspect --model runs/forecast --input airline              # the window before the test months",
        "lstm inspect --model runs/sales --input sales.csv --column units --row 60",
        "lstm inspect --model runs/shakespeare --input \"To be, or not to be\" --out runs/inspect",
        "lstm inspect --model runs/fashion --input /usr/share/datasets/fashion-mnist --row 3",
        "lstm inspect --model runs/gestures --input new.csv --row 2",
    ];

    /// <summary>The command.</summary>
    public static Command Create(CliApp app)
    {
        var command = new Command("inspect",
            "Record the gate activations of one input sequence as CSV and heatmaps.\n" +
            "Writes gates.csv (layer, direction, step, unit, i, f, g, o, c, h) and a heatmap PNG per gate and layer\n" +
            "(step along x, unit along y). --input is, for a text model, the text itself; for a classifier,\n" +
            "a CSV file (row --row) or an IDX folder (test image --row); for a forecaster, a CSV file (with --column) or 'airline', and the\n" +
            "window that ends before value --row (default: before the test part) is used.");
        var model = new Option<string>("--model", "-m") { Description = "The model: a run folder, its model.safetensors or its model.json.", Required = true };
        var input = new Option<string>("--input", "-i") { Description = "The sequence: text, a CSV file, an IDX folder or 'airline' (see above).", Required = true };
        var row = new Option<int?>("--row") { Description = "Which sequence (1-based): a CSV row or test image; for a forecaster, the value the window ends before." };
        var column = new Option<string?>("--column") { Description = "Forecast: the CSV column of the series." };
        var label = new Option<string?>("--label") { Description = "Classify: the CSV's label column to skip (default: the one trained on)." };
        var outDir = new Option<string>("--out", "-o") { Description = "Folder for gates.csv and the heatmaps.", DefaultValueFactory = _ => Path.Combine("runs", "inspect") };
        foreach (Option o in new Option[] { model, input, row, column, label, outDir }) command.Options.Add(o);
        app.SetAction(command, r =>
        {
            var bundle = ModelBundle.Load(r.GetValue(model)!);
            CliApp.RefuseOtherTasksOptions(r, bundle.Sidecar.Task, (row, ["forecast", "classify"]), (column, ["forecast"]), (label, ["classify"]));
            return Run(app.Console, bundle, r.GetValue(input)!, r.GetValue(row), r.GetValue(column), r.GetValue(label), r.GetValue(outDir)!);
        });
        return command;
    }

    private static int Run(CliConsole console, ModelBundle bundle, string input, int? row, string? column, string? label, string outDir)
    {
        var (x, stepLabels, description) = Sequence(bundle, input, row, column, label);   // x [T, I]
        var trace = GateTrace.Record(bundle.Model.Lstm, x);
        Directory.CreateDirectory(outDir);
        string csv = Path.Combine(outDir, "gates.csv");
        WriteCsv(csv, trace);
        int steps = x.Dim(0);
        var pngs = new List<string>();
        foreach (var a in trace)
        {
            string suffix = $"l{a.Layer}{(a.Direction == 1 ? "-reverse" : "")}";
            foreach (var (name, values) in a.Named)
            {
                string png = Path.Combine(outDir, $"gate-{name}-{suffix}.png");
                (double? lo, double? hi) = name switch
                {
                    "i" or "f" or "o" => ((double?)0.0, (double?)1.0),
                    "g" => (-1.0, 1.0),
                    "h" when values.Dim(1) == a.CellCandidate.Dim(1) => (-1.0, 1.0),
                    _ => (null, null),
                };
                Plots.Heatmap(values.Data, steps, values.Dim(1), $"{GateName(name)}, layer {a.Layer}{(a.Direction == 1 ? " (reverse)" : "")}: {description}", png, lo, hi, stepLabels);
                pngs.Add(png);
            }
        }
        console.Line($"Traced {description}: {steps} steps through {trace.Count} layer-direction{(trace.Count == 1 ? "" : "s")}.");
        foreach (var a in trace)
            console.Line(string.Create(CultureInfo.InvariantCulture,
                $"  layer {a.Layer}{(a.Direction == 1 ? " reverse" : "")}: mean i {a.InputGate.Data.Average():F3}, f {a.ForgetGate.Data.Average():F3}, o {a.OutputGate.Data.Average():F3}, |c| max {a.Cell.Data.Max(Math.Abs):F3}"));
        console.Line($"Wrote {csv} and {pngs.Count} heatmaps ({Path.GetFileName(pngs[0])} ...) in {outDir}.");
        return ExitCodes.Ok;
    }

    private static string GateName(string name) => name switch
    {
        "i" => "input gate i",
        "f" => "forget gate f",
        "g" => "candidate g",
        "o" => "output gate o",
        "c" => "cell state c",
        _ => "hidden state h",
    };

    /// <summary>The LSTM's input [T, I] for the sequence named by <paramref name="input"/>, labels for its steps, and a description.</summary>
    private static (Tensor<float> X, string[]? StepLabels, string Description) Sequence(ModelBundle bundle, string input, int? row, string? column, string? label)
    {
        var model = bundle.Model;
        switch (bundle.Sidecar.Task)
        {
            case "text":
            {
                if (input.Length == 0) throw new CliException("--input: expected some text.");
                var vocabulary = new Vocabulary(bundle.Sidecar.Text!.Vocabulary);
                var ids = vocabulary.Encode(input, (l, c) => $"--input: line {l}, position {c}");
                var embedded = model.Embedding!.Forward(ids, 1, ids.Length);     // [1, T, E]
                var labels = ids.Select(i => vocabulary.Characters[i] switch { "\n" => "\\n", " " => "␣", var s => s }).ToArray();
                return (embedded.Reshape(ids.Length, model.Config.EmbeddingSize), labels, $"\"{Shorten(input)}\"");
            }
            case "forecast":
            {
                var info = bundle.Sidecar.Forecast!;
                var series = input.Equals("airline", StringComparison.OrdinalIgnoreCase) ? Series.Airline() : Series.FromCsv(input, column ?? info.Column, null);
                var forecaster = ForecastCommands.Forecaster(info);
                int end = row is { } r ? r - 1 : series.Values.Length - info.Test;
                if (end < info.Season + info.Window || end > series.Values.Length)
                    throw new CliException($"--row: the window must end before a value in {info.Season + info.Window + 1}..{series.Values.Length + 1} (season + window values come first), got {end + 1}.");
                var window = forecaster.InputWindow(series.Values, end);
                var labels = Enumerable.Range(end - info.Window, info.Window).Select(series.Label).ToArray();
                string until = end < series.Values.Length ? $"before {series.Label(end)}" : $"up to {series.Label(end - 1)}, the last";
                return (new Tensor<float>(window, info.Window, 1), labels, $"the {info.Window} values {until}");
            }
            default:
            {
                var info = bundle.Sidecar.Classify!;
                int index = (row ?? 1) - 1;
                float[] x;
                string what;
                if (Directory.Exists(input))
                {
                    if (label is not null) throw new CliException("--label: names a CSV column; IDX files carry their labels.");
                    var data = Classification.ClassifyData.FromIdx(input, index + 1);
                    if (index < 0 || index >= data.TestInputs.Length) throw new CliException($"--row: expected 1..{data.TestInputs.Length}, got {index + 1}.");
                    x = data.TestInputs[index];
                    what = $"test image {index + 1} of {input} (class {info.Classes.ElementAtOrDefault(data.TestLabels[index]) ?? data.TestLabels[index].ToString(CultureInfo.InvariantCulture)})";
                }
                else
                {
                    var file = SequenceCsv.Load(input, label ?? info.Label, info.Steps, info.Features, labelOptional: label is null);  // a label column named must be there
                    if (index < 0 || index >= file.Inputs.Length) throw new CliException($"--row: expected 1..{file.Inputs.Length}, got {index + 1}.");
                    x = file.Inputs[index];
                    what = $"row {index + 1} of {input}" + (file.Labels is null ? "" : $" (label {file.Labels[index]})");
                }
                if (x.Length != info.Steps * info.Features)
                    throw new CliException($"{input}: a sequence has {x.Length} values, but the model reads {info.Steps} x {info.Features}.");
                return (new Tensor<float>(x, info.Steps, info.Features), null, what);
            }
        }
    }

    private static string Shorten(string s) => s.Length <= 40 ? s.Replace("\n", "\\n", StringComparison.Ordinal) : s[..37].Replace("\n", "\\n", StringComparison.Ordinal) + "...";

    /// <summary>Writes the trace a row at a time (a long input's CSV passes a gigabyte: no string could hold it whole).</summary>
    private static void WriteCsv(string path, IReadOnlyList<GateActivations<float>> trace) =>
        AtomicFile.Write(path, stream =>
        {
            using var text = new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), 1 << 16);
            text.Write("layer,direction,step,unit,i,f,g,o,c,h\n");
            foreach (var a in trace)
            {
                int steps = a.Cell.Dim(0), hidden = a.Cell.Dim(1), p = a.Hidden.Dim(1);
                string dir = a.Direction == 1 ? "reverse" : "forward";
                for (int t = 0; t < steps; t++)
                    for (int u = 0; u < Math.Max(hidden, p); u++)
                    {
                        string G(Tensor<float> v, int width) => u < width ? v[t, u].ToString("G6", CultureInfo.InvariantCulture) : "";
                        text.Write(string.Create(CultureInfo.InvariantCulture,
                            $"{a.Layer},{dir},{t},{u},{G(a.InputGate, hidden)},{G(a.ForgetGate, hidden)},{G(a.CellCandidate, hidden)},{G(a.OutputGate, hidden)},{G(a.Cell, hidden)},{G(a.Hidden, p)}\n"));
                    }
            }
        });
}
