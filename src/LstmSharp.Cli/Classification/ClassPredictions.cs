using LstmSharp.Models;
using LstmSharp.Tensors;

namespace LstmSharp.Cli.Classification;

/// <summary>A classifier's predictions for a list of sequences.</summary>
/// <param name="Predicted">The most likely class of each.</param>
/// <param name="Probabilities">Each sequence's class probabilities (softmax of the logits), [N][C].</param>
public sealed record ClassPredictions(int[] Predicted, float[][] Probabilities)
{
    /// <summary>Runs <paramref name="model"/> (evaluation mode) on <paramref name="inputs"/> ([T·I] each) in batches.</summary>
    public static ClassPredictions Run(SequenceModel<float> model, IReadOnlyList<float[]> inputs, int steps, int features, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputs);
        int classes = model.Config.OutputSize;
        var predicted = new int[inputs.Count];
        var probabilities = new float[inputs.Count][];
        for (int start = 0; start < inputs.Count; start += batchSize)
        {
            int b = Math.Min(batchSize, inputs.Count - start);
            var x = new float[b * steps * features];                             // [B, T, I]
            for (int i = 0; i < b; i++)
            {
                if (inputs[start + i].Length != steps * features)
                    throw new CliException($"sequence {start + i + 1}: expected {steps} x {features} = {steps * features} values, got {inputs[start + i].Length}.");
                inputs[start + i].CopyTo(x, i * steps * features);
            }
            var lengths = Enumerable.Repeat(steps, b).ToArray();
            var logits = model.Predict(new SequenceBatch<float>(lengths, steps, new Tensor<float>(x, b, steps, features))).Output.Data; // [B, C]
            for (int i = 0; i < b; i++)
            {
                var row = logits.AsSpan(i * classes, classes);
                float max = float.NegativeInfinity;
                int best = 0;
                for (int c = 0; c < classes; c++) if (row[c] > max) (max, best) = (row[c], c);
                var p = new float[classes];
                double sum = 0;
                for (int c = 0; c < classes; c++) sum += p[c] = MathF.Exp(row[c] - max);
                for (int c = 0; c < classes; c++) p[c] = (float)(p[c] / sum);
                predicted[start + i] = best;
                probabilities[start + i] = p;
            }
        }
        return new ClassPredictions(predicted, probabilities);
    }

    /// <summary>Counts [true class, predicted class].</summary>
    public int[,] Confusion(IReadOnlyList<int> labels, int classes)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var counts = new int[classes, classes];
        for (int i = 0; i < labels.Count; i++) counts[labels[i], Predicted[i]]++;
        return counts;
    }

    /// <summary>The share of <paramref name="labels"/> predicted right.</summary>
    public double Accuracy(IReadOnlyList<int> labels)
    {
        ArgumentNullException.ThrowIfNull(labels);
        return labels.Count == 0 ? 0 : labels.Where((l, i) => Predicted[i] == l).Count() / (double)labels.Count;
    }
}
