// The adding problem (Hochreiter & Schmidhuber, 1997): remember two marked values across T steps and add them.
// Usage: dotnet run -c Release --project examples/AddingProblem -- [T=200] [epochs=30] [hidden=32] [lr=0.01] [forget-bias=1] [seed=1] [batch=32]
using System.Diagnostics;
using System.Globalization;
using LstmSharp.Data;
using LstmSharp.Models;
using LstmSharp.Optimizers;
using LstmSharp.Training;

const string Usage = "usage: AddingProblem [T=200] [epochs=30] [hidden=32] [lr=0.01] [forget-bias=1] [seed=1] [batch=32]";
if (args.Length > 7 || args.Any(a => a is "--help" or "-h"))
{
    Console.Error.WriteLine(args.Length > 7 ? $"{Usage}\ngot {args.Length} arguments." : Usage);
    return args.Length > 7 ? 2 : 0;
}
// Each argument by position, checked: a clear line instead of a stack trace.
double Arg(int index, string name, double fallback, double min, double max, bool whole)
{
    if (args.Length <= index) return fallback;
    if (!double.TryParse(args[index], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !(v >= min && v <= max) || whole && v != Math.Floor(v))
    {
        Console.Error.WriteLine($"{name}: expected {(whole ? "a whole number" : "a number")} in {min.ToString(CultureInfo.InvariantCulture)}..{max.ToString(CultureInfo.InvariantCulture)}, got '{args[index]}'.\n{Usage}");
        Environment.Exit(2);
    }
    return v;
}
// Bounds on each argument (a float forget bias stays finite); together they can still ask for more memory than there is.
int steps = (int)Arg(0, "T", 200, 2, 100_000, whole: true);
int epochs = (int)Arg(1, "epochs", 30, 1, 1_000_000, whole: true);
int hidden = (int)Arg(2, "hidden", 32, 1, 4096, whole: true);
double learningRate = Arg(3, "lr", 0.01, 0, 1e6, whole: false);
float forgetBias = (float)Arg(4, "forget-bias", 1, -1e6, 1e6, whole: false);
ulong seed = (ulong)Arg(5, "seed", 1, 0, 1e15, whole: true);
int batchSize = (int)Arg(6, "batch", 32, 1, 4000, whole: true);

try
{
    return Run();
}
catch (TrainingDivergedException e)
{
    Console.Error.WriteLine(e.Message);  // e.g. a learning rate too large: one line, not a stack trace
    return 3;
}
catch (Exception e) when (e is OutOfMemoryException or ArgumentException)
{
    Console.Error.WriteLine($"T = {steps}, hidden = {hidden}, batch = {batchSize}: too large for this machine ({e.Message})");
    return 2;
}

int Run()
{
    var train = AddingProblem.Generate<float>(steps, 4000, seed: seed);
    var test = AddingProblem.Generate<float>(steps, 500, seed: seed + 1000);
    var model = new SequenceModel<float>(new ModelConfig { Kind = ModelKind.Regression, InputSize = 2, OutputSize = 1, HiddenSize = hidden }, seed: seed);
    model.Lstm.SetForgetGateBias(forgetBias); // remember by default: shortens the plateau at the start
    var optimizer = new Adam<float>(model.Parameters, learningRate: learningRate);
    var trainer = new Trainer<float>(model, optimizer, new TrainerOptions { Epochs = epochs, BatchSize = batchSize, Seed = seed, ClipNorm = 1.0 });
    trainer.Observers.Add(new Printer());
    double baseline = test.Samples.Average(s => (s.Target![0] - 1.0) * (s.Target[0] - 1.0));
    Console.WriteLine($"Adding problem, T = {steps}: predicting 1 gives test MSE {baseline:F3}; the goal is < 0.01.");
    var clock = Stopwatch.StartNew();
    trainer.Fit(train, test);
    double mse = trainer.Evaluate(test).Loss;
    Console.WriteLine($"Test MSE {mse:F4} after {clock.Elapsed.TotalSeconds:F0} s: {(mse < 0.01 ? "solved" : "not solved yet; try more epochs")}.");
    return mse < 0.01 ? 0 : 1;
}

sealed class Printer : ITrainingObserver
{
    public void OnEpochEnd(EpochReport r) =>
        Console.WriteLine($"epoch {r.Epoch,3}  train MSE {r.TrainLoss:F4}  test MSE {r.ValidationLoss:F4}  {r.SamplesPerSecond:F0} seq/s");
}
