using System.Diagnostics;
using System.Globalization;
using LstmSharp.Training;
using Spectre.Console;

namespace LstmSharp.Cli.Output;

/// <summary>
/// Shows training progress: a live Spectre.Console bar (epoch, loss, samples/s, ETA) on a terminal, plain lines when
/// the output is redirected: about 25 epoch lines in all, plus one whenever 15 s have passed since the last epoch line
/// (so long epochs print one each), and a line every 15 s within an epoch.
/// </summary>
public sealed class TrainingProgress : ITrainingObserver
{
    private readonly CliConsole _console;
    private readonly int _epochs;
    private readonly int _batchesPerEpoch;
    private readonly long _firstStep;
    private readonly int _every;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan _lastLine, _lastEpochLine;
    private ProgressTask? _task;
    private EpochReport? _lastEpoch;

    /// <summary>Progress of a run of <paramref name="epochs"/> epochs of <paramref name="batchesPerEpoch"/> batches, starting after <paramref name="completedBatches"/> (a resumed run).</summary>
    public TrainingProgress(CliConsole console, int epochs, int batchesPerEpoch, long completedBatches)
    {
        _console = console;
        _epochs = epochs;
        _batchesPerEpoch = Math.Max(1, batchesPerEpoch);
        _firstStep = completedBatches;
        _every = Math.Max(1, (int)Math.Ceiling(epochs / 25.0));
    }

    /// <summary>Runs <paramref name="fit"/> under a live bar when the console is interactive, else just runs it.</summary>
    public T Run<T>(Func<T> fit)
    {
        if (!_console.Interactive) return fit();
        return _console.Ansi.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                _task = ctx.AddTask(Describe(0, 0, 0, null), autoStart: true, maxValue: (double)_epochs * _batchesPerEpoch);
                _task.Value = _firstStep;
                try
                {
                    return fit();
                }
                finally
                {
                    _task.StopTask();
                }
            });
    }

    /// <inheritdoc/>
    public void OnBatchEnd(BatchReport report)
    {
        long done = (long)(report.Epoch - 1) * _batchesPerEpoch + report.Batch;
        var eta = Eta(done);
        if (_task is not null)
        {
            _task.Value = done;
            _task.Description = Describe(report.Epoch, report.EpochLoss, report.SamplesPerSecond, eta);
        }
        else if (_clock.Elapsed - _lastLine > TimeSpan.FromSeconds(15) && report.Batch < report.BatchesPerEpoch)
        {
            _lastLine = _clock.Elapsed;
            _console.Line(string.Create(CultureInfo.InvariantCulture,
                $"epoch {report.Epoch}/{_epochs}  batch {report.Batch}/{report.BatchesPerEpoch}  loss {report.EpochLoss:F4}  {report.SamplesPerSecond:F0} samples/s  ETA {Format(eta)}"));
        }
    }

    /// <inheritdoc/>
    public void OnEpochEnd(EpochReport report)
    {
        _lastEpoch = report;
        if (_task is not null)
            _task.Description = Describe(report.Epoch, report.TrainLoss, report.SamplesPerSecond, Eta((long)report.Epoch * _batchesPerEpoch));
        bool due = report.Epoch % _every == 0 || report.Epoch == _epochs || report.Epoch == 1
                   || _clock.Elapsed - _lastEpochLine > TimeSpan.FromSeconds(15);  // long epochs: every one
        if (!due) return;
        _lastLine = _lastEpochLine = _clock.Elapsed;
        string line = string.Create(CultureInfo.InvariantCulture,
            $"epoch {report.Epoch,3}/{_epochs}  train loss {report.TrainLoss:F4}") +
            (report.TrainAccuracy is { } ta ? string.Create(CultureInfo.InvariantCulture, $" (acc {ta * 100:F1}%)") : "") +
            (report.ValidationLoss is { } vl ? string.Create(CultureInfo.InvariantCulture, $"  val loss {vl:F4}") : "") +
            (report.ValidationAccuracy is { } va ? string.Create(CultureInfo.InvariantCulture, $" (acc {va * 100:F1}%)") : "") +
            string.Create(CultureInfo.InvariantCulture, $"  {report.SamplesPerSecond:F0} samples/s  {report.Seconds:F1} s") +
            (report.IsBest ? "  best" : "");
        _console.Line(line);
    }

    private TimeSpan? Eta(long done)
    {
        long ran = done - _firstStep, left = (long)_epochs * _batchesPerEpoch - done;
        if (ran <= 0) return null;
        return TimeSpan.FromSeconds(_clock.Elapsed.TotalSeconds / ran * left);
    }

    private string Describe(int epoch, double loss, double samplesPerSecond, TimeSpan? eta)
    {
        string val = _lastEpoch?.ValidationLoss is { } v ? string.Create(CultureInfo.InvariantCulture, $"  val {v:F4}") : "";
        return Markup.Escape(string.Create(CultureInfo.InvariantCulture,
            $"epoch {Math.Max(epoch, 1)}/{_epochs}  loss {loss:F4}{val}  {samplesPerSecond:F0} samples/s  ETA {Format(eta)}"));
    }

    private static string Format(TimeSpan? eta) => eta is not { } t ? "--:--"
        : t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : t.ToString(@"m\:ss", CultureInfo.InvariantCulture);
}
