using System.Diagnostics;
using LstmSharp.Layers;
using LstmSharp.Tensors;

// Placeholder until the performance issue: times the reference LSTM forward and backward on one small config.
int B = 16, T = 50, I = 32, H = 64;
var lstm = new Lstm<float>(new LstmOptions { InputSize = I, HiddenSize = H, BatchFirst = true });
var x = Tensor<float>.Zeros(B, T, I);
new Rng(1).FillNormal<float>(x.Data);
var times = new List<double>();
for (int rep = 0; rep < 7; rep++)
{
    var sw = Stopwatch.StartNew();
    var r = lstm.Forward(x);
    lstm.Backward(r.Cache, r.Output);
    times.Add(sw.Elapsed.TotalMilliseconds);
}
times.Sort();
Console.WriteLine($"reference training step B={B} T={T} I={I} H={H}: median {times[times.Count / 2]:F2} ms (min {times[0]:F2}, max {times[^1]:F2})");
