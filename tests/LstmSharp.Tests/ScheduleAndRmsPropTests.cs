using LstmSharp.Layers;
using LstmSharp.Optimizers;
using LstmSharp.Schedules;
using LstmSharp.Tensors;
using Xunit;

namespace LstmSharp.Tests;

public class ScheduleAndRmsPropTests
{
    [Theory]
    [InlineData(false, -0.1, -0.1708881)]
    [InlineData(true, -0.1005038, -0.1721079)]
    public void RmsPropFollowsPyTorchsFormula(bool centered, double afterOne, double afterTwo)
    {
        var p = new Parameter<double>("w", Tensor<double>.Zeros(1));
        var opt = new RmsProp<double>([p], learningRate: 0.01, centered: centered);
        p.Grad.Data[0] = 1;
        opt.Step();
        Assert.Equal(afterOne, p.Value.Data[0], 6);
        opt.Step();
        Assert.Equal(afterTwo, p.Value.Data[0], 6);
    }

    [Fact]
    public void ClosedFormSchedules()
    {
        var step = new StepSchedule(2, 0.5);
        Assert.Equal([1, 1, 0.5, 0.5, 0.25], Enumerable.Range(0, 5).Select(t => step.RateAt(t, 1.0)));
        Assert.Equal(0.81, new ExponentialSchedule(0.9).RateAt(2, 1.0), 12);
        var cos = new CosineSchedule(10, etaMin: 0.1);
        Assert.Equal(1.0, cos.RateAt(0, 1.0), 12);
        Assert.Equal(0.55, cos.RateAt(5, 1.0), 12);
        Assert.Equal(0.1, cos.RateAt(10, 1.0), 12);
        Assert.Equal(0.55, cos.RateAt(15, 1.0), 12); // rises again past T_max, as PyTorch's closed form
        Assert.Equal(1.0, cos.RateAt(20, 1.0), 12);
        var warm = new LinearWarmupSchedule(4, startFactor: 0.25);
        Assert.Equal(0.25, warm.RateAt(0, 1.0), 12);
        Assert.Equal(0.625, warm.RateAt(2, 1.0), 12);
        Assert.Equal(1.0, warm.RateAt(9, 1.0), 12);
        Assert.Throws<ArgumentException>(() => new StepSchedule(0));
        foreach (var (make, name) in new (Func<LearningRateSchedule>, string)[]
        {
            (() => new StepSchedule(2, gamma: -0.5), "gamma"), (() => new ExponentialSchedule(double.NaN), "gamma"),
            (() => new CosineSchedule(10, etaMin: -1), "etaMin"), (() => new LinearWarmupSchedule(4, startFactor: 0), "startFactor"),
            (() => new LinearWarmupSchedule(4, endFactor: 1.5), "endFactor"),
        })
            Assert.Equal(name, Assert.Throws<ArgumentException>(() => make()).ParamName);
        // A negative step or a base rate that is negative or not finite: refused by every schedule, naming it.
        foreach (var schedule in new LearningRateSchedule[] { step, new ExponentialSchedule(0.9), cos, warm })
        {
            Assert.Contains("got -5", Assert.Throws<ArgumentOutOfRangeException>("step", () => schedule.RateAt(-5, 0.1)).Message);
            Assert.Throws<ArgumentException>("baseRate", () => schedule.RateAt(0, -0.1));
            Assert.Throws<ArgumentException>("baseRate", () => schedule.RateAt(0, double.NaN));
        }
    }

    /// <summary>
    /// A linear warm-up, then a cosine, as PyTorch's SequentialLR([LinearLR(start_factor=0.1, total_iters=4),
    /// CosineAnnealingLR(T_max=6, eta_min=0.01)], milestones=[4]) from lr 0.5: PyTorch 1.13's rates at steps 0..13.
    /// </summary>
    [Fact]
    public void SequentialScheduleFollowsPyTorchsSequentialLR()
    {
        var schedule = new SequentialSchedule([new LinearWarmupSchedule(4, startFactor: 0.1), new CosineSchedule(6, etaMin: 0.01)], [4]);
        double[] torch = [0.05, 0.1625, 0.275, 0.38750000000000007, 0.5, 0.4671762239271875, 0.3775, 0.255, 0.13250000000000006,
            0.04282377607281252, 0.01, 0.04282377607281252, 0.1325, 0.25500000000000017];
        for (int t = 0; t < torch.Length; t++) Assert.Equal(torch[t], schedule.RateAt(t, 0.5), 12);
        // Two milestones: warm-up, constant (ExponentialLR with γ = 1), cosine (T_max = 4) at [2, 4].
        var three = new SequentialSchedule([new LinearWarmupSchedule(2, startFactor: 0.1), new ExponentialSchedule(1.0), new CosineSchedule(4)], [2, 4]);
        double[] torch3 = [0.05, 0.275, 0.5, 0.5, 0.5, 0.42677669529663687, 0.25, 0.07322330470336313, 0.0, 0.0732233047033631];
        for (int t = 0; t < torch3.Length; t++) Assert.Equal(torch3[t], three.RateAt(t, 0.5), 12);
        Assert.Throws<ArgumentException>("milestones", () => new SequentialSchedule([new ExponentialSchedule(0.9)], [3]));
        Assert.Throws<ArgumentException>("milestones", () => new SequentialSchedule([new ExponentialSchedule(0.9), new ExponentialSchedule(0.5), new ExponentialSchedule(0.5)], [5, 5]));
        Assert.Throws<ArgumentException>("milestones", () => new SequentialSchedule([new ExponentialSchedule(0.9), new ExponentialSchedule(0.5)], [0]));
    }

    [Fact]
    public void ReduceOnPlateauWaitsForPatienceThenCuts()
    {
        var s = new ReduceOnPlateau(factor: 0.5, patience: 1);
        double lr = 1.0;
        lr = s.Step(1.0, lr);
        lr = s.Step(0.9, lr);
        lr = s.Step(0.95, lr);
        Assert.Equal(1.0, lr);
        lr = s.Step(0.95, lr);
        Assert.Equal(0.5, lr);
        Assert.Equal(0.9, s.Best);
    }

    /// <summary>As PyTorch: a cut stops at minRate, a rate already below minRate is never raised, and bad settings are refused.</summary>
    [Fact]
    public void ReduceOnPlateauNeverRaisesTheRate()
    {
        var floor = new ReduceOnPlateau(factor: 0.1, patience: 0, minRate: 1e-3);
        Assert.Equal(5e-3, floor.Step(1.0, 5e-3), 15);   // the first metric is the best so far
        Assert.Equal(1e-3, floor.Step(1.0, 5e-3), 15);   // no better: cut, 5e-4 would be under the floor
        Assert.Equal(1e-4, floor.Step(1.0, 1e-4), 15);   // below it already: kept, not raised to 1e-3
        foreach (var make in new Func<ReduceOnPlateau>[]
                 { () => new(threshold: -0.1), () => new(threshold: double.NaN), () => new(cooldown: -1), () => new(minRate: -1) })
            Assert.Throws<ArgumentException>(make);
    }
}
