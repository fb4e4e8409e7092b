using LstmSharp.Models;
using LstmSharp.Training;

namespace LstmSharp.Cli.Training;

/// <summary>A model's mean loss over a data set, without a trainer (evaluation mode).</summary>
public static class DatasetLoss
{
    /// <summary>The mean loss per prediction (per sequence, or per step for a language model) and the number of predictions.</summary>
    public static (double Loss, long Count) Mean(SequenceModel<float> model, SequenceDataset<float> data, int batchSize = 256)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        double sum = 0;
        long count = 0;
        var all = Enumerable.Range(0, data.Count).ToArray();
        for (int start = 0; start < data.Count; start += batchSize)
        {
            var batch = data.MakeBatch(all.AsSpan(start, Math.Min(batchSize, data.Count - start)));
            var loss = model.Loss(model.Predict(batch), batch);
            sum += loss.Value * loss.Count;
            count += loss.Count;
        }
        return (count == 0 ? double.NaN : sum / count, count);
    }
}
