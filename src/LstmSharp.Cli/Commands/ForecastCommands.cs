using System.CommandLine;
using System.Globalization;
using LstmSharp.Cli.Forecasting;
using LstmSharp.Cli.Output;
using LstmSharp.Cli.Training;
using LstmSharp.Models;
using LstmSharp.Training;
using Spectre.Console;

namespace LstmSharp.Cli.Commands;

/// <summary><c>lstm train forecast</c>, and the forecast side of <c>predict</c> and <c>evaluate</c>.</summary>
public static class ForecastCommands
{
    /// <summary>The task's training defaults.</summary>
    public static readonly TaskDefaults Defaults = new("forecast", Layers: 1, Hidden: 32, Epochs: 100, Batch: 16, LearningRate: 3e-3, Clip: 1.0, ValidationFraction: 0.1);

    /// <summary>Examples for <c>--help</c>.</summary>
    public static readonly string[] TrainExamples =
    [
        "lstm train forecast                      # the built-in airline passengers, 24 test months",
        "lstm train forecast --csv sales.csv --column units --date-column month --log --window 24 --horizon 12 --test 24",
        "lstm train forecast --csv load.csv --column mw --season 24 --window 48 --horizon 24 --epochs 50 --out runs/load",
        "lstm train forecast --resume             # continue an interrupted run in runs/forecast",
    ];

    /// <summary>The <c>train forecast</c> command.</summary>
    public static Command Train(CliApp app)
    {
        var command = new Command("forecast",
            "Train a time-series forecaster and compare it with seasonal-naive and last-value baselines on the held-out end of the series.\n" +
            "With no --csv it uses the built-in monthly airline passengers 1949-1960 (Box & Jenkins) with --log and the last 24 months held out.\n" +
            "The LSTM learns the correction to seasonal naive: the standardized seasonal difference of log(y) (or y), d[t] = z[t] - z[t - season].\n" +
            "Each sample reads --window steps of d and predicts the next --horizon values of d at once (direct); longer forecasts feed\n" +
            "predictions back (recursive by blocks). The scaler is fitted on the training part only; the split is by time.\n" +
            "Leaves model.safetensors, model.json, checkpoint.safetensors, loss.png and forecast.png in --out.");
        var input = new SeriesOptions(command);
        var window = new Option<int>("--window") { Description = "Input steps per sample (W).", DefaultValueFactory = _ => 24 };
        var horizon = new Option<int>("--horizon") { Description = "Values predicted per model call; longer forecasts are recursive.", DefaultValueFactory = _ => 12 };
        var season = new Option<int>("--season") { Description = "Seasonal period: of the seasonal-naive baseline and of the differences the model learns (1: none).", DefaultValueFactory = _ => 12 };
        var test = new Option<int?>("--test") { Description = "Values held out at the end for testing (default: 24 for the built-in series, else 20% of the series, at least --horizon)." };
        var log = new Option<bool?>("--log") { Description = "Model log(y): for positive series that grow multiplicatively (default: on for the built-in series, off for a CSV)." };
        foreach (Option o in new Option[] { window, horizon, season, test, log }) command.Options.Add(o);
        var common = new TrainOptionSet(command, Defaults);
        app.SetAction(command, r => TrainRun(app.Console, common.Read(r), input.Load(r), r.GetValue(window), r.GetValue(horizon), r.GetValue(season), r.GetValue(test), r.GetValue(log)));
        return command;
    }

