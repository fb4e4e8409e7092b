using System.CommandLine;
namespace LstmSharp.Cli.Commands;
public static class TextCommands { public static readonly string[] TrainExamples = [], GenerateExamples = []; public static Command Train(CliApp a) => new("text"); public static Command Generate(CliApp a) => new("generate"); }
public static class ClassifyCommands { public static readonly string[] TrainExamples = []; public static Command Train(CliApp a) => new("classify"); }
public static class UseCommands { public static readonly string[] PredictExamples = [], EvaluateExamples = []; public static Command Predict(CliApp a) => new("predict"); public static Command Evaluate(CliApp a) => new("evaluate"); }
public static class InfoCommand { public static readonly string[] Examples = []; public static Command Create(CliApp a) => new("info"); }
public static class InspectCommand { public static readonly string[] Examples = []; public static Command Create(CliApp a) => new("inspect"); }
