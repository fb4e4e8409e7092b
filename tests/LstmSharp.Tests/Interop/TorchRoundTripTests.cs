using System.Diagnostics;
using System.Globalization;
using LstmSharp.IO;
using LstmSharp.IO.Onnx;
using LstmSharp.Layers;
using LstmSharp.Tensors;
using Xunit;

namespace LstmSharp.Tests.Interop;

/// <summary>
/// LstmSharp ⇄ PyTorch through safetensors and ONNX, run by Interop/torch_roundtrip.py. Skipped (visibly) where
/// no python3 can import torch; on Debian, <c>apt-get install python3-torch</c> provides it for /usr/bin/python3.
/// </summary>
public class TorchRoundTripTests
{
    private static readonly Lazy<string?> TorchPython = new(FindTorchPython);

    /// <summary>The first of python3 and /usr/bin/python3 that imports torch, or null.</summary>
    private static string? FindTorchPython()
    {
        foreach (var python in new[] { "python3", "/usr/bin/python3" })
        {
            try
            {
                var (code, _) = Run(python, ["-c", "import torch"], TimeSpan.FromSeconds(120));
                if (code == 0) return python;
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // Not installed.
            }
        }
        return null;
    }

    private static (int ExitCode, string Output) Run(string fileName, string[] args, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', args)} ran past {timeout.TotalSeconds} s.");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    [SkippableFact]
    public void PyTorchRunsLstmSharpModelsAndLstmSharpRunsPyTorchTrainedModels()
    {
        string? python = TorchPython.Value;
        Skip.If(python is null, "PyTorch is not installed: neither python3 nor /usr/bin/python3 can 'import torch' (Debian: apt-get install python3-torch).");

        // An LstmSharp model with every feature PyTorch's nn.LSTM shares: embedding, 2 bidirectional layers,
        // batch-first, variable lengths, given h0/c0, a head on every step and a softmax.
        const int vocab = 11, input = 3, hidden = 5, layers = 2, outputs = 4, batch = 3, steps = 6;
        var options = new LstmOptions { InputSize = input, HiddenSize = hidden, NumLayers = layers, Bidirectional = true, BatchFirst = true };
        var embedding = new Embedding<float>(vocab, input, seed: 1);
        var lstm = new Lstm<float>(options, seed: 2) { Training = false };
        var head = new Linear<float>(2 * hidden, outputs, seed: 3);
        var rng = new Rng(4);
        var ids = new int[batch * steps];
        for (int i = 0; i < ids.Length; i++) ids[i] = (int)(rng.NextDouble() * vocab);
        int[] lengths = [steps, 4, 2];
        var h0 = TestUtil.Random<float>(rng, layers * 2, batch, hidden);
        var c0 = TestUtil.Random<float>(rng, layers * 2, batch, hidden);
        var (output, hn, cn) = Run(embedding, lstm, head, ids, [batch, steps], lengths, h0, c0);

        var metadata = options.ToMetadata();
        metadata["vocab"] = vocab.ToString(CultureInfo.InvariantCulture);
        metadata["head_out"] = outputs.ToString(CultureInfo.InvariantCulture);
        metadata["softmax"] = "true";
        var file = new SafeTensorsFile(metadata);
        foreach (var (prefix, module) in new (string, Module<float>)[] { ("embedding.", embedding), ("lstm.", lstm), ("head.", head) })
            foreach (var p in module.Parameters) file.Add(SafeTensor.From(prefix + p.Name, p.Value));
        file.Add(SafeTensor.FromInt64("ids", ids.Select(i => (long)i).ToArray(), batch, steps));
        file.Add(SafeTensor.FromInt64("lengths", lengths.Select(i => (long)i).ToArray(), batch));
        file.Add(SafeTensor.From("h0", h0));
        file.Add(SafeTensor.From("c0", c0));
        file.Add(SafeTensor.From("expected.output", output));
        file.Add(SafeTensor.From("expected.h_n", hn));
        file.Add(SafeTensor.From("expected.c_n", cn));

        string dir = Path.Combine(Path.GetTempPath(), "lstmsharp-torch-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string toTorch = Path.Combine(dir, "to_torch.safetensors");
            file.Save(toTorch);
            string script = Path.Combine(AppContext.BaseDirectory, "Interop", "torch_roundtrip.py");
            var (code, log) = Run(python!, [script, "roundtrip", toTorch, dir], TimeSpan.FromMinutes(5));
            Assert.True(code == 0, $"torch_roundtrip.py exited with {code}:\n{log}");

            // The model PyTorch trained, as a state_dict: LstmSharp loads it and computes what PyTorch computed.
            var back = SafeTensorsFile.Load(Path.Combine(dir, "from_torch.safetensors"));
            var lstm2 = new Lstm<float>(LstmOptions.FromMetadata(back.Metadata)) { Training = false };
            var embedding2 = new Embedding<float>(vocab, input);
            var head2 = new Linear<float>(2 * hidden, outputs);
            Load(back, "embedding.", embedding2);
            Load(back, "lstm.", lstm2);
            Load(back, "head.", head2);
            Assert.NotEqual(lstm.Parameters[0].Value.Data, lstm2.Parameters[0].Value.Data); // PyTorch did train it
            var (output2, hn2, cn2) = Run(embedding2, lstm2, head2, ids, [batch, steps], lengths, h0, c0);
            TestUtil.AssertClose("PyTorch-trained output", back["expected.output"].ToTensor<float>(), output2, 1e-5);
            TestUtil.AssertClose("PyTorch-trained h_n", back["expected.h_n"].ToTensor<float>(), hn2, 1e-5);
            TestUtil.AssertClose("PyTorch-trained c_n", back["expected.c_n"].ToTensor<float>(), cn2, 1e-5);

            // The same trained model through PyTorch's ONNX export and LstmSharp's importer.
            var imported = OnnxImporter.Load<float>(Path.Combine(dir, "from_torch.onnx"));
            var onnxIds = back["onnx.input"].ToInt64().Select(i => (int)i).ToArray();
            var viaOnnx = imported.Forward(onnxIds, [batch, steps]);
            TestUtil.AssertClose("PyTorch ONNX output", back["onnx.output"].ToTensor<float>(), viaOnnx.Output, 1e-5);
            TestUtil.AssertClose("PyTorch ONNX h_n", back["onnx.h_n"].ToTensor<float>(), viaOnnx.HN, 1e-5);
            TestUtil.AssertClose("PyTorch ONNX c_n", back["onnx.c_n"].ToTensor<float>(), viaOnnx.CN, 1e-5);
            Assert.Equal(head2.Weight.Value.Data, imported.Head!.Weight.Value.Data);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static (Tensor<float> Output, Tensor<float> HN, Tensor<float> CN) Run(
        Embedding<float> embedding, Lstm<float> lstm, Linear<float> head, int[] ids, int[] shape, int[] lengths, Tensor<float> h0, Tensor<float> c0)
    {
        var r = lstm.Forward(embedding.Forward(ids, shape), h0, c0, lengths);
        var logits = head.Forward(r.Output);
        int n = logits.Dim(-1);
        var y = new float[logits.Length];
        for (int row = 0; row < logits.Length / n; row++)
        {
            var s = logits.Data.AsSpan(row * n, n);
            float max = float.NegativeInfinity, sum = 0;
            foreach (var v in s) max = Math.Max(max, v);
            for (int j = 0; j < n; j++) sum += y[row * n + j] = MathF.Exp(s[j] - max);
            for (int j = 0; j < n; j++) y[row * n + j] /= sum;
        }
        return (new Tensor<float>(y, [.. logits.Shape]), r.HN, r.CN);
    }

    /// <summary>Loads the tensors named <paramref name="prefix"/>* of a state_dict file into <paramref name="module"/>.</summary>
    private static void Load(SafeTensorsFile file, string prefix, Module<float> module) =>
        module.LoadStateDict(file.Tensors.Values.Where(t => t.Name.StartsWith(prefix, StringComparison.Ordinal))
            .ToDictionary(t => t.Name[prefix.Length..], t => t.ToTensor<float>()));
}