    private static int TrainRun(CliConsole console, TrainSettings s, Series series, int window, int horizon, int season, int? testOption, bool? logOption)
    {
        bool builtIn = series.Csv is null;
        bool log = logOption ?? builtIn;
        int n = series.Values.Length;
        int test = testOption ?? (builtIn ? 24 : Math.Max(horizon, (int)Math.Round(0.2 * n)));
        if (n < 2) throw new CliException($"the series holds {n} value{(n == 1 ? "" : "s")}; a forecaster needs at least 2: some to train on and some held out to test.");
        if (test < 1 || test >= n) throw new CliException($"--test: expected 1..{n - 1} held-out values for a series of {n}, got {test}.");
        int trainCount = n - test;
        var forecaster = SeasonalResidualForecaster.Fit(series.Values, trainCount, window, horizon, season, log);
        var origins = forecaster.Origins(trainCount).ToArray();
        if (s.Limit > 0) origins = origins[^Math.Min(s.Limit, origins.Length)..];
        int valCount = origins.Length >= 2 && s.ValidationFraction > 0 ? Math.Clamp((int)Math.Round(origins.Length * s.ValidationFraction), 1, origins.Length - 1) : 0;
        var (inputs, targets) = forecaster.Samples(series.Values, origins);
        var all = SequenceDataset<float>.ForRegression(inputs, SeasonalResidualForecaster.InputSize, targets);
        // The horizon - 1 windows before the validation ones are left out: their targets would be validation targets,
        // so the validation loss would be partly in-sample (as many as leave at least one training window).
        int gap = valCount > 0 ? Math.Clamp(horizon - 1, 0, origins.Length - valCount - 1) : 0;
        var train = all.Subset(Enumerable.Range(0, origins.Length - valCount - gap));
        var validation = valCount > 0 ? all.Subset(Enumerable.Range(origins.Length - valCount, valCount)) : null;

        var config = new ModelConfig
        {
            Kind = ModelKind.Regression,
            InputSize = SeasonalResidualForecaster.InputSize,
            OutputSize = horizon,
            HiddenSize = s.Hidden,
            NumLayers = s.Layers,
            Bidirectional = s.Bidirectional,
            Dropout = s.Layers > 1 ? s.Dropout : 0,
            HeadDropout = s.Dropout,
        };
        var model = new SequenceModel<float>(config, s.Seed);
        console.Line($"Forecasting {series.Name}: {n} values.");
        console.Line($"Training part {series.Label(0)}..{series.Label(trainCount - 1)} ({trainCount} values), test part {series.Label(trainCount)}..{series.Label(n - 1)} ({test} values).");
        console.Line(string.Create(CultureInfo.InvariantCulture,
            $"The LSTM ({s.Layers}x{s.Hidden}{(s.Bidirectional ? ", bidirectional" : "")}, {model.ParameterCount} parameters) learns the standardized seasonal difference of {(log ? "log(y)" : "y")} (season {season}):") +
            $" {window} steps in, {horizon} out (direct), recursive beyond; {train.Count} training windows, {valCount} validation (the latest).");
        if (s.ApplyThreads() is { } threadsNote) console.Line($"Note: {threadsNote}");
        var outcome = TrainingSession.Run(console, s, model, train, validation);
        if (outcome.Interrupted) return ExitCodes.Interrupted;

        var eval = ForecastEvaluation.Run(model, forecaster, series.Values, test);
        console.Line(string.Create(CultureInfo.InvariantCulture,
            $"Trained {outcome.EpochsDescription} in {outcome.TrainSeconds:F1} s ({outcome.SamplesPerSecond:F0} samples/s)."));
        WriteTable(console, eval, series, season, test);
        double gain = 1 - eval.Rmse / eval.SeasonalNaiveRmse;
        console.Line(eval.Rmse < eval.SeasonalNaiveRmse
            ? string.Create(CultureInfo.InvariantCulture, $"The LSTM beats seasonal naive: test RMSE {eval.Rmse:F2} vs {eval.SeasonalNaiveRmse:F2} ({gain * 100:F0}% lower).")
            : string.Create(CultureInfo.InvariantCulture, $"The LSTM does not beat seasonal naive: test RMSE {eval.Rmse:F2} vs {eval.SeasonalNaiveRmse:F2}."));

        var sidecar = new ModelSidecar
        {
            Task = "forecast",
            Config = Strip(config.ToMetadata()),
            Forecast = new ForecastInfo
            {
                Window = window,
                Horizon = horizon,
                Season = season,
                Log = log,
                ScalerMean = forecaster.Scaler.Mean,
                ScalerStd = forecaster.Scaler.Std,
                Test = test,
                Values = n,
                Csv = series.Csv is null ? null : Path.GetFullPath(series.Csv),
                Column = series.Column,
                DateColumn = series.DateColumn,
            },
            Training = s.Describe(),
        };
        string modelPath = ModelBundle.Save(model, sidecar, s.Out);
        string lossPng = Path.Combine(s.Out, "loss.png"), forecastPng = Path.Combine(s.Out, "forecast.png");
        Plots.Loss(outcome.Result.History, "MSE of standardized seasonal differences", lossPng);
        PlotForecast(series, eval, season, forecastPng);
        if (s.MetricsJson is { } metricsPath)
        {
            new MetricsJson("forecast", outcome.Result.History.Count, outcome.TrainSeconds, outcome.SamplesPerSecond, outcome.BestValidationLoss, eval.TestLoss)
                .Add("test_rmse", eval.Rmse).Add("test_mae", eval.Mae)
                .Add("baseline_rmse", eval.SeasonalNaiveRmse).Add("baseline_mae", eval.SeasonalNaiveMae)
                .Add("drift_rmse", eval.SeasonalDriftRmse).Add("drift_mae", eval.SeasonalDriftMae)
                .Add("last_value_rmse", eval.LastValueRmse).Add("last_value_mae", eval.LastValueMae)
                .Save(metricsPath);
        }
        console.Line($"Wrote {forecastPng} (actual vs forecast) and {lossPng}.");
        console.Line($"Model: {modelPath} (+ {ModelBundle.SidecarFile}); checkpoint: {s.CheckpointPath}" + (s.MetricsJson is null ? "." : $"; metrics: {s.MetricsJson}."));
        return ExitCodes.Ok;
    }

