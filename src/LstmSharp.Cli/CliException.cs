namespace LstmSharp.Cli;

/// <summary>
/// A problem with what the user gave (a file, an option, a model): printed as one line, with no stack trace unless
/// <c>--verbose</c>, and the process exits with <see cref="ExitCode"/>.
/// </summary>
public sealed class CliException(string message, int exitCode = ExitCodes.BadInput) : Exception(message)
{
    /// <summary>The process exit code.</summary>
    public int ExitCode { get; } = exitCode;
}

/// <summary>The tool's exit codes.</summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;

    /// <summary>Bad input: a missing or malformed file, a bad option value, a model that does not fit.</summary>
    public const int BadInput = 1;

    /// <summary>Training diverged (NaN or infinity).</summary>
    public const int Diverged = 3;

    /// <summary>Interrupted with Ctrl+C; a checkpoint was saved.</summary>
    public const int Interrupted = 130;
}
