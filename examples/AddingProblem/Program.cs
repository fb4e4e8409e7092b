// The adding problem (Hochreiter & Schmidhuber, 1997): remember two marked values across T steps and add them.
// Usage: dotnet run -c Release --project examples/AddingProblem -- [T=200] [epochs=30] [hidden=32] [lr=0.01] [forget-bias=1] [seed=1] [batch=32]
using System.Diagnostics;
using System.Globalization;
using LstmSharp.Data;
using LstmSharp.Models;
using LstmSharp.Optimizers;
using LstmSharp.Training;

int steps = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200;
int epochs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 30;
int hidden = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 32;
int batchSize = args.Length > 6 ? int.Parse(args[6], CultureInfo.InvariantCulture) : 32;
ulong seed = args.Length > 5 ? ulong.Parse(args[5], CultureInfo.InvariantCulture) : 1;

var train = AddingProblem.Generate<float>(steps, 4000, seed: seed);
var test = AddingProblem.Generate<float>(steps, 500, seed: seed + 1000);
var model = new SequenceModel<float>(new ModelConfig { Kind = ModelKind.Regression, InputSize = 2, OutputSize = 1, HiddenSize = hidden }, seed: seed);
model.Lstm.SetForgetGateBias(args.Length > 4 ? float.Parse(args[4], CultureInfo.InvariantCulture) : 1f); // remember by default: shortens the plateau at the start
var optimizer = new Adam<float>(model.Parameters, learningRate: args.Length > 3 ? double.Parse(args[3], CultureInfo.InvariantCulture) : 0.01);
var trainer = new Trainer<float>(model, optimizer, new TrainerOptions { Epochs = epochs, BatchSize = batchSize, Seed = seed, ClipNorm = 1.0 });
trainer.Observers.Add(new Printer());
double baseline = test.Samples.Average(s => (s.Target![0] - 1.0) * (s.Target[0] - 1.0));
Console.WriteLine($"Adding problem, T = {steps}: predicting 1 gives test MSE {baseline:F3}; the goal is < 0.01.");
var clock = Stopwatch.StartNew();
trainer.Fit(train, test);
double mse = trainer.Evaluate(test).Loss;
Console.WriteLine($"Test MSE {mse:F4} after {clock.Elapsed.TotalSeconds:F0} s: {(mse < 0.01 ? "solved" : "not solved yet; try more epochs")}.");
return mse < 0.01 ? 0 : 1;

sealed class Printer : ITrainingObserver
{
    public void OnEpochEnd(EpochReport r) =>
        Console.WriteLine($"epoch {r.Epoch,3}  train MSE {r.TrainLoss:F4}  test MSE {r.ValidationLoss:F4}  {r.SamplesPerSecond:F0} seq/s");
}
