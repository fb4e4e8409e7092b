using LstmSharp.Data;
using LstmSharp.Models;
using LstmSharp.Optimizers;
using LstmSharp.Training;
using Xunit;

namespace LstmSharp.Tests;

public class AddingProblemTests
{
    private sealed class StopWhenSolved(CancellationTokenSource source, double target) : ITrainingObserver
    {
        public void OnEpochEnd(EpochReport report)
        {
            if (report.ValidationLoss < target) source.Cancel();
        }
    }

    [Fact]
    public void GeneratorMarksTwoStepsAndTargetsTheirSum()
    {
        var data = AddingProblem.Generate<double>(50, 200, seed: 3);
        double sumSq = 0;
        foreach (var s in data.Samples)
        {
            var x = s.Features!;
            var marked = Enumerable.Range(0, 50).Where(t => x[2 * t + 1] == 1).ToArray();
            Assert.Equal(2, marked.Length);
            Assert.True(marked[0] < 25 && marked[1] >= 25, $"markers at {marked[0]} and {marked[1]}");
            Assert.Equal(x[2 * marked[0]] + x[2 * marked[1]], s.Target![0]);
            sumSq += (s.Target[0] - 1) * (s.Target[0] - 1);
        }
        Assert.InRange(sumSq / data.Count, 0.12, 0.21); // predicting 1 scores the variance, about 1/6
    }

    /// <summary>Hochreiter &amp; Schmidhuber's adding problem at T = 50, learned to a test MSE below 0.01 (predicting 1 gives about 0.167).</summary>
    [Fact]
    public void LearnsTheAddingProblemAtT50()
    {
        var train = AddingProblem.Generate<float>(50, 2000, seed: 1);
        var test = AddingProblem.Generate<float>(50, 300, seed: 2);
        var model = new SequenceModel<float>(new ModelConfig { Kind = ModelKind.Regression, InputSize = 2, OutputSize = 1, HiddenSize = 32 }, seed: 1);
        model.Lstm.SetForgetGateBias(1f); // remember by default early in training
        var trainer = new Trainer<float>(model, new Adam<float>(model.Parameters, 0.01),
            new TrainerOptions { Epochs = 40, BatchSize = 32, Seed = 1, ClipNorm = 1.0 });
        using var solved = new CancellationTokenSource();
        trainer.Observers.Add(new StopWhenSolved(solved, 0.005));
        trainer.Fit(train, test, solved.Token);
        double mse = trainer.Evaluate(test).Loss;
        Assert.True(mse < 0.01, $"test MSE {mse} after {trainer.Epoch} epochs");
    }
}
