using System.Diagnostics;
using LstmSharp.IO.Onnx;
using LstmSharp.Layers;
using LstmSharp.Tensors;
using Microsoft.ML.OnnxRuntime;
using Ort = Microsoft.ML.OnnxRuntime.Tensors;

namespace LstmSharp.Bench;

/// <summary>
/// ONNX Runtime as the inference peer, in-process, on the same weights: the LSTM is exported by LstmSharp's own
/// exporter and run with ORT_ENABLE_ALL, one inter-op thread and 1 or 2 intra-op threads (PEERS.md).
/// </summary>
internal sealed class OrtPeer : IDisposable
{
    private readonly InferenceSession _session;
    private readonly List<NamedOnnxValue> _inputs;

    public OrtPeer(Lstm<float> lstm, Tensor<float> x, int threads)
    {
        var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        _session = new InferenceSession(OnnxExporter.ToBytes(null, lstm, null, new OnnxExportOptions()), options);
        options.Dispose();
        _inputs = [NamedOnnxValue.CreateFromTensor(OnnxExporter.InputName, new Ort.DenseTensor<float>(x.Data, [.. x.Shape]))];
    }

    public static string Version => typeof(InferenceSession).Assembly.GetName().Version?.ToString() ?? "";

    /// <summary>Milliseconds of one inference.</summary>
    public double Time()
    {
        var clock = Stopwatch.StartNew();
        using var results = _session.Run(_inputs);
        return clock.Elapsed.TotalMilliseconds;
    }

    public void Dispose() => _session.Dispose();
}
