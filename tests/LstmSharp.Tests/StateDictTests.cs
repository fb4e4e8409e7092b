using LstmSharp.IO;
using LstmSharp.Layers;
using LstmSharp.Tensors;
using Xunit;

namespace LstmSharp.Tests;

/// <summary>Loading a state dict is strict and all-or-nothing.</summary>
public class StateDictTests
{
    private static readonly LstmOptions Options = new() { InputSize = 3, HiddenSize = 4, Bidirectional = true };

    private static (Lstm<float> Target, Dictionary<string, Tensor<float>> Good, float[][] Before) Setup()
    {
        var target = new Lstm<float>(Options, seed: 1);
        var good = new Lstm<float>(Options, seed: 2).StateDict();
        return (target, good, target.Parameters.Select(p => (float[])p.Value.Data.Clone()).ToArray());
    }

    private static void AssertUnchanged(Lstm<float> target, float[][] before)
    {
        for (int k = 0; k < before.Length; k++) Assert.Equal(before[k], target.Parameters[k].Value.Data);
    }

    [Fact]
    public void LoadsAMatchingStateDict()
    {
        var (target, good, _) = Setup();
        target.LoadStateDict(good);
        foreach (var p in target.Parameters) Assert.Equal(good[p.Name].Data, p.Value.Data);
        Assert.NotSame(good["weight_ih_l0"], target.GetParameter("weight_ih_l0").Value); // copied, not aliased
    }

    [Fact]
    public void MissingTensorIsNamed()
    {
        var (target, good, before) = Setup();
        good.Remove("bias_hh_l0_reverse");
        var e = Assert.Throws<ArgumentException>(() => target.LoadStateDict(good));
        Assert.Equal("stateDict", e.ParamName);
        Assert.Contains("missing: bias_hh_l0_reverse", e.Message);
        AssertUnchanged(target, before);
    }

    [Fact]
    public void ExtraTensorIsNamed()
    {
        var (target, good, before) = Setup();
        good["weight_ih_l1"] = Tensor<float>.Zeros(16, 8);
        var e = Assert.Throws<ArgumentException>(() => target.LoadStateDict(good));
        Assert.Contains("unexpected: weight_ih_l1", e.Message);
        AssertUnchanged(target, before);
    }

    [Fact]
    public void MisshapenTensorIsNamedWithBothShapes()
    {
        var (target, good, before) = Setup();
        good["weight_hh_l0"] = Tensor<float>.Zeros(16, 5);
        var e = Assert.Throws<ArgumentException>(() => target.LoadStateDict(good));
        Assert.Contains("weight_hh_l0: expected shape [16, 4], got [16, 5]", e.Message);
        AssertUnchanged(target, before);
    }

    [Fact]
    public void WrongDtypeInAFileIsNamed()
    {
        var (target, good, before) = Setup();
        var file = new SafeTensorsFile();
        foreach (var (name, t) in good)
            file.Add(name == "bias_ih_l0" ? SafeTensor.From(name, t.Cast<double>()) : SafeTensor.From(name, t));
        var e = Assert.Throws<ArgumentException>(() => target.LoadStateDict(file));
        Assert.Contains("bias_ih_l0: expected dtype F32, got F64", e.Message);
        AssertUnchanged(target, before);
    }

    [Fact]
    public void LoadsPyTorchWeightsFromAGoldenFile()
    {
        // The golden file holds a PyTorch state_dict among other tensors; pick the parameters by name.
        var golden = SafeTensorsFile.Load(Path.Combine(TestUtil.GoldenDir, "lstm_proj.safetensors"));
        var lstm = new Lstm<float>(LstmOptions.FromMetadata(golden.Metadata));
        var file = new SafeTensorsFile();
        foreach (var p in lstm.Parameters) file.Add(golden[p.Name]);
        lstm.LoadStateDict(file);
        Assert.Equal(golden["weight_hr_l1"].ToTensor<float>().Data, lstm.GetParameter("weight_hr_l1").Value.Data);
        // The whole file, with its inputs and outputs, is not a state dict of this module.
        var e = Assert.Throws<ArgumentException>(() => lstm.LoadStateDict(golden));
        Assert.Contains("unexpected: input", e.Message);
    }
}
