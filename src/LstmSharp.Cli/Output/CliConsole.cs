using Spectre.Console;

namespace LstmSharp.Cli.Output;

/// <summary>
/// Where the tool writes: results to <see cref="Out"/>, errors to <see cref="Error"/>, tables and the live progress
/// bar through <see cref="Ansi"/>. Not <see cref="Interactive"/> (output redirected, tests): plain lines, no bar.
/// <see cref="Cancellation"/> fires on Ctrl+C.
/// </summary>
public sealed class CliConsole
{
    /// <summary>A console writing to the given writers.</summary>
    public CliConsole(TextWriter output, TextWriter error, bool interactive, CancellationToken cancellation = default)
    {
        Out = output;
        Error = error;
        Interactive = interactive;
        Cancellation = cancellation;
        Ansi = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!interactive) Ansi.Profile.Width = 160;                           // tables are not wrapped to 80 columns in logs
    }

    /// <summary>Standard output.</summary>
    public TextWriter Out { get; }

    /// <summary>Standard error.</summary>
    public TextWriter Error { get; }

    /// <summary>Whether a person watches a terminal: live progress bars instead of plain lines.</summary>
    public bool Interactive { get; }

    /// <summary>Fires when the user asks to stop (Ctrl+C).</summary>
    public CancellationToken Cancellation { get; }

    /// <summary>Spectre.Console over <see cref="Out"/>.</summary>
    public IAnsiConsole Ansi { get; }

    /// <summary>Writes a line of plain text (no markup): through Spectre on a terminal (it may be above a live bar), else unwrapped.</summary>
    public void Line(string text = "")
    {
        if (Interactive) Ansi.WriteLine(text);
        else Out.WriteLine(text);
    }
}
