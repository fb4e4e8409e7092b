using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using LstmSharp.Cli.Output;
using LstmSharp.Training;

namespace LstmSharp.Cli.Commands;

/// <summary>
/// The <c>lstm</c> command tree (System.CommandLine). Every command's action runs under <see cref="Guard"/>: bad
/// input becomes one line on stderr and a non-zero exit code, with the stack trace only under <c>--verbose</c>.
/// </summary>
public sealed class CliApp
{
    private readonly Dictionary<Command, string[]> _examples = [];
    private readonly Dictionary<Command, string> _details = [];

    private CliApp(CliConsole console)
    {
        Console = console;
        Verbose = new Option<bool>("--verbose", "-v") { Description = "Print stack traces with errors.", Recursive = true };
    }

    /// <summary>Where output goes.</summary>
    public CliConsole Console { get; }

    /// <summary>The global <c>--verbose</c> option.</summary>
    public Option<bool> Verbose { get; }

    /// <summary>
    /// Refuses an option given on the command line that the model's <paramref name="task"/> does not read (it would be
    /// ignored without a word): each option with the tasks that use it.
    /// </summary>
    public static void RefuseOtherTasksOptions(ParseResult result, string task, params (Option Option, string[] Tasks)[] options)
    {
        foreach (var (option, tasks) in options)
            if (!tasks.Contains(task) && result.GetResult(option) is { Implicit: false })
                throw new CliException($"{option.Name}: applies to {string.Join(" and ", tasks)} models; this is a {task} model.");
    }

    /// <summary>Parses <paramref name="args"/> and runs the command; returns the exit code.</summary>
    public static int Run(string[] args, CliConsole console)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(console);
        var app = new CliApp(console);
        var root = app.BuildRoot();
        var invocation = new InvocationConfiguration { Output = console.Out, Error = console.Error, EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
        var parsed = root.Parse(args);
        if (parsed.Action is ParseErrorAction parseError) parseError.ShowHelp = false;    // the error alone; --help shows the rest
        return parsed.Invoke(invocation);
    }

    /// <summary>
    /// Adds <paramref name="child"/> under <paramref name="parent"/>, with examples shown by its <c>--help</c>. A
    /// description of several lines keeps its first as the summary listed by the parent; the rest is shown as
    /// "Details" by the command's own <c>--help</c>.
    /// </summary>
    public Command Add(Command parent, Command child, params string[] examples)
    {
        parent.Subcommands.Add(child);
        _examples[child] = examples;
        if (child.Description is { } description && description.Contains('\n', StringComparison.Ordinal))
        {
            int cut = description.IndexOf('\n', StringComparison.Ordinal);
            child.Description = description[..cut];
            _details[child] = description[(cut + 1)..];
        }
        return child;
    }

    /// <summary>Sets <paramref name="command"/>'s action to <paramref name="body"/> run under <see cref="Guard"/>.</summary>
    public void SetAction(Command command, Func<ParseResult, int> body) =>
        command.SetAction(result => Guard(result.GetValue(Verbose), () => body(result)));

    /// <summary>Runs <paramref name="body"/>, turning the errors a user can cause into one line and an exit code.</summary>
    public int Guard(bool verbose, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (CliException e)
        {
            return Fail(e, e.Message, e.ExitCode, verbose);
        }
        catch (TrainingDivergedException e)
        {
            return Fail(e, e.Message, ExitCodes.Diverged, verbose);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or ArgumentException or FormatException)
        {
            return Fail(e, e.Message, ExitCodes.BadInput, verbose);
        }
    }

    private int Fail(Exception e, string message, int code, bool verbose)
    {
        Console.Error.WriteLine($"lstm: error: {message}");
        if (verbose) Console.Error.WriteLine(e.ToString());
        return code;
    }

    private RootCommand BuildRoot()
    {
        var root = new RootCommand(
            "lstm: train, evaluate, inspect and use LSTM models built with LstmSharp (a from-scratch C# LSTM with PyTorch semantics). " +
            "With no data given, 'lstm train forecast' trains a forecaster on the built-in airline passengers series.");
        root.Options.Add(Verbose);
        var train = Add(root, new Command("train", "Train a model: a time-series forecaster, a character-level language model, or a sequence classifier."),
            "lstm train forecast", "lstm train text --file input.txt", "lstm train classify --idx /usr/share/datasets/fashion-mnist");
        Add(train, ForecastCommands.Train(this), ForecastCommands.TrainExamples);
        Add(train, TextCommands.Train(this), TextCommands.TrainExamples);
        Add(train, ClassifyCommands.Train(this), ClassifyCommands.TrainExamples);
        Add(root, TextCommands.Generate(this), TextCommands.GenerateExamples);
        Add(root, UseCommands.Predict(this), UseCommands.PredictExamples);
        Add(root, UseCommands.Evaluate(this), UseCommands.EvaluateExamples);
        Add(root, InfoCommand.Create(this), InfoCommand.Examples);
        Add(root, InspectCommand.Create(this), InspectCommand.Examples);
        Add(root, ExportCommand.Create(this), ExportCommand.Examples);
        Add(root, DemoCommand.Create(this), DemoCommand.Examples);
        _examples[root] = ["lstm train forecast", "lstm train forecast --csv sales.csv --column units --date-column month --window 24 --horizon 12 --log",
            "lstm info --model runs/forecast", "lstm train forecast --help"];
        root.SetAction(result => root.Parse(["--help"]).Invoke(result.InvocationConfiguration));
        foreach (var help in root.Options.OfType<HelpOption>())
            if (help.Action is HelpAction action)
            {
                action.MaxWidth = 110;
                help.Action = new ExamplesHelpAction(action, _details, _examples);
            }
        return root;
    }

    /// <summary>The standard help, then the command's details and examples.</summary>
    private sealed class ExamplesHelpAction(HelpAction help, Dictionary<Command, string> details, Dictionary<Command, string[]> examples) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            int code = help.Invoke(parseResult);
            var output = parseResult.InvocationConfiguration.Output;
            if (details.TryGetValue(parseResult.CommandResult.Command, out var text))
            {
                output.WriteLine("Details:");
                foreach (var line in text.Split('\n')) output.WriteLine("  " + line);
                output.WriteLine();
            }
            if (examples.TryGetValue(parseResult.CommandResult.Command, out var lines) && lines.Length > 0)
            {
                output.WriteLine("Examples:");
                foreach (var line in lines) output.WriteLine("  " + line);
                output.WriteLine();
            }
            return code;
        }
    }

    private static IEnumerable<Command> AllCommands(Command command) => new[] { command }.Concat(command.Subcommands.SelectMany(AllCommands));
}
