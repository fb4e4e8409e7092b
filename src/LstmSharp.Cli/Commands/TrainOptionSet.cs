using System.CommandLine;
using LstmSharp.Cli.Training;

namespace LstmSharp.Cli.Commands;

/// <summary>The defaults of one task's training options.</summary>
public sealed record TaskDefaults(string Task, int Layers, int Hidden, int Epochs, int Batch, double LearningRate, double Clip, double ValidationFraction, int Patience = 0);

/// <summary>The options every <c>lstm train</c> command takes, with that command's defaults.</summary>
public sealed class TrainOptionSet
{
    private readonly Option<int> _layers, _hidden, _epochs, _batch, _threads, _limit, _patience;
    private readonly Option<double> _dropout, _lr, _clip, _valFraction;
    private readonly Option<double?> _maxMinutes;
    private readonly Option<bool> _bidirectional, _resume;
    private readonly Option<string> _optimizer, _out;
    private readonly Option<ulong> _seed;
    private readonly Option<string?> _metricsJson;

    /// <summary>Creates the options with <paramref name="d"/>'s defaults and adds them to <paramref name="command"/>.</summary>
    public TrainOptionSet(Command command, TaskDefaults d)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(d);
        _layers = new("--layers") { Description = "Stacked LSTM layers (L).", DefaultValueFactory = _ => d.Layers };
        _hidden = new("--hidden") { Description = "Hidden units per layer (H).", DefaultValueFactory = _ => d.Hidden };
        _dropout = new("--dropout") { Description = "Dropout between LSTM layers and before the output layer.", DefaultValueFactory = _ => 0.0 };
        _bidirectional = new("--bidirectional") { Description = "Also read each sequence backwards (D = 2)." };
        _epochs = new("--epochs") { Description = "Epochs in all; a resumed run continues up to this count.", DefaultValueFactory = _ => d.Epochs };
        _batch = new("--batch") { Description = "Sequences per mini-batch.", DefaultValueFactory = _ => d.Batch };
        _lr = new("--lr") { Description = "Learning rate.", DefaultValueFactory = _ => d.LearningRate };
        _optimizer = new("--optimizer") { Description = "adam, adamw (weight decay 0.01), sgd (momentum 0.9) or rmsprop.", DefaultValueFactory = _ => "adam" };
        _optimizer.AcceptOnlyFromAmong("adam", "adamw", "sgd", "rmsprop");
        _clip = new("--clip") { Description = "Clip the gradients' global L2 norm to this; 0 for none.", DefaultValueFactory = _ => d.Clip };
        _seed = new("--seed") { Description = "Seed of the weights, shuffling, dropout and data splits: the same seed gives the same run.", DefaultValueFactory = _ => 1UL };
        _threads = new("--threads") { Description = "Threads to compute on: 1 for one; 0 (all cores) or more for as many as the kernels use, which is 2 (they split each product or batch in two). Results are the same either way.", DefaultValueFactory = _ => 0 };
        _maxMinutes = new("--max-minutes") { Description = "Stop training after this many minutes (a checkpoint is saved), then evaluate and save as usual." };
        _out = new("--out", "-o") { Description = "Folder for the model, its JSON, the checkpoint and the plots.", DefaultValueFactory = _ => Path.Combine("runs", d.Task) };
        _resume = new("--resume") { Description = "Continue from the checkpoint in --out (give the same data and options)." };
        _metricsJson = new("--metrics-json") { Description = "Also write the metrics as JSON to this file." };
        _limit = new("--limit") { Description = "Use at most this many training sequences (and test sequences), for a quick smoke run; 0: all.", DefaultValueFactory = _ => 0 };
        _patience = new("--patience")
        {
            Description = "Stop after this many epochs without a better validation loss, and keep the weights of the best epoch " +
                          "(also when --max-minutes ends the run); 0: train every epoch and keep the last weights.",
            DefaultValueFactory = _ => d.Patience,
        };
        _valFraction = new("--val-fraction") { Description = "Share of the training data held out for validation.", DefaultValueFactory = _ => d.ValidationFraction };
        foreach (Option o in new Option[] { _layers, _hidden, _dropout, _bidirectional, _epochs, _batch, _lr, _optimizer, _clip, _seed, _threads,
                     _maxMinutes, _out, _resume, _metricsJson, _limit, _valFraction, _patience })
            command.Options.Add(o);
    }

    /// <summary>The values given (or defaulted), validated.</summary>
    public TrainSettings Read(ParseResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var s = new TrainSettings(result.GetValue(_layers), result.GetValue(_hidden), result.GetValue(_dropout), result.GetValue(_bidirectional),
            result.GetValue(_epochs), result.GetValue(_batch), result.GetValue(_lr), result.GetValue(_optimizer)!, result.GetValue(_clip),
            result.GetValue(_seed), result.GetValue(_threads), result.GetValue(_maxMinutes), result.GetValue(_out)!, result.GetValue(_resume),
            result.GetValue(_metricsJson), result.GetValue(_limit), result.GetValue(_valFraction), result.GetValue(_patience));
        s.Validate();
        return s;
    }
}
