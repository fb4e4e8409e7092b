using LstmSharp.Cli.Data;
using LstmSharp.Training;

namespace LstmSharp.Cli.Classification;

/// <summary>Sequences with class labels, split into training and test parts, with the class names.</summary>
/// <param name="TrainInputs">Training sequences [T·I].</param>
/// <param name="TrainLabels">Their classes.</param>
/// <param name="TestInputs">Test sequences [T·I].</param>
/// <param name="TestLabels">Their classes.</param>
/// <param name="Classes">The class names.</param>
/// <param name="Steps">T.</param>
/// <param name="Features">I.</param>
/// <param name="Source"><c>idx</c> or <c>csv</c>.</param>
/// <param name="Description">What was read, for messages.</param>
public sealed record ClassifyData(float[][] TrainInputs, int[] TrainLabels, float[][] TestInputs, int[] TestLabels, List<string> Classes,
    int Steps, int Features, string Source, string Description)
{
    /// <summary>Fashion-MNIST's class names.</summary>
    public static readonly string[] FashionClasses = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>The training part as a data set.</summary>
    public SequenceDataset<float> Train => SequenceDataset<float>.ForClassification(TrainInputs, Features, TrainLabels, Classes.Count);

    /// <summary>The test part as a data set.</summary>
    public SequenceDataset<float> Test => SequenceDataset<float>.ForClassification(TestInputs, Features, TestLabels, Classes.Count);

    /// <summary>
    /// MNIST-style IDX files in <paramref name="directory"/>: each image is T = rows steps of I = columns pixels in [0, 1].
    /// Class names are Fashion-MNIST's when the folder's path says "fashion", else the digits.
    /// </summary>
    public static ClassifyData FromIdx(string directory, int limit)
    {
        var mnist = MnistData.Load(directory, limit);
        int classes = mnist.Classes;
        List<string> names = classes == 10 && directory.Contains("fashion", StringComparison.OrdinalIgnoreCase)
            ? [.. FashionClasses] : [.. Enumerable.Range(0, classes).Select(c => c.ToString(System.Globalization.CultureInfo.InvariantCulture))];
        return new ClassifyData(mnist.TrainImages, mnist.TrainLabels, mnist.TestImages, mnist.TestLabels, names, mnist.Rows, mnist.Columns, "idx",
            $"IDX images in {directory}: {mnist.TrainImages.Length} training and {mnist.TestImages.Length} test images of {mnist.Rows}x{mnist.Columns}");
    }

    /// <summary>
    /// A CSV of fixed-length sequences with a label column (<see cref="SequenceCsv"/>), split at random (from
    /// <paramref name="seed"/>) into training and a <paramref name="testFraction"/> test part.
    /// </summary>
    public static ClassifyData FromCsv(string path, string label, int steps, int features, double testFraction, ulong seed, int limit)
    {
        if (!(testFraction > 0 && testFraction < 1)) throw new CliException($"--test-fraction: expected a fraction in (0, 1), got {testFraction}.");
        var csv = SequenceCsv.Load(path, label, steps, features);
        var classes = SequenceCsv.Classes(csv.Labels!);
        if (classes.Count < 2) throw new CliException($"{path}: column '{label}' holds {classes.Count} class; classification needs at least 2.");
        var index = classes.Select((c, i) => (c, i)).ToDictionary(x => x.c, x => x.i, StringComparer.Ordinal);
        int n = csv.Inputs.Length;
        if (n < 2) throw new CliException($"{path}: {n} row; a training and a test part need at least 2.");
        var order = SequenceDataset<float>.Permutation(n, new Tensors.Rng(seed ^ 0x7E57UL));
        int testCount = Math.Clamp((int)Math.Round(n * testFraction), 1, n - 1);
        // Each part in the shuffled order, then --limit, then back to file order: a limit keeps a random subset, not the
        // file's first rows (which may all be one class).
        var test = order.Take(testCount).Take(limit > 0 ? limit : int.MaxValue).Order().ToArray();
        var train = order.Skip(testCount).Take(limit > 0 ? limit : int.MaxValue).Order().ToArray();
        return new ClassifyData([.. train.Select(i => csv.Inputs[i])], [.. train.Select(i => index[csv.Labels![i]])],
            [.. test.Select(i => csv.Inputs[i])], [.. test.Select(i => index[csv.Labels![i]])], classes, csv.Steps, csv.Features, "csv",
            $"{path}: {n} sequences of {csv.Steps} steps x {csv.Features} features, {classes.Count} classes; {train.Length} for training, {test.Length} for testing");
    }
}
