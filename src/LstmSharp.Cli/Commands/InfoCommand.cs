using System.CommandLine;
using System.Globalization;
using LstmSharp.Cli.Training;
using Spectre.Console;

namespace LstmSharp.Cli.Commands;

/// <summary><c>lstm info</c>: a model's summary.</summary>
public static class InfoCommand
{
    /// <summary>Examples for <c>--help</c>.</summary>
    public static readonly string[] Examples = ["lstm info --model runs/forecast", "lstm info --model runs/shakespeare/model.safetensors"];

    /// <summary>The command.</summary>
    public static Command Create(CliApp app)
    {
        var command = new Command("info", "Summarize a trained model: task, layers, every parameter's shape and count, and what its JSON file holds.");
        var model = new Option<string>("--model", "-m") { Description = "The model: a run folder, its model.safetensors or its model.json.", Required = true };
        command.Options.Add(model);
        app.SetAction(command, r => Run(app.Console, ModelBundle.Load(r.GetValue(model)!)));
        return command;
    }

    private static int Run(Output.CliConsole console, ModelBundle bundle)
    {
        var config = bundle.Model.Config;
        var lstm = config.LstmOptions;
        console.Line($"{bundle.ModelPath}: a {bundle.Sidecar.Task} model ({config.Kind}).");
        string input = bundle.Model.Embedding is not null
            ? $"token ids -> embedding {config.VocabSize} x {config.EmbeddingSize}"
            : $"{config.InputSize} feature{(config.InputSize == 1 ? "" : "s")} per step";
        console.Line($"{input} -> LSTM {lstm.NumLayers} layer{(lstm.NumLayers == 1 ? "" : "s")} x {lstm.HiddenSize} hidden" +
            (lstm.ProjSize > 0 ? $", projected to {lstm.ProjSize}" : "") + (lstm.Bidirectional ? ", bidirectional" : "") +
            (config.Dropout > 0 ? string.Create(CultureInfo.InvariantCulture, $", dropout {config.Dropout}") : "") +
            $" -> {(config.IsSequenceToOne ? "last state" : "every step")} -> linear {bundle.Model.FeatureSize} -> {config.HeadOutputSize}" +
            (config.HeadDropout > 0 ? string.Create(CultureInfo.InvariantCulture, $" (dropout {config.HeadDropout} before it)") : "") + ".");
        var table = new Table { Border = TableBorder.Rounded };
        table.AddColumn("parameter");
        table.AddColumn("shape");
        table.AddColumn(new TableColumn("count").RightAligned());
        foreach (var p in bundle.Model.Parameters)
            table.AddRow(Markup.Escape(p.Name), Markup.Escape(p.Value.ShapeString), p.Value.Length.ToString("N0", CultureInfo.InvariantCulture));
        table.AddRow("[bold]total[/]", "", $"[bold]{bundle.Model.ParameterCount.ToString("N0", CultureInfo.InvariantCulture)}[/]");
        console.Ansi.Write(table);
        var s = bundle.Sidecar;
        if (s.Forecast is { } f)
            console.Line(string.Create(CultureInfo.InvariantCulture,
                $"Forecaster: window {f.Window}, horizon {f.Horizon}, season {f.Season}, {(f.Log ? "log, " : "")}seasonal differences scaled by mean {f.ScalerMean:G6} and std {f.ScalerStd:G6}; trained with the last {f.Test} values held out of {(f.Csv is null ? "the built-in airline series" : $"column '{f.Column}' of {f.Csv}")}."));
        if (s.Text is { } t)
            console.Line($"Vocabulary: {t.Vocabulary.Count} characters: {(string.Concat(t.Vocabulary.Select(c => c == "\n" ? "\\n" : c == "\r" ? "\\r" : c == "\t" ? "\\t" : c)))}; sequences of {t.SequenceLength}.");
        if (s.Classify is { } c)
            console.Line($"Input: {c.Steps} steps x {c.Features} features from {c.Source}{(c.Label is null ? "" : $" (label column '{c.Label}')")}; {c.Classes.Count} classes: {string.Join(", ", c.Classes)}.");
        if (s.Training is { } training)
            console.Line("Trained with: " + string.Join(", ", training.Select(kv => $"{kv.Key} {kv.Value}")) + ".");
        return ExitCodes.Ok;
    }
}
