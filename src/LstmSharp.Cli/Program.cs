using LstmSharp.Cli.Commands;
using LstmSharp.Cli.Output;

// The `lstm` tool: see `lstm --help`. Ctrl+C asks a running training to stop: it saves a checkpoint and exits;
// a second Ctrl+C ends the process at once.
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (cancel.IsCancellationRequested) return;
    e.Cancel = true;
    cancel.Cancel();
};
var console = new CliConsole(Console.Out, Console.Error, interactive: !Console.IsOutputRedirected, cancel.Token);
return CliApp.Run(args, console);