    /// <summary>Prints the RMSE/MAE table of the model and the baselines.</summary>
    public static void WriteTable(CliConsole console, ForecastEvaluation eval, Series series, int season, int test)
    {
        var table = new Table { Border = TableBorder.Rounded };
        table.Title = new TableTitle(Markup.Escape($"forecast of the {test} test values from {series.Label(eval.Origin - 1)}"));
        table.AddColumn("model");
        table.AddColumn(new TableColumn("test RMSE").RightAligned());
        table.AddColumn(new TableColumn("test MAE").RightAligned());
        string F(double v) => v.ToString("F2", CultureInfo.InvariantCulture);
        table.AddRow("LSTM", F(eval.Rmse), F(eval.Mae));
        table.AddRow(Markup.Escape($"seasonal naive (s = {season})"), F(eval.SeasonalNaiveRmse), F(eval.SeasonalNaiveMae));
        table.AddRow("seasonal naive + drift", F(eval.SeasonalDriftRmse), F(eval.SeasonalDriftMae));
        table.AddRow("last value", F(eval.LastValueRmse), F(eval.LastValueMae));
        console.Ansi.Write(table);
    }

    /// <summary>Writes forecast.png.</summary>
    public static void PlotForecast(Series series, ForecastEvaluation eval, int season, string path) =>
        Plots.Forecast(series.Values, eval.Origin, eval.Forecast, eval.SeasonalNaive, $"seasonal naive (s = {season})", series.Labels,
            string.Create(CultureInfo.InvariantCulture, $"{series.Title}: test RMSE LSTM {eval.Rmse:F1}, seasonal naive {eval.SeasonalNaiveRmse:F1}"),
            series.Column ?? "value", path);

    /// <summary>The configuration's metadata without the <c>model.</c> prefix.</summary>
    public static Dictionary<string, string> Strip(Dictionary<string, string> metadata) =>
        metadata.ToDictionary(kv => kv.Key.StartsWith("model.", StringComparison.Ordinal) ? kv.Key["model.".Length..] : kv.Key, kv => kv.Value);

    /// <summary>The forecaster a saved model was trained with.</summary>
    public static SeasonalResidualForecaster Forecaster(ForecastInfo f) =>
        new(f.Window, f.Horizon, f.Season, f.Log, new StandardScaler(f.ScalerMean, f.ScalerStd));
}

/// <summary>--csv, --column and --date-column: a CSV series, or the built-in one without --csv.</summary>
public sealed class SeriesOptions
{
    private readonly Option<string?> _csv, _column, _date;

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public SeriesOptions(Command command)
    {
        ArgumentNullException.ThrowIfNull(command);
        _csv = new("--csv") { Description = "CSV file with a header line; rows in time order. Without it: the built-in airline passengers." };
        _column = new("--column") { Description = "The CSV column to forecast." };
        _date = new("--date-column") { Description = "A CSV column of dates (or any labels) for the plot and messages." };
        command.Options.Add(_csv);
        command.Options.Add(_column);
        command.Options.Add(_date);
    }

    /// <summary>The series given, or the built-in one.</summary>
    public Series Load(ParseResult result) => Load(result, null);

    /// <summary>The series given; without --csv, the one named by <paramref name="fallback"/> (a model's sidecar) or the built-in one.</summary>
    public Series Load(ParseResult result, ForecastInfo? fallback)
    {
        ArgumentNullException.ThrowIfNull(result);
        string? csv = result.GetValue(_csv);
        if (csv is null && fallback?.Csv is { } trained) return Series.FromCsv(trained, fallback.Column, fallback.DateColumn);
        if (csv is null)
        {
            if (result.GetValue(_column) is not null) throw new CliException("--column: needs --csv (without --csv the built-in airline series is used).");
            return Series.Airline();
        }
        return Series.FromCsv(csv, result.GetValue(_column) ?? fallback?.Column, result.GetValue(_date) ?? (result.GetValue(_column) is null ? fallback?.DateColumn : null));
    }
}
